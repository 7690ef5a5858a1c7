//! IntakeService: validates forms, stores each distinct content once together
//! with its scoring job, and queues the job.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jixiao_auth::Caller;
use jixiao_form::{content_digest, earlier_submission_id, submission_id, validate, Form};
use jixiao_proto::convert::{
    diagnostic_to_proto, form_to_proto, submission_status_to_proto, timestamp,
};
use jixiao_proto::paging::{next_token, page_args};
use jixiao_proto::v1::{self, intake_service_server::IntakeServiceServer};
use jixiao_queue::{EventBus, Job, JobQueue, SubmittedForm};
use jixiao_scoring::Rulebooks;
use jixiao_status::{caller, read_form, submission_filter, ApiError};
use jixiao_store::{entity::submission, NewSubmission, Store};
use jixiao_telemetry::{current_traceparent, metrics::metrics};
use prost::Message;
use tokio::sync::{mpsc, oneshot};
use tonic::{Request, Response, Status, Streaming};

/// Forms stored per transaction in a batch.
const BATCH_CHUNK: usize = 500;
/// Submissions one GetSubmissions may ask for.
const MAX_IDS: usize = 1000;

/// What one request may bring.
#[derive(Debug, Clone, Copy)]
pub struct IntakeLimits {
    /// Forms in one SubmitBatch stream.
    pub max_batch_forms: usize,
    /// Bytes of one document (ImportDocument sends it whole).
    pub max_document_bytes: usize,
    /// Bytes of any other message.
    pub max_message_bytes: usize,
    /// How long a call waits for room in a full scoring queue before it is refused.
    pub backlog_wait: Duration,
}

pub struct IntakeService {
    rulebooks: Arc<Rulebooks>,
    limits: IntakeLimits,
    store: Store,
    committer: Arc<Committer>,
    /// Where small calls' submissions wait to be committed together.
    waiting: mpsc::Sender<Pending>,
}

/// A checked form: its row, and the form itself for the worker in this process.
struct Prepared {
    row: NewSubmission,
    form: Form,
}

/// Prepared submissions waiting for their transaction, and where the answer goes.
struct Pending {
    news: Vec<Prepared>,
    reply: oneshot::Sender<Result<Vec<v1::SubmitFormResponse>, ApiError>>,
}

/// Forms committed together at most: concurrent calls share a transaction
/// up to this size, and a call this large (a full batch chunk) has one of
/// its own.
const GROUP_FORMS: usize = BATCH_CHUNK;

/// Commits what concurrent calls hand it, together: one transaction for
/// all that is waiting (up to [`GROUP_FORMS`]), then the jobs are queued
/// and the events announced, and each call gets its own answers. Whole
/// batches commit on their own, in parallel where the database allows it.
struct Committer {
    store: Store,
    queue: Arc<dyn JobQueue>,
    events: Arc<dyn EventBus>,
}

impl Committer {
    async fn run(self: Arc<Self>, mut waiting: mpsc::Receiver<Pending>) {
        while let Some(first) = waiting.recv().await {
            let mut forms = first.news.len();
            let mut group = vec![first];
            while forms < GROUP_FORMS {
                match waiting.try_recv() {
                    Ok(p) => {
                        forms += p.news.len();
                        group.push(p);
                    }
                    Err(_) => break,
                }
            }
            let sizes: Vec<usize> = group.iter().map(|p| p.news.len()).collect();
            let news: Vec<Prepared> = group
                .iter_mut()
                .flat_map(|p| std::mem::take(&mut p.news))
                .collect();
            match self.commit(news).await {
                Ok(responses) => {
                    let mut responses = responses.into_iter();
                    for (p, n) in group.into_iter().zip(sizes) {
                        let _ = p.reply.send(Ok(responses.by_ref().take(n).collect()));
                    }
                }
                Err(e) => {
                    for p in group {
                        let _ = p.reply.send(Err(e.clone()));
                    }
                }
            }
        }
    }

