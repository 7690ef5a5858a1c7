//! AuditService: runs the rule catalogue over a form and its scorecard (pure
//! AuditForm), stores the findings of the worker's batches (AuditSubmissions),
//! audits departments across forms, lists findings.

use std::sync::Arc;

use jixiao_audit::{audit_department, audit_form, Catalogue};
use jixiao_form::{content_digest, Form};
use jixiao_proto::convert::{
    finding_to_proto, form_from_proto, now_millis, scorecard_from_proto, severity_to_proto,
};
use jixiao_proto::paging::{next_token, page_args};
use jixiao_proto::v1::intake_service_client::IntakeServiceClient;
use jixiao_proto::v1::{self, audit_service_server::AuditServiceServer};
use jixiao_queue::EventBus;
use jixiao_scoring::{score_form, Rulebooks, ScoreCard};
use jixiao_status::{caller, from_peer, read_form, ApiError};
use jixiao_store::{FindingFilter, NewFinding, Store};
use jixiao_telemetry::{metrics::metrics, PeerChannel};
use prost::Message;
use tonic::{Request, Response, Status};

pub struct AuditService {
    store: Store,
    events: Arc<dyn EventBus>,
    rulebooks: Arc<Rulebooks>,
    catalogue: Arc<Catalogue>,
    /// Department audits read the stored forms through intake, never its tables.
    intake: IntakeServiceClient<PeerChannel>,
}

impl AuditService {
    pub fn new(
        store: Store,
        events: Arc<dyn EventBus>,
        rulebooks: Arc<Rulebooks>,
        catalogue: Arc<Catalogue>,
        intake: IntakeServiceClient<PeerChannel>,
    ) -> Self {
        Self {
            store,
            events,
            rulebooks,
            catalogue,
            intake,
        }
    }

    /// The stored forms of a department and year, with their submission ids;
    /// each call to intake gets what is left of the caller's deadline.
    async fn department_forms(
        &self,
        tenant: &str,
        unit: &str,
        year: i32,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Vec<(String, Form)>, ApiError> {
        let mut intake = self.intake.clone();
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let mut request = tonic::Request::new(v1::ListSubmissionsRequest {
                tenant: tenant.to_string(),
                unit: unit.to_string(),
                fiscal_year: year,
                page_size: 1000,
                page_token: page_token.clone(),
                with_forms: true,
                ..Default::default()
            });
            if let Some(d) = deadline {
                request.set_timeout(d.saturating_duration_since(tokio::time::Instant::now()));
            }
            let page = intake
                .list_submissions(request)
                .await
                .map_err(|s| from_peer("intake", s))?
                .into_inner();
            for s in page.submissions {
                let form = s.form.ok_or_else(|| {
                    ApiError::Internal(format!("submission {} came without its form", s.id))
                })?;
                let form = form_from_proto(form).map_err(|v| {
                    ApiError::Internal(format!("stored form {} is invalid: {v:?}", s.id))
                })?;
                out.push((s.id, form));
            }
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = page.next_page_token;
        }
    }

    /// The gRPC service; the worker may also hold the `Arc` and call it in-process.
    pub fn into_server(self: Arc<Self>) -> AuditServiceServer<Self> {
        AuditServiceServer::from_arc(self)
    }

    /// The scorecard a form is audited against: the one that comes with it,
    /// or the default rulebook's.
    fn card_of(&self, form: &Form, card: Option<&v1::ScoreCard>) -> Result<ScoreCard, ApiError> {
        match card {
            Some(c) => scorecard_from_proto(c).map_err(ApiError::invalid),
            None => {
                let rb = self
                    .rulebooks
                    .select(&form.units.region, form.fiscal_year)
                    .ok_or_else(|| ApiError::Internal("default rulebook missing".into()))?;
                Ok(score_form(form, &content_digest(form), rb))
            }
        }
    }

