//! The scoring worker: takes jobs from the queue, scores, stores the scorecard,
//! asks audit, and only then acks. A failure leaves the delivery pending, to
//! be reclaimed and retried; every step is idempotent.

use std::sync::Arc;
use std::time::Duration;

use jixiao_proto::convert::{form_from_proto, now_millis, timestamp};
use jixiao_proto::v1::{
    self, audit_service_client::AuditServiceClient, intake_service_client::IntakeServiceClient,
};
use jixiao_queue::{Delivery, EventBus, JobQueue};
use jixiao_scoring::Rulebooks;
use jixiao_status::{from_peer, ApiError};
use jixiao_store::{NewScoreCard, Store};
use jixiao_telemetry::{follow, metrics::metrics, PeerChannel};
use prost::Message;
use tokio::sync::watch;
use tracing::Instrument;

use crate::{pick_rulebook, score};

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Consumer name in the queue.
    pub consumer: String,
    pub batch_size: usize,
    /// Deliveries unacked this long are taken over.
    pub reclaim_idle: Duration,
    /// Deadline of each call to intake and audit.
    pub rpc_timeout: Duration,
}

pub struct ScoringWorker {
    pub store: Store,
    pub queue: Arc<dyn JobQueue>,
    pub events: Arc<dyn EventBus>,
    pub rulebooks: Arc<Rulebooks>,
    pub intake: IntakeServiceClient<PeerChannel>,
    pub audit: AuditServiceClient<PeerChannel>,
    pub options: WorkerOptions,
    /// Departments whose forms changed, audited together later.
    pub departments: Arc<DepartmentAudits>,
}

/// (tenant, unit, fiscal year).
pub type Department = (String, String, i32);

/// Departments whose forms changed since their last cross-form audit. The
/// audit reads all of a department's forms, so it runs at most once per
/// department per interval, off the scoring path, however many forms arrive.
#[derive(Default)]
pub struct DepartmentAudits {
    dirty: std::sync::Mutex<Vec<Department>>,
}

impl DepartmentAudits {
    pub fn mark(&self, departments: Vec<Department>) {
        let mut dirty = self.dirty.lock().unwrap_or_else(|p| p.into_inner());
        for d in departments {
            if !dirty.contains(&d) {
                dirty.push(d);
            }
        }
    }

    fn take(&self) -> Vec<Department> {
        std::mem::take(&mut *self.dirty.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Every `interval`, audits the departments marked since the last round;
    /// a failed one is marked again. Ends when `shutdown` turns true.
    pub async fn run(
        self: Arc<Self>,
        mut audit: AuditServiceClient<PeerChannel>,
        interval: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
            for (tenant, unit, fiscal_year) in self.take() {
                let request = v1::AuditDepartmentRequest {
                    tenant: tenant.clone(),
                    unit: unit.clone(),
                    fiscal_year,
                    forms: vec![],
                };
                if let Err(status) = audit.audit_department(request).await {
                    tracing::warn!(%unit, fiscal_year, error = %status, "department audit failed; it is retried next round");
                    self.mark(vec![(tenant, unit, fiscal_year)]);
                }
            }
        }
    }
}

impl ScoringWorker {
    /// Runs until `shutdown` turns true; the batch in hand is finished first,
    /// and whatever is not acked stays queued for the next start.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut last_reclaim = tokio::time::Instant::now();
        while !*shutdown.borrow() {
            let mut batch = Vec::new();
            if last_reclaim.elapsed() >= self.options.reclaim_idle {
                last_reclaim = tokio::time::Instant::now();
                match self
                    .queue
                    .reclaim(
                        &self.options.consumer,
                        self.options.reclaim_idle,
                        self.options.batch_size,
                    )
                    .await
                {
                    Ok(b) => batch = b,
                    Err(e) => tracing::warn!(error = %e, "reclaim failed"),
                }
            }
            if batch.is_empty() {
                let next = self.queue.next_batch(
                    &self.options.consumer,
                    self.options.batch_size,
                    Duration::from_millis(500),
                );
                batch = tokio::select! {
                    b = next => match b {
                        Ok(b) => b,
                        Err(e) => {
                            tracing::warn!(error = %e, "queue read failed");
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            continue;
                        }
                    },
                    _ = shutdown.changed() => break,
                };
            }
            let mut departments = Vec::new();
            for delivery in batch {
                // The job's work joins the trace of the request that queued it.
                let span = tracing::info_span!("score job", submission = %delivery.job.submission_id, deliveries = delivery.deliveries);
                follow(&span, &delivery.job.trace_context);
                match self.process(&delivery).instrument(span).await {
                    Ok(department) => {
                        // Acked as soon as its own result is committed: a delivery is
                        // never idle for the rest of the batch, so no live job is reclaimed.
                        if let Err(e) = self.queue.ack(std::slice::from_ref(&delivery.id)).await {
                            tracing::warn!(error = %e, "ack failed; the job will be redelivered and is idempotent");
                        }
                        if !departments.contains(&department) {
                            departments.push(department);
                        }
                    }
                    Err(e) => tracing::warn!(
                        submission = %delivery.job.submission_id,
                        deliveries = delivery.deliveries,
                        error = ?e,
                        "scoring job failed; it will be retried"
                    ),
                }
            }
            self.departments.mark(departments);
        }
    }