    /// One transaction for `news`, then their jobs queued and events announced.
    async fn commit(&self, news: Vec<Prepared>) -> Result<Vec<v1::SubmitFormResponse>, ApiError> {
        let (rows, forms): (Vec<NewSubmission>, Vec<Form>) =
            news.into_iter().map(|p| (p.row, p.form)).unzip();
        // A queue that carries forms encoded gets the bytes stored, not a
        // second encoding.
        let carries = self.queue.carries_encoded_forms();
        let encodings: Vec<Option<Vec<u8>>> = rows
            .iter()
            .map(|r| carries.then(|| r.form.clone()))
            .collect();
        let outcomes = self.store.submit_many(rows).await?;
        let mut jobs = Vec::new();
        let mut newest_event = None;
        let responses = outcomes
            .into_iter()
            .zip(forms)
            .zip(encodings)
            .map(|((o, form), stored_encoding)| {
                if let Some(created) = &o.created {
                    jobs.push(Job {
                        submission_id: created.job.submission_id.clone(),
                        rulebook_id: created.job.rulebook_id.clone(),
                        trace_context: created.job.trace_context.clone(),
                        form: Some(Arc::new(SubmittedForm {
                            tenant: o.submission.tenant.clone(),
                            content_digest: o.submission.content_digest.clone(),
                            form,
                            stored_encoding,
                        })),
                    });
                    newest_event = newest_event.max(Some(created.event.seq));
                }
                v1::SubmitFormResponse {
                    submission: Some(submission_to_proto(&o.submission, None)),
                    deduplicated: o.created.is_none(),
                }
            })
            .collect();
        if let Some(seq) = newest_event {
            self.events.published(seq);
        }
        metrics().forms_received.inc_by(jobs.len() as u64);
        // The jobs are committed in `scoring_jobs`; should this enqueue fail, the
        // relay re-enqueues them at the next start.
        if !jobs.is_empty() {
            if let Err(e) = self.queue.enqueue(jobs).await {
                tracing::warn!(error = %e, "enqueue failed; jobs stay queued in the database");
            }
        }
        Ok(responses)
    }
}

impl IntakeService {
    pub fn new(
        store: Store,
        queue: Arc<dyn JobQueue>,
        events: Arc<dyn EventBus>,
        rulebooks: Arc<Rulebooks>,
        limits: IntakeLimits,
    ) -> Self {
        let committer = Arc::new(Committer {
            store: store.clone(),
            queue,
            events,
        });
        let (waiting, calls) = mpsc::channel(1024);
        tokio::spawn(committer.clone().run(calls));
        Self {
            rulebooks,
            limits,
            store,
            committer,
            waiting,
        }
    }

    /// The gRPC service; the worker may also hold the `Arc` and call it in-process.
    pub fn into_server(self: Arc<Self>) -> IntakeServiceServer<Self> {
        // Whole documents arrive in one message; the transport takes a little
        // more than the document limit so that ImportDocument can answer with
        // the limit itself.
        let decoding = self
            .limits
            .max_document_bytes
            .saturating_add(1 << 20)
            .max(self.limits.max_message_bytes);
        IntakeServiceServer::from_arc(self).max_decoding_message_size(decoding)
    }

    /// Stores prepared submissions and queues the new ones. Small calls that
    /// arrive together share one transaction (group commit). `backlog_wait`
    /// is how long the call may still wait for room in a full queue: a call
    /// refused once is not kept waiting again for each of its further chunks.
    async fn store(
        &self,
        news: Vec<Prepared>,
        backlog_wait: &mut Duration,
    ) -> Result<Vec<v1::SubmitFormResponse>, ApiError> {
        // Back-pressure: while scoring is a full queue behind, new forms wait
        // here, before anything is written, and are turned away after a while.
        if !self.committer.queue.room(*backlog_wait).await {
            *backlog_wait = Duration::ZERO;
            return Err(ApiError::ResourceExhausted {
                message: format!(
                    "scoring is behind: the queue has had no room for {} s; nothing was stored, retry later",
                    self.limits.backlog_wait.as_secs()
                ),
                retry_after: Some(Duration::from_secs(1)),
            });
        }
        if news.len() >= GROUP_FORMS {
            return self.committer.commit(news).await;
        }
        let (reply, answer) = oneshot::channel();
        self.waiting
            .send(Pending { news, reply })
            .await
            .map_err(|_| ApiError::Unavailable("intake is stopping".into()))?;
        answer
            .await
            .map_err(|_| ApiError::Internal("the committer stopped".into()))?
    }
}

