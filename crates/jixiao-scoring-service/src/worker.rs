//! The scoring worker: takes jobs from the queue, scores, stores the scorecard,
//! asks audit, and only then acks. A failure leaves the delivery pending, to
//! be reclaimed and retried; every step is idempotent.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jixiao_proto::convert::{
    form_from_proto, form_to_proto, now_millis, scorecard_to_proto, timestamp,
};
use jixiao_proto::v1;
use jixiao_queue::{Delivery, EventBus, JobQueue, SubmittedForm};
use jixiao_scoring::{score_form, Rulebooks};
use jixiao_status::{from_peer, ApiError};
use jixiao_store::{NewScoreCard, Store};
use jixiao_telemetry::{follow, link, metrics::metrics};
use prost::Message;
use tokio::sync::watch;
use tracing::Instrument;

use crate::peers::{AuditPeer, IntakePeer};
use crate::pick_rulebook;

/// Forms per call to intake or audit: with a form and its scorecard at
/// 8–10 KiB, a call stays near 2 MiB, under the 4 MiB message limit.
const FORMS_PER_CALL: usize = 200;
/// Forms worked on between yields to the runtime.
const YIELD_EVERY: usize = 16;

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Consumer name in the queue.
    pub consumer: String,
    pub batch_size: usize,
    /// How long a batch that came short waits to fill up before it is
    /// worked: each batch is a transaction, its lock turn and its commit.
    pub batch_linger: Duration,
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
    pub intake: IntakePeer,
    pub audit: AuditPeer,
    pub options: WorkerOptions,
    /// Departments whose forms changed, audited together later.
    pub departments: Arc<DepartmentAudits>,
}

/// (tenant, unit, fiscal year).
pub type Department = (String, String, i32);

/// Departments whose forms changed since their last cross-form audit. The
/// audit reads all of a department's forms, so it runs off the scoring path,
/// once a department has been quiet for the interval (its forms tend to come
/// together) and at the latest ten intervals after its first change.
#[derive(Default)]
pub struct DepartmentAudits {
    /// Department → (first change, last change) since its last audit.
    dirty: std::sync::Mutex<HashMap<Department, (Instant, Instant)>>,
}

impl DepartmentAudits {
    pub fn mark(&self, departments: Vec<Department>) {
        let now = Instant::now();
        let mut dirty = self.dirty.lock().unwrap_or_else(|p| p.into_inner());
        for d in departments {
            dirty
                .entry(d)
                .and_modify(|e| e.1 = now)
                .or_insert((now, now));
        }
    }

    /// The departments due: quiet for `quiet`, or waiting for ten times that.
    fn due(&self, quiet: Duration) -> Vec<Department> {
        let now = Instant::now();
        let mut dirty = self.dirty.lock().unwrap_or_else(|p| p.into_inner());
        let due: Vec<Department> = dirty
            .iter()
            .filter(|(_, (first, last))| now - *last >= quiet || now - *first >= quiet * 10)
            .map(|(d, _)| d.clone())
            .collect();
        for d in &due {
            dirty.remove(d);
        }
        due
    }