    /// A submitted form's findings as stored, numbered within the submission:
    /// AuditSubmissions' per-form step, which the scoring worker also runs
    /// itself when this service shares its process.
    pub fn submission_findings(
        &self,
        submission_id: &str,
        form: &Form,
        card: &ScoreCard,
    ) -> Vec<NewFinding> {
        audit_form(form, card, &self.catalogue)
            .iter()
            .enumerate()
            .map(|(n, f)| {
                let mut f = finding_to_proto(f);
                f.id = format!("{submission_id}:{n}");
                f.submission_id = submission_id.to_string();
                NewFinding {
                    rule_id: f.rule_id.clone(),
                    // Wire severities are ordered info < warning < error, so ranges work.
                    severity: f.severity,
                    finding: f.encode_to_vec(),
                }
            })
            .collect()
    }
}

#[tonic::async_trait]
impl v1::audit_service_server::AuditService for AuditService {
    async fn audit_form(
        &self,
        request: Request<v1::AuditFormRequest>,
    ) -> Result<Response<v1::AuditFormResponse>, Status> {
        let r = request.into_inner();
        let form = read_form(r.form)?;
        let card = self.card_of(&form, r.scorecard.as_ref())?;
        let findings = audit_form(&form, &card, &self.catalogue)
            .iter()
            .map(finding_to_proto)
            .collect();
        Ok(Response::new(v1::AuditFormResponse { findings }))
    }

    async fn audit_submissions(
        &self,
        request: Request<v1::AuditSubmissionsRequest>,
    ) -> Result<Response<v1::AuditSubmissionsResponse>, Status> {
        let items = request.into_inner().submissions;
        let mut counts = Vec::with_capacity(items.len());
        let mut rows = Vec::with_capacity(items.len());
        for (i, r) in items.into_iter().enumerate() {
            // Short polls: the runtime's threads also drive the database's
            // transactions, which hold SQLite's one write lock.
            if i % 16 == 15 {
                tokio::task::yield_now().await;
            }
            let at = |e: ApiError| e.within(|field| format!("submissions[{i}].{field}"));
            if r.submission_id.trim().is_empty() {
                return Err(at(ApiError::invalid_field("submission_id", "is required")).into());
            }
            let form = read_form(r.form).map_err(at)?;
            let card = self.card_of(&form, r.scorecard.as_ref()).map_err(at)?;
            let findings = self.submission_findings(&r.submission_id, &form, &card);
            counts.push(findings.len() as u32);
            rows.push((r.submission_id, findings));
        }
        let events = self
            .store
            .replace_findings_many(rows, now_millis())
            .await
            .map_err(ApiError::from)?;
        let written: Vec<i64> = events.iter().flatten().map(|e| e.seq).collect();
        if let Some(newest) = written.iter().max() {
            self.events.published(*newest);
        }
        metrics().forms_audited.inc_by(written.len() as u64);
        Ok(Response::new(v1::AuditSubmissionsResponse {
            findings: counts,
        }))
    }

