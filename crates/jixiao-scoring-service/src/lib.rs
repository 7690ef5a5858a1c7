//! ScoringService (pure ScoreForm, GetScoreCard) and the queue-triggered
//! scoring worker.

mod peers;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use jixiao_form::{content_digest, Form};
use jixiao_proto::convert::{now_millis, rulebook_to_proto, scorecard_to_proto};
use jixiao_proto::v1::{self, scoring_service_server::ScoringServiceServer};
use jixiao_queue::{Job, JobQueue};
use jixiao_scoring::{score_form, Rulebook, Rulebooks};
use jixiao_status::{caller, read_form, submission_filter, ApiError};
use jixiao_store::Store;
use jixiao_telemetry::current_traceparent;
use prost::Message;
use tonic::{Request, Response, Status};

pub use peers::{AuditPeer, IntakePeer};
pub use worker::{Department, DepartmentAudits, ScoringWorker, WorkerOptions};

/// Submissions queued per transaction by RescoreBatch.
const RESCORE_PAGE: u64 = 1000;

pub struct ScoringService {
    store: Store,
    queue: Arc<dyn JobQueue>,
    rulebooks: Arc<Rulebooks>,
    /// How long RescoreBatch waits for room in a full queue, per page.
    backlog_wait: Duration,
}

impl ScoringService {
    pub fn new(
        store: Store,
        queue: Arc<dyn JobQueue>,
        rulebooks: Arc<Rulebooks>,
        backlog_wait: Duration,
    ) -> Self {
        Self {
            store,
            queue,
            rulebooks,
            backlog_wait,
        }
    }

    pub fn into_server(self) -> ScoringServiceServer<Self> {
        ScoringServiceServer::new(self)
    }
}

/// The rulebook named by a request (empty: the default), or INVALID_ARGUMENT listing the known ones.
pub fn pick_rulebook<'a>(rulebooks: &'a Rulebooks, id: &str) -> Result<&'a Rulebook, ApiError> {
    rulebooks.get(id).ok_or_else(|| {
        ApiError::invalid_field(
            "rulebook_id",
            format!(
                "unknown rulebook {id:?}; known: {}",
                rulebooks.ids().join(", ")
            ),
        )
    })
}

/// Scores a form and returns the wire scorecard (without id, submission or time).
pub fn score(form: &Form, rulebook: &Rulebook) -> v1::ScoreCard {
    scorecard_to_proto(score_form(form, &content_digest(form), rulebook))
}

#[tonic::async_trait]
impl v1::scoring_service_server::ScoringService for ScoringService {
    async fn score_form(
        &self,
        request: Request<v1::ScoreFormRequest>,
    ) -> Result<Response<v1::ScoreCard>, Status> {
        let r = request.into_inner();
        let form = read_form(r.form)?;
        let rulebook = pick_rulebook(&self.rulebooks, &r.rulebook_id)?;
        Ok(Response::new(score(&form, rulebook)))
    }