    /// Audits the departments that are due, checking every second; a failed
    /// one is marked again. Ends when `shutdown` turns true.
    pub async fn run(
        self: Arc<Self>,
        mut audit: AuditPeer,
        quiet: Duration,
        timeout: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(quiet.min(Duration::from_secs(1))) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
            for (tenant, unit, fiscal_year) in self.due(quiet) {
                let request = v1::AuditDepartmentRequest {
                    tenant: tenant.clone(),
                    unit: unit.clone(),
                    fiscal_year,
                    forms: vec![],
                };
                if let Err(status) = audit.audit_department(request, timeout).await {
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
                if !batch.is_empty() && batch.len() < self.options.batch_size {
                    top_up(self.queue.as_ref(), &self.options, &mut batch).await;
                }
            }
            // The batch's work joins the trace of the request that queued its
            // first job; the others' traces are linked.
            let span = tracing::info_span!("score batch", jobs = batch.len());
            if let Some(first) = batch.first() {
                follow(&span, &first.job.trace_context);
            }
            for d in batch.iter().skip(1) {
                link(&span, &d.job.trace_context);
            }
            let (done, departments) = match self.process(&batch).instrument(span).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(jobs = batch.len(), error = ?e, "scoring batch failed; its jobs will be retried");
                    continue;
                }
            };
            // Acked once their scorecards and findings are committed;
            // a job left out (its submission missing) is redelivered.
            if let Err(e) = self.queue.ack(&done).await {
                tracing::warn!(error = %e, "ack failed; the jobs will be redelivered and are idempotent");
            }
            self.departments.mark(departments);
        }
    }

    /// Scores and audits a batch of jobs with one call to intake and one
    /// transaction (audit in this process), or one transaction and one call
    /// to audit (audit elsewhere); returns the deliveries done and the
    /// departments (tenant, unit, year) they touched.
    async fn process(
        &mut self,
        batch: &[Delivery],
    ) -> Result<(Vec<String>, Vec<Department>), ApiError> {
        // Jobs intake queued in this process bring their forms; the others'
        // are read from intake.
        let mut ids: Vec<String> = batch
            .iter()
            .filter(|d| d.job.form.is_none())
            .map(|d| d.job.submission_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        // Forms are a few KiB each: asked for in slices that keep every
        // message well under the message limit.
        let mut submissions: HashMap<String, Arc<SubmittedForm>> = HashMap::new();
        for slice in ids.chunks(FORMS_PER_CALL) {
            let request = v1::GetSubmissionsRequest {
                ids: slice.to_vec(),
            };
            let response = self
                .intake
                .get_submissions(request, self.options.rpc_timeout)
                .await
                .map_err(|s| from_peer("intake", s))?;
            for s in response.submissions {
                let wire_form = s.form.ok_or_else(|| {
                    ApiError::Internal(format!("submission {} came without its form", s.id))
                })?;
                let form = form_from_proto(wire_form)
                    .map_err(|v| ApiError::Internal(format!("stored form is invalid: {v:?}")))?;
                let read = SubmittedForm {
                    tenant: s.tenant,
                    content_digest: s.content_digest,
                    form,
                    stored_encoding: None,
                };
                submissions.insert(s.id, Arc::new(read));
            }
        }
        let computed_at = now_millis();
        // With audit in this process, its per-form step runs here on the form
        // and card in hand, and the findings commit with the scorecards.
        let audit_here = self.audit.in_process();
        // Each job that can be scored: its delivery, submission and card, and
        // apart, the rows to store for it.
        let mut scored = Vec::with_capacity(batch.len());
        let mut news = Vec::with_capacity(batch.len());
        let mut findings = Vec::new();
        for (n, delivery) in batch.iter().enumerate() {
            // Short polls: the runtime's two threads also drive the database
            // transactions that hold SQLite's one write lock.
            if n % YIELD_EVERY == YIELD_EVERY - 1 {
                tokio::task::yield_now().await;
            }
            let job = &delivery.job;
            let Some(submission) = job
                .form
                .clone()
                .or_else(|| submissions.get(&job.submission_id).cloned())
            else {
                tracing::warn!(submission = %job.submission_id, deliveries = delivery.deliveries, "scoring job for a submission intake does not have; it will be retried");
                continue;
            };
            let form = &submission.form;
            let rulebook = match pick_rulebook(&self.rulebooks, &job.rulebook_id) {
                Ok(rb) => rb,
                Err(e) => {
                    tracing::warn!(submission = %job.submission_id, error = ?e, "scoring job names an unknown rulebook; it will be retried");
                    continue;
                }
            };
            // Intake computed the digest of exactly this content.
            let scored_form = score_form(form, &submission.content_digest, rulebook);
            if let Some(audit) = &audit_here {
                // A redelivered job's stored card came from the same form and
                // rulebook version, so these are its findings too.
                findings.push((
                    job.submission_id.clone(),
                    audit.submission_findings(&job.submission_id, form, &scored_form),
                ));
            }
            let mut card = scorecard_to_proto(scored_form);
            card.id = format!("{}:{}:{}", job.submission_id, rulebook.id, rulebook.version);
            card.submission_id = job.submission_id.clone();
            card.computed_at = Some(timestamp(computed_at));
            let new = NewScoreCard {
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
                budget_unit: form.units.primary().to_string(),
                fiscal_year: form.fiscal_year,
            };
            scored.push((delivery, submission, card));
            news.push(new);
        }
        let (stored, audited) = match &audit_here {
            Some(_) => {
                let span = tracing::info_span!("store scorecards and findings", forms = news.len());
                self.store
                    .save_scorecards_and_findings(news, findings, now_millis())
                    .instrument(span)
                    .await?
            }
            None => (self.store.save_scorecards(news).await?, Vec::new()),
        };
        let fresh = stored.iter().filter_map(|(_, e)| e.as_ref());
        let fresh_audits = audited.iter().flatten();
        if let Some(newest) = fresh
            .clone()
            .chain(fresh_audits.clone())
            .map(|e| e.seq)
            .max()
        {
            self.events.published(newest);
        }
        metrics().forms_scored.inc_by(fresh.count() as u64);
        metrics().forms_audited.inc_by(fresh_audits.count() as u64);
        let mut departments: Vec<Department> = Vec::new();
        let mut done = Vec::with_capacity(scored.len());
        let mut audits = Vec::with_capacity(stored.len());
        for ((delivery, submission, card), (row, event)) in scored.into_iter().zip(&stored) {
            done.push(delivery.id.clone());
            let d = (
                submission.tenant.clone(),
                submission.form.units.primary().to_string(),
                submission.form.fiscal_year,
            );
            if !departments.contains(&d) {
                departments.push(d);
            }
            if audit_here.is_some() {
                continue;
            }
            // A card stored just now is the one in hand; a redelivered job
            // audits the scorecard stored first, not a new one.
            let card = match event {
                Some(_) => card,
                None => v1::ScoreCard::decode(row.card.as_slice()).map_err(|e| {
                    ApiError::Internal(format!("stored scorecard does not decode: {e}"))
                })?,
            };
            audits.push(v1::AuditSubmissionRequest {
                submission_id: delivery.job.submission_id.clone(),
                tenant: submission.tenant.clone(),
                form: Some(form_to_proto(&submission.form)),
                scorecard: Some(card),
            });
        }
        let mut audits = audits.into_iter().peekable();
        while audits.peek().is_some() {
            let slice: Vec<_> = audits.by_ref().take(FORMS_PER_CALL).collect();
            let request = v1::AuditSubmissionsRequest { submissions: slice };
            self.audit
                .audit_submissions(request, self.options.rpc_timeout)
                .await
                .map_err(|s| from_peer("audit", s))?;
        }
        Ok((done, departments))
    }
}