    async fn audit_department(
        &self,
        request: Request<v1::AuditDepartmentRequest>,
    ) -> Result<Response<v1::AuditDepartmentResponse>, Status> {
        let caller = caller(&request)?;
        let deadline = jixiao_telemetry::deadline(&request);
        let r = request.into_inner();
        if !r.forms.is_empty() {
            let forms = r
                .forms
                .into_iter()
                .enumerate()
                .map(|(i, f)| {
                    read_form(Some(f)).map_err(|e| {
                        e.within(|field| {
                            format!("forms[{i}].{}", field.trim_start_matches("form."))
                        })
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let findings = audit_department(&forms, &self.catalogue)
                .into_iter()
                .map(|(i, f)| v1::DepartmentFinding {
                    form_index: i as u32,
                    submission_id: String::new(),
                    finding: Some(finding_to_proto(&f)),
                })
                .collect();
            return Ok(Response::new(v1::AuditDepartmentResponse {
                findings,
                forms: forms.len() as u32,
            }));
        }
        if r.unit.trim().is_empty() || r.fiscal_year == 0 {
            return Err(ApiError::invalid_field(
                "unit",
                "unit and fiscal_year are required when no forms are given",
            )
            .into());
        }
        let tenant = caller.tenant_for_write(&r.tenant).map_err(ApiError::from)?;
        let unit = r.unit.trim().to_string();
        let (ids, forms): (Vec<String>, Vec<Form>) = self
            .department_forms(&tenant, &unit, r.fiscal_year, deadline)
            .await?
            .into_iter()
            .unzip();
        let mut findings = Vec::new();
        let mut rows = Vec::new();
        for (n, (i, f)) in audit_department(&forms, &self.catalogue)
            .into_iter()
            .enumerate()
        {
            let submission_id = ids[i].clone();
            let mut wire = finding_to_proto(&f);
            wire.id = format!("{tenant}:{unit}:{}:dept:{n}", r.fiscal_year);
            wire.submission_id = submission_id.clone();
            rows.push((
                submission_id.clone(),
                NewFinding {
                    rule_id: wire.rule_id.clone(),
                    severity: wire.severity,
                    finding: wire.encode_to_vec(),
                },
            ));
            findings.push(v1::DepartmentFinding {
                form_index: i as u32,
                submission_id,
                finding: Some(wire),
            });
        }
        self.store
            .replace_department_findings(&tenant, &unit, r.fiscal_year, rows)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(v1::AuditDepartmentResponse {
            findings,
            forms: forms.len() as u32,
        }))
    }

    async fn get_rule_catalog(
        &self,
        _request: Request<v1::GetRuleCatalogRequest>,
    ) -> Result<Response<v1::RuleCatalog>, Status> {
        let c = &self.catalogue;
        Ok(Response::new(v1::RuleCatalog {
            id: c.id.clone(),
            version: c.version.clone(),
            rules: c
                .rules
                .iter()
                .map(|r| v1::Rule {
                    id: r.id.clone(),
                    version: r.version.clone(),
                    kind: format!("{:?}", r.kind),
                    severity: severity_to_proto(r.severity) as i32,
                    category: r.category.clone(),
                    title_zh: r.title_zh.clone(),
                    title_en: r.title_en.clone(),
                    enabled: r.enabled,
                    cross_form: r.kind.is_department(),
                })
                .collect(),
        }))
    }

    async fn list_findings(
        &self,
        request: Request<v1::ListFindingsRequest>,
    ) -> Result<Response<v1::ListFindingsResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let (size, after) =
            page_args(r.page_size, &r.page_token).map_err(|v| ApiError::invalid(vec![v]))?;
        // A restricted caller sees its region; otherwise an empty tenant means any.
        let (tenant, region) = match caller.region {
            Some(_) => {
                let s = caller.selection(&r.tenant, "").map_err(ApiError::from)?;
                (s.tenant, s.region)
            }
            None => (
                Some(r.tenant.trim().to_string()).filter(|s| !s.is_empty()),
                None,
            ),
        };
        let min = v1::Severity::try_from(r.min_severity).map_err(|_| {
            ApiError::invalid_field(
                "min_severity",
                format!("unknown severity {}", r.min_severity),
            )
        })?;
        let filter = FindingFilter {
            submission_id: Some(r.submission_id.trim().to_string()).filter(|s| !s.is_empty()),
            tenant,
            region,
            budget_unit: Some(r.unit.trim().to_string()).filter(|s| !s.is_empty()),
            fiscal_year: (r.fiscal_year != 0).then_some(r.fiscal_year),
            min_severity: (min != v1::Severity::Unspecified).then_some(min as i32),
            rule_id: Some(r.rule_id.trim().to_string()).filter(|s| !s.is_empty()),
        };
        let rows = self
            .store
            .list_findings(&filter, after, size)
            .await
            .map_err(ApiError::from)?;
        let findings = rows
            .iter()
            .map(|row| {
                v1::Finding::decode(row.finding.as_slice()).map_err(|e| {
                    ApiError::Internal(format!("stored finding {} does not decode: {e}", row.seq))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Response::new(v1::ListFindingsResponse {
            next_page_token: next_token(rows.len(), size, rows.last().map(|r| r.seq)),
            findings,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored severities are compared as ranks: the wire order must follow the domain's.
    #[test]
    fn wire_severities_order_like_domain_severities() {
        use jixiao_audit::Severity::*;
        let ranks: Vec<i32> = [Info, Warning, Error]
            .map(|s| severity_to_proto(s) as i32)
            .to_vec();
        assert!(ranks.windows(2).all(|w| w[0] < w[1]));
    }
}
