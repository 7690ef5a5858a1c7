//! The scoring job queue and the event signal. Small traits shaped after Redis
//! Streams (enqueue, read a batch as a consumer, ack, reclaim idle deliveries)
//! with in-process implementations for the embedded default.

mod events;
mod in_process;
mod redis_streams;

pub use events::{EventBus, InProcessEvents};
pub use in_process::{InProcessQueue, IN_PROCESS_CAPACITY};
pub use redis_streams::{RedisEventStream, RedisQueue, RedisQueueOptions};

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Score one submission with one rulebook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub submission_id: String,
    pub rulebook_id: String,
    /// W3C traceparent of the request that queued it, so its scoring joins
    /// that trace; empty for none.
    pub trace_context: String,
    /// The form as intake stored it, when intake queued the job: the worker
    /// scores it without reading it back. In process it is handed over as
    /// is; in Redis the entry carries it encoded as it is stored. A job
    /// without it (the relays, a rescore) is read from the store.
    pub form: Option<Arc<SubmittedForm>>,
}

/// A stored submission's form with what scoring needs beside it.
#[derive(Clone, PartialEq, Eq)]
pub struct SubmittedForm {
    pub tenant: String,
    /// Of the form's normalised content, as stored.
    pub content_digest: String,
    pub form: jixiao_form::Form,
    /// The form encoded as intake stored it (a `jixiao.v1.Form`), handed
    /// over when the queue carries forms encoded
    /// ([`JobQueue::carries_encoded_forms`]), so it is not encoded twice.
    /// A form read from an entry comes without it.
    pub stored_encoding: Option<Vec<u8>>,
}

impl fmt::Debug for SubmittedForm {
    // A whole form in a job's log line says too much.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubmittedForm")
            .field("tenant", &self.tenant)
            .field("content_digest", &self.content_digest)
            .finish_non_exhaustive()
    }
}

/// A job handed to a consumer; it stays pending until acked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The queue's id of this entry (a Redis stream id, or a counter).
    pub id: String,
    pub job: Job,
    /// 1 on the first delivery.
    pub deliveries: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue unavailable: {0}")]
    Unavailable(String),
}

/// What a queue holds, for operators (`jixiao queue`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Entries not yet delivered to any consumer.
    pub lag: u64,
    /// Delivered, not yet acked.
    pub pending: u64,
    /// Moved aside after too many failed deliveries.
    pub dead_letters: u64,
}

/// At-least-once job delivery. A consumer acks a delivery only after its result
/// is committed; unacked deliveries idle past a bound are reclaimed.
#[async_trait::async_trait]
pub trait JobQueue: Send + Sync + 'static {
    async fn enqueue(&self, jobs: Vec<Job>) -> Result<(), QueueError>;
    /// Up to `max` deliveries for `consumer`, waiting at most `wait` for the first.
    async fn next_batch(
        &self,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Delivery>, QueueError>;
    async fn ack(&self, ids: &[String]) -> Result<(), QueueError>;
    /// Takes over deliveries unacked for at least `min_idle`.
    async fn reclaim(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<Delivery>, QueueError>;
    /// Jobs waiting plus deliveries pending.
    async fn depth(&self) -> Result<(usize, usize), QueueError>;
    /// Waits up to `within` until the queue has room for more jobs; false if
    /// it still has none. Queues are bounded so that the backlog cannot
    /// grow the server's (or Redis's) memory without end.
    async fn room(&self, within: Duration) -> bool;
    /// Whether an entry carries its form encoded: then intake hands over the
    /// encoding it stored ([`SubmittedForm::stored_encoding`]).
    fn carries_encoded_forms(&self) -> bool;
}
