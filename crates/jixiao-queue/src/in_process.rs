use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::{Delivery, Job, JobQueue, QueueError};

struct Pending {
    job: Job,
    consumer: String,
    delivered_at: Instant,
    deliveries: u32,
}

#[derive(Default)]
struct State {
    next_id: u64,
    ready: VecDeque<(String, Job, u32)>,
    pending: HashMap<String, Pending>,
}

/// The embedded queue: memory only. Durability comes from the `scoring_jobs`
/// table, from which the server refills the queue at start.
pub struct InProcessQueue {
    state: Mutex<State>,
    ready: Notify,
    /// Jobs waiting past which [`JobQueue::room`] says there is none.
    capacity: usize,
    /// Woken whenever jobs are taken.
    drained: Notify,
}

/// Jobs the embedded queue holds before intake waits. Each carries its form
/// (~15 KiB in memory), so ~60 MiB; two seconds of scoring at this
/// machine's pace. Unbounded, a 1,000,000-form run grew the server to
/// 476 MiB as intake outran scoring (BENCHMARKS.md).
pub const IN_PROCESS_CAPACITY: usize = 4_096;

impl Default for InProcessQueue {
    fn default() -> Self {
        Self::with_capacity(IN_PROCESS_CAPACITY)
    }
}

impl InProcessQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// A queue that has room while fewer than `capacity` jobs wait. A batch
    /// enqueued with room goes in whole, so the bound is passed by at most
    /// the batches enqueued together.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            state: Mutex::default(),
            ready: Notify::new(),
            capacity,
            drained: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated: recover it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(&self, consumer: &str, max: usize) -> Vec<Delivery> {
        let mut s = self.lock();
        let n = max.min(s.ready.len());
        let now = Instant::now();
        let taken: Vec<_> = s.ready.drain(..n).collect();
        if n > 0 {
            self.drained.notify_waiters();
        }
        taken
            .into_iter()
            .map(|(id, job, previous)| {
                let deliveries = previous + 1;
                s.pending.insert(
                    id.clone(),
                    Pending {
                        job: job.clone(),
                        consumer: consumer.to_string(),
                        delivered_at: now,
                        deliveries,
                    },
                );
                Delivery {
                    id,
                    job,
                    deliveries,
                }
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl JobQueue for InProcessQueue {
    async fn enqueue(&self, jobs: Vec<Job>) -> Result<(), QueueError> {
        {
            let mut s = self.lock();
            for job in jobs {
                s.next_id += 1;
                let id = s.next_id.to_string();
                s.ready.push_back((id, job, 0));
            }
        }
        self.ready.notify_waiters();
        self.ready.notify_one();
        Ok(())
    }

    async fn next_batch(
        &self,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.ready.notified();
            let batch = self.take(consumer, max);
            if !batch.is_empty() {
                return Ok(batch);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }

    async fn ack(&self, ids: &[String]) -> Result<(), QueueError> {
        let mut s = self.lock();
        for id in ids {
            s.pending.remove(id);
        }
        Ok(())
    }

    async fn reclaim(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<Delivery>, QueueError> {
        let mut s = self.lock();
        let now = Instant::now();
        let mut idle: Vec<(u64, String)> = s
            .pending
            .iter()
            .filter(|(_, p)| now.duration_since(p.delivered_at) >= min_idle)
            .map(|(id, _)| (id.parse().unwrap_or(u64::MAX), id.clone()))
            .collect();
        idle.sort_unstable();
        idle.truncate(max);
        Ok(idle
            .into_iter()
            .filter_map(|(_, id)| {
                let p = s.pending.get_mut(&id)?;
                p.consumer = consumer.to_string();
                p.delivered_at = now;
                p.deliveries += 1;
                Some(Delivery {
                    id,
                    job: p.job.clone(),
                    deliveries: p.deliveries,
                })
            })
            .collect())
    }

    async fn depth(&self) -> Result<(usize, usize), QueueError> {
        let s = self.lock();
        Ok((s.ready.len(), s.pending.len()))
    }

    fn carries_encoded_forms(&self) -> bool {
        false
    }

    async fn room(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let drained = self.drained.notified();
            if self.lock().ready.len() < self.capacity {
                return true;
            }
            if tokio::time::timeout_at(deadline, drained).await.is_err() {
                return false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(n: u32) -> Job {
        Job {
            submission_id: format!("s{n}"),
            rulebook_id: "rb".into(),
            trace_context: String::new(),
            form: None,
        }
    }

    #[tokio::test]
    async fn delivers_in_order_and_forgets_acked() {
        let q = InProcessQueue::new();
        q.enqueue(vec![job(1), job(2), job(3)]).await.unwrap();
        let b = q
            .next_batch("w1", 2, Duration::from_millis(10))
            .await
            .unwrap();
        assert_eq!(
            b.iter()
                .map(|d| d.job.submission_id.as_str())
                .collect::<Vec<_>>(),
            ["s1", "s2"]
        );
        assert_eq!(q.depth().await.unwrap(), (1, 2));
        q.ack(&[b[0].id.clone(), b[1].id.clone()]).await.unwrap();
        assert_eq!(q.depth().await.unwrap(), (1, 0));
    }

    #[tokio::test]
    async fn unacked_deliveries_are_reclaimed_with_a_count() {
        let q = InProcessQueue::new();
        q.enqueue(vec![job(1)]).await.unwrap();
        let first = q
            .next_batch("w1", 10, Duration::from_millis(10))
            .await
            .unwrap();
        assert!(q
            .reclaim("w2", Duration::from_secs(60), 10)
            .await
            .unwrap()
            .is_empty());
        let again = q.reclaim("w2", Duration::ZERO, 10).await.unwrap();
        assert_eq!(again[0].id, first[0].id);
        assert_eq!(again[0].deliveries, 2);
    }

    #[tokio::test]
    async fn a_full_queue_has_room_again_once_jobs_are_taken() {
        let q = std::sync::Arc::new(InProcessQueue::with_capacity(2));
        q.enqueue(vec![job(1)]).await.unwrap();
        assert!(q.room(Duration::ZERO).await);
        q.enqueue(vec![job(2), job(3)]).await.unwrap();
        assert!(!q.room(Duration::from_millis(20)).await, "3 wait, 2 fit");
        let waiter = {
            let q = q.clone();
            tokio::spawn(async move { q.room(Duration::from_secs(10)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        q.next_batch("w", 1, Duration::ZERO).await.unwrap();
        assert!(!q.room(Duration::ZERO).await, "still 2 waiting");
        q.next_batch("w", 1, Duration::ZERO).await.unwrap();
        assert!(waiter.await.unwrap(), "woken when one went");
    }

    #[tokio::test]
    async fn a_waiting_consumer_wakes_on_enqueue() {
        let q = std::sync::Arc::new(InProcessQueue::new());
        let waiter = {
            let q = q.clone();
            tokio::spawn(
                async move { q.next_batch("w", 1, Duration::from_secs(10)).await.unwrap() },
            )
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        q.enqueue(vec![job(7)]).await.unwrap();
        assert_eq!(waiter.await.unwrap()[0].job, job(7));
    }
}