impl IntakeService {
    /// Checks a request and turns it into a row, or says which fields are wrong.
    fn prepare(&self, caller: &Caller, req: v1::SubmitFormRequest) -> Result<Prepared, ApiError> {
        let tenant = caller.tenant_for_write(&req.tenant)?;
        if req.encoded_len() > self.limits.max_message_bytes {
            return Err(ApiError::ResourceExhausted {
                message: format!(
                    "form: the request has {} bytes; at most {} are accepted",
                    req.encoded_len(),
                    self.limits.max_message_bytes
                ),
                retry_after: None,
            });
        }
        let form = read_form(req.form)?;
        self.prepare_form(tenant, form, &req.rulebook_id)
    }

    /// A valid form as a row, with the rulebook its region and year call for.
    fn prepare_form(
        &self,
        tenant: String,
        form: Form,
        rulebook_id: &str,
    ) -> Result<Prepared, ApiError> {
        let rulebook = if rulebook_id.trim().is_empty() {
            // The form's region decides the rulebook; a tenant is a region path too.
            let region = if form.units.region.is_empty() {
                &tenant
            } else {
                &form.units.region
            };
            self.rulebooks.select(region, form.fiscal_year)
        } else {
            Some(self.rulebooks.get(rulebook_id).ok_or_else(|| {
                ApiError::invalid_field(
                    "rulebook_id",
                    format!(
                        "unknown rulebook {rulebook_id:?}; known: {}",
                        self.rulebooks.ids().join(", ")
                    ),
                )
            })?)
        }
        .ok_or_else(|| ApiError::Internal("no default rulebook".into()))?
        .id
        .clone();
        Ok(prepared(tenant, form, rulebook))
    }

    /// Parses a document and stores each valid form; the others are reported.
    async fn import(
        &self,
        caller: &Caller,
        r: v1::ImportDocumentRequest,
    ) -> Result<v1::ImportDocumentResponse, ApiError> {
        let tenant = caller.tenant_for_write(&r.tenant)?;
        if r.content.len() > self.limits.max_document_bytes {
            return Err(ApiError::ResourceExhausted {
                message: format!(
                    "content: the document has {} bytes; at most {} are accepted",
                    r.content.len(),
                    self.limits.max_document_bytes
                ),
                retry_after: None,
            });
        }
        if r.file_name.trim().is_empty() {
            return Err(ApiError::invalid_field(
                "file_name",
                "is required: its extension picks the parser",
            ));
        }
        let parsed = jixiao_parse::parse_document(&r.file_name, &r.content)
            .map_err(|e| ApiError::invalid_field("content", e.reason))?;
        let mut response = v1::ImportDocumentResponse {
            diagnostics: parsed.diagnostics.iter().map(diagnostic_to_proto).collect(),
            ..Default::default()
        };
        let mut pending: Vec<(u32, Prepared)> = Vec::new();
        for form in parsed.forms {
            let index = response.forms.len() as u32;
            let mut item = v1::ImportedForm {
                origin: form_to_proto(&form).origin,
                project_name: form.project_name.clone(),
                budget_unit: form.units.primary().to_string(),
                outcome: None,
                diagnostics: form.diagnostics.iter().map(diagnostic_to_proto).collect(),
            };
            let violations = validate(&form);
            if violations.is_empty() {
                pending.push((
                    index,
                    self.prepare_form(tenant.clone(), form, &r.rulebook_id)?,
                ));
            } else {
                let error = ApiError::invalid(violations);
                response.diagnostics.push(v1::Diagnostic {
                    line: form.origin.first_line,
                    code: "form_rejected".into(),
                    message: format!(
                        "the form at line {} was not stored: {error:?}",
                        form.origin.first_line
                    ),
                    ..Default::default()
                });
                item.outcome = Some(v1::imported_form::Outcome::Error(batch_error(error)));
            }
            response.forms.push(item);
        }
        let mut backlog_wait = self.limits.backlog_wait;
        let mut pending = pending.into_iter().peekable();
        while pending.peek().is_some() {
            let (indexes, news): (Vec<u32>, Vec<Prepared>) =
                pending.by_ref().take(BATCH_CHUNK).unzip();
            let outcomes: Vec<v1::imported_form::Outcome> =
                match self.store(news, &mut backlog_wait).await {
                    Ok(responses) => responses
                        .into_iter()
                        .map(v1::imported_form::Outcome::Accepted)
                        .collect(),
                    Err(e) => {
                        let error = batch_error(e);
                        indexes
                            .iter()
                            .map(|_| v1::imported_form::Outcome::Error(error.clone()))
                            .collect()
                    }
                };
            for (index, outcome) in indexes.into_iter().zip(outcomes) {
                response.forms[index as usize].outcome = Some(outcome);
            }
        }
        for f in &response.forms {
            match &f.outcome {
                Some(v1::imported_form::Outcome::Accepted(a)) if a.deduplicated => {
                    response.deduplicated += 1
                }
                Some(v1::imported_form::Outcome::Accepted(_)) => response.accepted += 1,
                _ => response.rejected += 1,
            }
        }
        Ok(response)
    }
}