    /// Scores and audits one job; returns the department (tenant, unit, year) it belongs to.
    async fn process(&mut self, delivery: &Delivery) -> Result<Department, ApiError> {
        let job = &delivery.job;
        let mut request = tonic::Request::new(v1::GetSubmissionRequest {
            id: job.submission_id.clone(),
        });
        request.set_timeout(self.options.rpc_timeout);
        let submission = self
            .intake
            .get_submission(request)
            .await
            .map_err(|s| from_peer("intake", s))?
            .into_inner();
        let wire_form = submission.form.ok_or_else(|| {
            ApiError::Internal(format!(
                "submission {} came without its form",
                job.submission_id
            ))
        })?;
        let form = form_from_proto(&wire_form)
            .map_err(|v| ApiError::Internal(format!("stored form is invalid: {v:?}")))?;
        let rulebook = pick_rulebook(&self.rulebooks, &job.rulebook_id)?;
        let mut card = score(&form, rulebook);
        let computed_at = now_millis();
        card.id = format!("{}:{}:{}", job.submission_id, rulebook.id, rulebook.version);
        card.submission_id = job.submission_id.clone();
        card.computed_at = Some(timestamp(computed_at));
        let (stored, event) = self
            .store
            .save_scorecard(NewScoreCard {
                id: card.id.clone(),
                submission_id: job.submission_id.clone(),
                rulebook_id: rulebook.id.clone(),
                rulebook_version: rulebook.version.clone(),
                input_digest: card.input_digest.clone(),
                recomputed_total: card.recomputed_total.clone(),
                grade: card.grade.clone(),
                card: card.encode_to_vec(),
                computed_at,
                tenant: submission.tenant.clone(),
            })
            .await?;
        if let Some(e) = event {
            self.events.published(e.seq);
            metrics().forms_scored.inc();
        }
        // A redelivered job audits the scorecard stored first, not a new one.
        let card = v1::ScoreCard::decode(stored.card.as_slice())
            .map_err(|e| ApiError::Internal(format!("stored scorecard does not decode: {e}")))?;
        let mut request = tonic::Request::new(v1::AuditSubmissionRequest {
            submission_id: job.submission_id.clone(),
            tenant: submission.tenant.clone(),
            form: Some(wire_form),
            scorecard: Some(card),
        });
        request.set_timeout(self.options.rpc_timeout);
        self.audit
            .audit_submission(request)
            .await
            .map_err(|s| from_peer("audit", s))?;
        Ok((
            submission.tenant,
            submission.budget_unit,
            submission.fiscal_year,
        ))
    }
}