/// Adds what arrived during the linger to a short batch. Forms sent one at
/// a time otherwise came in batches of ~7, a transaction each.
async fn top_up(queue: &dyn JobQueue, options: &WorkerOptions, batch: &mut Vec<Delivery>) {
    if options.batch_linger.is_zero() {
        return;
    }
    tokio::time::sleep(options.batch_linger).await;
    let rest = options.batch_size.saturating_sub(batch.len());
    // A read never waits for nothing (a zero wait is Redis's "forever").
    match queue
        .next_batch(&options.consumer, rest, Duration::from_millis(1))
        .await
    {
        Ok(more) => batch.extend(more),
        // What is in hand is worked; the read is retried with the next batch.
        Err(e) => tracing::warn!(error = %e, "queue read failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_department_is_audited_once_quiet_or_after_ten_intervals() {
        let audits = DepartmentAudits::default();
        let d = ("t".to_string(), "甲局".to_string(), 2024);
        audits.mark(vec![d.clone(), d.clone()]);
        assert!(
            audits.due(Duration::from_secs(60)).is_empty(),
            "not quiet yet"
        );
        assert_eq!(audits.due(Duration::ZERO), vec![d.clone()]);
        assert!(audits.due(Duration::ZERO).is_empty(), "taken once");
    }

    fn job(n: u32) -> jixiao_queue::Job {
        jixiao_queue::Job {
            submission_id: format!("sub_{n}"),
            rulebook_id: "cn-national-default".into(),
            trace_context: String::new(),
            form: None,
        }
    }

    fn options(batch_size: usize, linger_ms: u64) -> WorkerOptions {
        WorkerOptions {
            consumer: "w".into(),
            batch_size,
            batch_linger: Duration::from_millis(linger_ms),
            reclaim_idle: Duration::from_secs(30),
            rpc_timeout: Duration::from_secs(30),
        }
    }

    /// A short batch takes in the jobs that arrive while it lingers, up to
    /// the batch size; with no linger it is worked as it came.
    #[tokio::test]
    async fn a_short_batch_fills_up_during_the_linger() {
        let queue = Arc::new(jixiao_queue::InProcessQueue::with_capacity(64));
        queue.enqueue(vec![job(0)]).await.unwrap();
        let mut batch = queue
            .next_batch("w", 3, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(batch.len(), 1);
        let late = {
            let queue = queue.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                queue.enqueue((1..5).map(job).collect()).await.unwrap();
            })
        };
        top_up(queue.as_ref(), &options(3, 500), &mut batch).await;
        late.await.unwrap();
        let ids: Vec<&str> = batch.iter().map(|d| d.job.submission_id.as_str()).collect();
        assert_eq!(ids, ["sub_0", "sub_1", "sub_2"], "filled to the batch size");

        let mut alone = queue
            .next_batch("w", 1, Duration::from_secs(1))
            .await
            .unwrap();
        top_up(queue.as_ref(), &options(3, 0), &mut alone).await;
        assert_eq!(alone.len(), 1, "no linger, nothing added");
        assert_eq!(queue.depth().await.unwrap().0, 1, "sub_4 still queued");
    }
}