/// The row to store, and the copy of the form the worker scores in this
/// process instead of reading the stored one back: the same form, as the
/// stored bytes read back (normalised decimals).
fn prepared(tenant: String, mut form: Form, rulebook_id: String) -> Prepared {
    let row = new_submission(tenant, &form, rulebook_id);
    form.normalize_decimals();
    Prepared { row, form }
}

fn new_submission(tenant: String, form: &Form, rulebook_id: String) -> NewSubmission {
    let digest = content_digest(form);
    let unit = form.units.primary();
    let earlier_id = earlier_submission_id(&tenant, &digest);
    NewSubmission {
        id: submission_id(&tenant, unit, &earlier_id),
        earlier_id: Some(earlier_id),
        tenant,
        content_digest: digest,
        kind: form.kind.as_str().to_string(),
        budget_unit: unit.to_string(),
        competent_department: form.units.competent_department.clone(),
        implementing_unit: form.units.implementing_unit.clone(),
        project_name: form.project_name.clone(),
        fiscal_year: form.fiscal_year,
        form: form_to_proto(form).encode_to_vec(),
        received_at: jixiao_proto::convert::now_millis(),
        rulebook_id,
        trace_context: current_traceparent(),
    }
}

/// A stored submission on the wire, with its form when the stored bytes are given.
fn submission_to_proto(m: &submission::Model, form: Option<&[u8]>) -> v1::Submission {
    let kind = match jixiao_form::FormKind::from_name(&m.kind) {
        Some(jixiao_form::FormKind::Project) => v1::FormKind::Project,
        Some(jixiao_form::FormKind::Department) => v1::FormKind::Department,
        Some(jixiao_form::FormKind::DepartmentBasicData) => v1::FormKind::DepartmentBasicData,
        _ => v1::FormKind::Unspecified,
    };
    v1::Submission {
        id: m.id.clone(),
        tenant: m.tenant.clone(),
        content_digest: m.content_digest.clone(),
        status: submission_status_to_proto(&m.status) as i32,
        kind: kind as i32,
        budget_unit: m.budget_unit.clone(),
        project_name: m.project_name.clone(),
        fiscal_year: m.fiscal_year,
        received_at: Some(timestamp(m.received_at)),
        // Stored bytes were encoded by this service from a valid form.
        form: form.and_then(|b| v1::Form::decode(b).ok()),
    }
}

#[tonic::async_trait]
impl v1::intake_service_server::IntakeService for IntakeService {
    async fn submit_form(
        &self,
        request: Request<v1::SubmitFormRequest>,
    ) -> Result<Response<v1::SubmitFormResponse>, Status> {
        let caller = caller(&request)?;
        let new = self.prepare(&caller, request.into_inner())?;
        let mut backlog_wait = self.limits.backlog_wait;
        let mut responses = self.store(vec![new], &mut backlog_wait).await?;
        Ok(Response::new(responses.remove(0)))
    }