    async fn get_score_card(
        &self,
        request: Request<v1::GetScoreCardRequest>,
    ) -> Result<Response<v1::ScoreCard>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        if r.submission_id.trim().is_empty() {
            return Err(ApiError::invalid_field("submission_id", "is required").into());
        }
        let rulebook = Some(r.rulebook_id.trim()).filter(|s| !s.is_empty());
        let row = self
            .store
            .latest_scorecard(&r.submission_id, rulebook)
            .await
            .map_err(ApiError::from)?
            .filter(|c| caller.sees(&c.tenant))
            .ok_or_else(|| {
                ApiError::not_found(format!("no scorecard for submission {}", r.submission_id))
            })?;
        let card = v1::ScoreCard::decode(row.card.as_slice()).map_err(|e| {
            ApiError::Internal(format!("stored scorecard {} does not decode: {e}", row.id))
        })?;
        Ok(Response::new(card))
    }

    async fn rescore_batch(
        &self,
        request: Request<v1::RescoreBatchRequest>,
    ) -> Result<Response<v1::RescoreBatchResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        if r.rulebook_id.trim().is_empty() {
            return Err(ApiError::invalid_field("rulebook_id", "is required").into());
        }
        let rulebook = pick_rulebook(&self.rulebooks, &r.rulebook_id)?.id.clone();
        let filter = submission_filter(&caller, &r.tenant, "", &r.unit, r.fiscal_year, r.status)?;
        let trace = current_traceparent();
        let mut after = 0;
        let mut queued = 0u32;
        loop {
            let page = self
                .store
                .list_submissions(&filter, after, RESCORE_PAGE)
                .await
                .map_err(ApiError::from)?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            // Bounded as intake is: a rescore of a whole province waits for
            // the workers page by page instead of flooding the queue. Pages
            // queued before a refusal stay queued.
            if !self.queue.room(self.backlog_wait).await {
                return Err(ApiError::ResourceExhausted {
                    message: format!(
                        "scoring is behind: the queue has had no room for {} s; {queued} submissions were queued, retry later for the rest",
                        self.backlog_wait.as_secs()
                    ),
                    retry_after: Some(Duration::from_secs(1)),
                }
                .into());
            }
            let ids: Vec<String> = page.iter().map(|s| s.id.clone()).collect();
            // Committed first: should the enqueue fail, the jobs are relayed at the next start.
            self.store
                .queue_jobs(&ids, &rulebook, now_millis(), &trace)
                .await
                .map_err(ApiError::from)?;
            queued += ids.len() as u32;
            let jobs = ids
                .into_iter()
                .map(|submission_id| Job {
                    submission_id,
                    rulebook_id: rulebook.clone(),
                    trace_context: trace.clone(),
                    form: None,
                })
                .collect();
            self.queue.enqueue(jobs).await.map_err(ApiError::from)?;
            if (page.len() as u64) < RESCORE_PAGE {
                break;
            }
        }
        Ok(Response::new(v1::RescoreBatchResponse { queued }))
    }

    async fn list_rulebooks(
        &self,
        _request: Request<v1::ListRulebooksRequest>,
    ) -> Result<Response<v1::ListRulebooksResponse>, Status> {
        Ok(Response::new(v1::ListRulebooksResponse {
            rulebooks: self
                .rulebooks
                .all()
                .iter()
                .map(|rb| rulebook_to_proto(rb, false))
                .collect(),
            default_rulebook_id: self.rulebooks.default_id().to_string(),
        }))
    }

    async fn get_rulebook(
        &self,
        request: Request<v1::GetRulebookRequest>,
    ) -> Result<Response<v1::Rulebook>, Status> {
        let id = request.into_inner().id;
        let rb = self
            .rulebooks
            .get(&id)
            .filter(|_| !id.trim().is_empty())
            .ok_or_else(|| ApiError::not_found(format!("rulebook {id:?} does not exist")))?;
        Ok(Response::new(rulebook_to_proto(rb, true)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jixiao_auth::Caller;
    use jixiao_proto::v1::scoring_service_server::ScoringService as _;
    use jixiao_queue::InProcessQueue;
    use jixiao_store::NewSubmission;

    fn stored(n: u32) -> NewSubmission {
        NewSubmission {
            id: format!("sub_{n}"),
            earlier_id: None,
            tenant: "湖南省".into(),
            content_digest: format!("digest {n}"),
            kind: "project".into(),
            budget_unit: "甲".into(),
            competent_department: String::new(),
            implementing_unit: String::new(),
            project_name: format!("项目{n}"),
            fiscal_year: 2024,
            form: vec![],
            received_at: 1,
            rulebook_id: "cn-national-default".into(),
            trace_context: String::new(),
        }
    }

    /// RescoreBatch waits for room in a full queue as intake does, and is
    /// refused, with a retry hint, when none comes: a rescore of a whole
    /// province cannot flood the queue past its bound.
    #[tokio::test]
    async fn rescoring_is_bounded_by_the_queue() {
        let dir = std::env::temp_dir().join(format!("jixiao-rescore-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("store.sqlite");
        let store = Store::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        store
            .submit_many((0..3).map(stored).collect())
            .await
            .unwrap();
        let rulebooks = Rulebooks::new(
            jixiao_scoring::builtin_rulebooks().unwrap(),
            "cn-national-default",
        )
        .unwrap();
        let rescore = |queue: Arc<InProcessQueue>| {
            let service = ScoringService::new(
                store.clone(),
                queue,
                Arc::new(rulebooks.clone()),
                Duration::from_millis(200),
            );
            async move {
                let mut request = Request::new(v1::RescoreBatchRequest {
                    rulebook_id: "example-province-2023".into(),
                    tenant: "湖南省".into(),
                    ..Default::default()
                });
                request.extensions_mut().insert(Caller::unrestricted(""));
                service.rescore_batch(request).await
            }
        };
        // A queue with room takes the three jobs.
        let roomy = Arc::new(InProcessQueue::with_capacity(8));
        assert_eq!(rescore(roomy.clone()).await.unwrap().into_inner().queued, 3);
        assert_eq!(roomy.depth().await.unwrap().0, 3);
        // A full one, with no worker to drain it, refuses and queues nothing.
        let full = Arc::new(InProcessQueue::with_capacity(1));
        full.enqueue(vec![Job {
            submission_id: "sub_0".into(),
            rulebook_id: "cn-national-default".into(),
            trace_context: String::new(),
            form: None,
        }])
        .await
        .unwrap();
        let err = rescore(full.clone()).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err:?}");
        assert!(
            err.message().contains("0 submissions were queued"),
            "{}",
            err.message()
        );
        assert_eq!(full.depth().await.unwrap().0, 1);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
