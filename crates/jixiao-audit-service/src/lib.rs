//! AuditService: runs the rule catalogue over a form and its scorecard (pure
//! AuditForm), stores a submission's findings (AuditSubmission), lists them.

use std::sync::Arc;

use jixiao_audit::{audit_form, Catalogue};
use jixiao_form::{content_digest, Form};
use jixiao_proto::convert::{finding_to_proto, now_millis, scorecard_from_proto};
use jixiao_proto::paging::{next_token, page_args};
use jixiao_proto::v1::{self, audit_service_server::AuditServiceServer};
use jixiao_queue::EventBus;
use jixiao_scoring::{score_form, Rulebooks};
use jixiao_status::{read_form, ApiError};
use jixiao_store::{FindingFilter, NewFinding, Store};
use prost::Message;
use tonic::{Request, Response, Status};

pub struct AuditService {
    store: Store,
    events: Arc<dyn EventBus>,
    rulebooks: Arc<Rulebooks>,
    catalogue: Arc<Catalogue>,
}

impl AuditService {
    pub fn new(
        store: Store,
        events: Arc<dyn EventBus>,
        rulebooks: Arc<Rulebooks>,
        catalogue: Arc<Catalogue>,
    ) -> Self {
        Self {
            store,
            events,
            rulebooks,
            catalogue,
        }
    }

    pub fn into_server(self) -> AuditServiceServer<Self> {
        AuditServiceServer::new(self)
    }

    /// Findings of a form; the form is scored with the default rulebook when no scorecard comes with it.
    fn findings(
        &self,
        form: &Form,
        card: Option<&v1::ScoreCard>,
    ) -> Result<Vec<v1::Finding>, ApiError> {
        let card = match card {
            Some(c) => scorecard_from_proto(c).map_err(ApiError::invalid)?,
            None => {
                let rb = self
                    .rulebooks
                    .select(&form.units.region, form.fiscal_year)
                    .ok_or_else(|| ApiError::Internal("default rulebook missing".into()))?;
                score_form(form, &content_digest(form), rb)
            }
        };
        Ok(audit_form(form, &card, &self.catalogue)
            .iter()
            .map(finding_to_proto)
            .collect())
    }
}

#[tonic::async_trait]
impl v1::audit_service_server::AuditService for AuditService {
    async fn audit_form(
        &self,
        request: Request<v1::AuditFormRequest>,
    ) -> Result<Response<v1::AuditFormResponse>, Status> {
        let r = request.into_inner();
        let form = read_form(r.form.as_ref())?;
        let findings = self.findings(&form, r.scorecard.as_ref())?;
        Ok(Response::new(v1::AuditFormResponse { findings }))
    }

    async fn audit_submission(
        &self,
        request: Request<v1::AuditSubmissionRequest>,
    ) -> Result<Response<v1::AuditFormResponse>, Status> {
        let r = request.into_inner();
        if r.submission_id.trim().is_empty() {
            return Err(ApiError::invalid_field("submission_id", "is required").into());
        }
        let form = read_form(r.form.as_ref())?;
        let mut findings = self.findings(&form, r.scorecard.as_ref())?;
        for (i, f) in findings.iter_mut().enumerate() {
            f.id = format!("{}:{}", r.submission_id, i);
            f.submission_id = r.submission_id.clone();
        }
        let rows = findings
            .iter()
            .map(|f| NewFinding {
                rule_id: f.rule_id.clone(),
                // Wire severities are ordered info < warning < error, so ranges work.
                severity: f.severity,
                finding: f.encode_to_vec(),
            })
            .collect();
        if let Some(event) = self
            .store
            .replace_findings(&r.submission_id, rows, now_millis())
            .await
            .map_err(ApiError::from)?
        {
            self.events.published(event.seq);
        }
        Ok(Response::new(v1::AuditFormResponse { findings }))
    }

    async fn list_findings(
        &self,
        request: Request<v1::ListFindingsRequest>,
    ) -> Result<Response<v1::ListFindingsResponse>, Status> {
        let r = request.into_inner();
        let (size, after) =
            page_args(r.page_size, &r.page_token).map_err(|v| ApiError::invalid(vec![v]))?;
        let min = v1::Severity::try_from(r.min_severity).map_err(|_| {
            ApiError::invalid_field(
                "min_severity",
                format!("unknown severity {}", r.min_severity),
            )
        })?;
        let filter = FindingFilter {
            submission_id: Some(r.submission_id.trim().to_string()).filter(|s| !s.is_empty()),
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
    /// Stored severities are compared as ranks: the wire order must follow the domain's.
    #[test]
    fn wire_severities_order_like_domain_severities() {
        use jixiao_audit::Severity::*;
        let ranks: Vec<i32> = [Info, Warning, Error]
            .map(|s| jixiao_proto::convert::severity_to_proto(s) as i32)
            .to_vec();
        assert!(ranks.windows(2).all(|w| w[0] < w[1]));
    }
}