    async fn submit_batch(
        &self,
        request: Request<Streaming<v1::SubmitFormRequest>>,
    ) -> Result<Response<v1::SubmitBatchResponse>, Status> {
        let caller = caller(&request)?;
        let mut stream = request.into_inner();
        let mut results: Vec<v1::BatchItemResult> = Vec::new();
        let mut chunk: Vec<(u32, Prepared)> = Vec::new();
        let mut index = 0u32;
        let mut backlog_wait = self.limits.backlog_wait;
        while let Some(item) = stream.next().await {
            // Short polls: the runtime's threads also drive the transactions
            // that hold SQLite's one write lock.
            if index % 16 == 15 {
                tokio::task::yield_now().await;
            }
            let item = item.map_err(|s| self.oversize(s))?;
            if index as usize >= self.limits.max_batch_forms {
                // What came before is stored (or reported); intake is idempotent,
                // so the client resends the rest in further batches.
                self.flush(&mut chunk, &mut results, &mut backlog_wait)
                    .await;
                return Err(ApiError::ResourceExhausted {
                    message: format!(
                        "a batch holds at most {} forms; the first {} were taken, send the rest in another batch",
                        self.limits.max_batch_forms, self.limits.max_batch_forms
                    ),
                    retry_after: None,
                }
                .into());
            }
            match self.prepare(&caller, item) {
                Ok(new) => chunk.push((index, new)),
                Err(e) => results.push(item_error(index, e)),
            }
            index += 1;
            if chunk.len() >= BATCH_CHUNK {
                self.flush(&mut chunk, &mut results, &mut backlog_wait)
                    .await;
            }
        }
        self.flush(&mut chunk, &mut results, &mut backlog_wait)
            .await;
        results.sort_by_key(|r| r.index);
        let mut response = v1::SubmitBatchResponse::default();
        for r in &results {
            match &r.outcome {
                Some(v1::batch_item_result::Outcome::Accepted(a)) if a.deduplicated => {
                    response.deduplicated += 1
                }
                Some(v1::batch_item_result::Outcome::Accepted(_)) => response.accepted += 1,
                _ => response.rejected += 1,
            }
        }
        response.results = results;
        Ok(Response::new(response))
    }

    async fn import_document(
        &self,
        request: Request<v1::ImportDocumentRequest>,
    ) -> Result<Response<v1::ImportDocumentResponse>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.import(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_submission(
        &self,
        request: Request<v1::GetSubmissionRequest>,
    ) -> Result<Response<v1::Submission>, Status> {
        let caller = caller(&request)?;
        let id = request.into_inner().id;
        if id.trim().is_empty() {
            return Err(ApiError::invalid_field("id", "is required").into());
        }
        // Another region's submission is as absent as a missing one.
        let m = self
            .store
            .submission(&id)
            .await
            .map_err(ApiError::from)?
            .filter(|m| caller.sees(&m.tenant))
            .ok_or_else(|| ApiError::not_found(format!("submission {id} does not exist")))?;
        let forms = self
            .store
            .forms_of(std::slice::from_ref(&m))
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(submission_to_proto(
            &m,
            forms.get(&m.id).map(Vec::as_slice),
        )))
    }

    async fn get_submissions(
        &self,
        request: Request<v1::GetSubmissionsRequest>,
    ) -> Result<Response<v1::GetSubmissionsResponse>, Status> {
        let caller = caller(&request)?;
        let ids = request.into_inner().ids;
        if ids.len() > MAX_IDS {
            return Err(ApiError::invalid_field(
                "ids",
                format!("at most {MAX_IDS} ids at once, got {}", ids.len()),
            )
            .into());
        }
        let rows: Vec<submission::Model> = self
            .store
            .submissions(&ids)
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .filter(|m| caller.sees(&m.tenant))
            .collect();
        let forms = self.store.forms_of(&rows).await.map_err(ApiError::from)?;
        Ok(Response::new(v1::GetSubmissionsResponse {
            submissions: rows
                .iter()
                .map(|m| submission_to_proto(m, forms.get(&m.id).map(Vec::as_slice)))
                .collect(),
        }))
    }

    async fn list_submissions(
        &self,
        request: Request<v1::ListSubmissionsRequest>,
    ) -> Result<Response<v1::ListSubmissionsResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let (size, after) =
            page_args(r.page_size, &r.page_token).map_err(|v| ApiError::invalid(vec![v]))?;
        let filter = submission_filter(&caller, &r.tenant, "", &r.unit, r.fiscal_year, r.status)?;
        let rows = self
            .store
            .list_submissions(&filter, after, size)
            .await
            .map_err(ApiError::from)?;
        let forms = if r.with_forms {
            self.store.forms_of(&rows).await.map_err(ApiError::from)?
        } else {
            Default::default()
        };
        Ok(Response::new(v1::ListSubmissionsResponse {
            next_page_token: next_token(rows.len(), size, rows.last().map(|m| m.seq)),
            submissions: rows
                .iter()
                .map(|m| submission_to_proto(m, forms.get(&m.id).map(Vec::as_slice)))
                .collect(),
        }))
    }
}

impl IntakeService {
    /// A message over the transport's size limit arrives as OUT_OF_RANGE;
    /// callers are told it is a limit (RESOURCE_EXHAUSTED), with the limit.
    fn oversize(&self, s: Status) -> Status {
        if s.code() == tonic::Code::OutOfRange && s.message().contains("too large") {
            return ApiError::ResourceExhausted {
                message: format!(
                    "a form message is larger than the {} bytes accepted",
                    self.limits.max_message_bytes
                ),
                retry_after: None,
            }
            .into();
        }
        s
    }

    /// Stores a chunk of a batch; a storage failure is reported on each of its items.
    async fn flush(
        &self,
        chunk: &mut Vec<(u32, Prepared)>,
        results: &mut Vec<v1::BatchItemResult>,
        backlog_wait: &mut Duration,
    ) {
        if chunk.is_empty() {
            return;
        }
        let (indexes, news): (Vec<u32>, Vec<Prepared>) = std::mem::take(chunk).into_iter().unzip();
        match self.store(news, backlog_wait).await {
            Ok(responses) => {
                results.extend(indexes.into_iter().zip(responses).map(|(index, r)| {
                    v1::BatchItemResult {
                        index,
                        outcome: Some(v1::batch_item_result::Outcome::Accepted(r)),
                    }
                }))
            }
            Err(e) => {
                let error = batch_error(e);
                results.extend(indexes.into_iter().map(|index| v1::BatchItemResult {
                    index,
                    outcome: Some(v1::batch_item_result::Outcome::Error(error.clone())),
                }));
            }
        }
    }
}

fn item_error(index: u32, e: ApiError) -> v1::BatchItemResult {
    v1::BatchItemResult {
        index,
        outcome: Some(v1::batch_item_result::Outcome::Error(batch_error(e))),
    }
}

/// An error as reported on one item of a batch or import.
fn batch_error(e: ApiError) -> v1::BatchItemError {
    let code = format!("{:?}", e.code());
    let (message, violations) = match e {
        ApiError::InvalidArgument {
            message,
            violations,
        } => (
            message,
            violations
                .into_iter()
                .map(|v| v1::FieldViolation {
                    field: v.field,
                    description: v.description,
                })
                .collect(),
        ),
        other => (Status::from(other).message().to_string(), vec![]),
    };
    v1::BatchItemError {
        code,
        message,
        violations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jixiao_proto::convert::form_from_proto;

    /// The worker scores `Prepared::form` in place of the stored bytes read
    /// back; the two must be the same form, decimal places included (compared
    /// on the wire, where `4.0` and `4` differ).
    fn read_back_as_held(form: Form) {
        let p = prepared("t".into(), form, "rb".into());
        let stored = v1::Form::decode(p.row.form.as_slice()).unwrap();
        let read = form_from_proto(stored).unwrap();
        assert_eq!(form_to_proto(&p.form), form_to_proto(&read));
    }

    #[test]
    fn stored_forms_read_back_as_they_were() {
        // Parsed documents: as imported.
        for name in ["yueyang-gxj-2023.txt", "zhuzhou-gxj-2024.txt"] {
            let path = format!(
                "{}/../jixiao-parse/tests/samples/{name}",
                env!("CARGO_MANIFEST_DIR")
            );
            let parsed =
                jixiao_parse::parse_document(&path, &std::fs::read(&path).unwrap()).unwrap();
            assert!(!parsed.forms.is_empty());
            for form in parsed.forms {
                read_back_as_held(form);
            }
        }
        // Wire forms: as submitted, with places to drop and measures given
        // only as text, whose values are read from it.
        let wire = v1::Form {
            project_name: " 行政运行经费 ".into(),
            fiscal_year: 2024,
            funds: Some(v1::FundBlock {
                rows: vec![v1::FundRow {
                    label: "年度资金总额".into(),
                    initial_budget: "433.320".into(),
                    full_year_budget: "1,000.5".into(),
                    executed: "418.85".into(),
                    ..Default::default()
                }],
                weight: "10.00".into(),
                stated_score: "9.50".into(),
                ..Default::default()
            }),
            indicators: vec![v1::Indicator {
                name: "会议室数量".into(),
                target: Some(v1::Measure {
                    raw: "≥4.0个".into(),
                    ..Default::default()
                }),
                actual: Some(v1::Measure {
                    raw: " 95.50% ".into(),
                    ..Default::default()
                }),
                weight: "20.0".into(),
                self_score: "18.00".into(),
                ..Default::default()
            }],
            stated_total: "90.0".into(),
            ..Default::default()
        };
        let form = form_from_proto(wire).unwrap();
        assert_eq!(
            form.indicators[0].target.value,
            Some("4.0".parse().unwrap())
        );
        read_back_as_held(form);
    }
}
