//! The scoring queue on Redis Streams: one stream, one consumer group shared by
//! every scoring worker, acks after commit, idle entries reclaimed with
//! XAUTOCLAIM, and entries delivered too often moved to a dead-letter stream.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jixiao_proto::convert::{form_from_proto, form_to_proto};
use jixiao_proto::v1;
use prost::Message;
use redis::aio::ConnectionManager;
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamPendingCountReply, StreamReadOptions,
    StreamReadReply,
};
use redis::AsyncCommands;
use tokio::sync::Mutex;

use crate::{Delivery, Job, JobQueue, QueueError, QueueStats, SubmittedForm};

#[derive(Debug, Clone)]
pub struct RedisQueueOptions {
    /// Prefix of every key, so deployments (and tests) share a server safely.
    pub prefix: String,
    pub group: String,
    /// Deliveries after which an entry goes to the dead-letter stream.
    pub max_deliveries: u32,
    /// Entries (waiting or pending) past which intake waits for room: each
    /// carries its form, so this bounds Redis's memory.
    pub capacity: usize,
}

impl Default for RedisQueueOptions {
    fn default() -> Self {
        Self {
            prefix: "jixiao".into(),
            group: "scoring".into(),
            max_deliveries: 5,
            capacity: crate::IN_PROCESS_CAPACITY,
        }
    }
}

/// How long a blocking read's answer may take (its BLOCK time plus slack).
const READ_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

pub struct RedisQueue {
    client: redis::Client,
    conn: ConnectionManager,
    /// Blocking reads get a connection per consumer: a BLOCK would stall every
    /// other command queued on a shared multiplexed connection.
    readers: Mutex<HashMap<String, ConnectionManager>>,
    /// Consumers that have drained their own pending entries since start.
    drained: Mutex<Vec<String>>,
    stream: String,
    dead: String,
    options: RedisQueueOptions,
}

fn unavailable(e: redis::RedisError) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

impl RedisQueue {
    /// Connects and makes sure the stream and its group exist.
    pub async fn connect(url: &str, options: RedisQueueOptions) -> Result<Self, QueueError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let conn = client.get_connection_manager().await.map_err(unavailable)?;
        let q = RedisQueue {
            stream: format!("{}:scoring-jobs", options.prefix),
            dead: format!("{}:scoring-jobs:dead", options.prefix),
            client,
            conn,
            readers: Mutex::new(HashMap::new()),
            drained: Mutex::new(Vec::new()),
            options,
        };
        q.ensure_group().await?;
        Ok(q)
    }

    /// The group is created from the start of the stream; after a FLUSHALL it is
    /// created again (the database relay re-enqueues what was lost).
    async fn ensure_group(&self) -> Result<(), QueueError> {
        let mut c = self.conn.clone();
        let r: redis::RedisResult<()> = c
            .xgroup_create_mkstream(&self.stream, &self.options.group, "0")
            .await;
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn reader(&self, consumer: &str) -> Result<ConnectionManager, QueueError> {
        let mut readers = self.readers.lock().await;
        if let Some(c) = readers.get(consumer) {
            return Ok(c.clone());
        }
        // A blocking read waits up to its BLOCK time: its answer may take longer
        // than the default response timeout (500 ms) without anything being wrong.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_response_timeout(Some(READ_RESPONSE_TIMEOUT));
        let c = self
            .client
            .get_connection_manager_with_config(config)
            .await
            .map_err(unavailable)?;
        readers.insert(consumer.to_string(), c.clone());
        Ok(c)
    }

    fn job_of(map: &HashMap<String, redis::Value>) -> Option<Job> {
        let field = |k: &str| match map.get(k)? {
            redis::Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
            redis::Value::SimpleString(s) => Some(s.clone()),
            _ => None,
        };
        let submission_id = field("submission")?;
        // An entry without its form (queued by a relay, or by a version
        // before forms travelled) is read back from the store.
        let form = match map.get(FORM_FIELD) {
            Some(redis::Value::BulkString(b)) => match carried_form(field, b) {
                Ok(f) => Some(Arc::new(f)),
                Err(e) => {
                    tracing::warn!(submission = %submission_id, error = %e, "a queued form does not read; it is read back from the store");
                    None
                }
            },
            _ => None,
        };
        Some(Job {
            submission_id,
            rulebook_id: field("rulebook").unwrap_or_default(),
            trace_context: field("trace").unwrap_or_default(),
            form,
        })
    }

    /// Acks entries and deletes them: the stream holds only what is still
    /// to be done, so Redis's memory follows the backlog, not the history.
    async fn settle(&self, ids: &[&str]) -> Result<(), QueueError> {
        let mut c = self.conn.clone();
        redis::pipe()
            .xack(&self.stream, &self.options.group, ids)
            .ignore()
            .xdel(&self.stream, ids)
            .ignore()
            .query_async::<()>(&mut c)
            .await
            .map_err(unavailable)
    }

    /// Delivery counts of entries, from XPENDING.
    async fn delivery_counts(&self, ids: &[String]) -> Result<HashMap<String, u32>, QueueError> {
        let mut counts = HashMap::new();
        let mut c = self.conn.clone();
        for id in ids {
            let reply: StreamPendingCountReply = c
                .xpending_count(&self.stream, &self.options.group, id, id, 1)
                .await
                .map_err(unavailable)?;
            if let Some(p) = reply.ids.first() {
                counts.insert(id.clone(), p.times_delivered as u32);
            }
        }
        Ok(counts)
    }

    /// Deliveries from stream entries; entries past `max_deliveries` go to the
    /// dead-letter stream and are acked, entries without a job are dropped.
    /// `first_delivery`: new entries (read with `>`), delivered once; otherwise
    /// the counts come from XPENDING.
    async fn deliveries(
        &self,
        entries: Vec<redis::streams::StreamId>,
        first_delivery: bool,
    ) -> Result<Vec<Delivery>, QueueError> {
        let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
        let counts = if first_delivery {
            HashMap::new()
        } else {
            self.delivery_counts(&ids).await?
        };
        let mut out = Vec::new();
        let mut c = self.conn.clone();
        for e in entries {
            let deliveries = counts.get(&e.id).copied().unwrap_or(1);
            match Self::job_of(&e.map) {
                Some(job) if deliveries <= self.options.max_deliveries => out.push(Delivery {
                    id: e.id,
                    job,
                    deliveries,
                }),
                Some(job) => {
                    tracing::warn!(submission = %job.submission_id, deliveries, "scoring job moved to the dead-letter stream");
                    let _: String = c
                        .xadd(
                            &self.dead,
                            "*",
                            &[
                                ("submission", job.submission_id.as_str()),
                                ("rulebook", job.rulebook_id.as_str()),
                                ("trace", job.trace_context.as_str()),
                                ("source_id", e.id.as_str()),
                                ("deliveries", &deliveries.to_string()),
                            ],
                        )
                        .await
                        .map_err(unavailable)?;
                    self.settle(&[&e.id]).await?;
                }
                None => self.settle(&[&e.id]).await?,
            }
        }
        Ok(out)
    }

    /// Dead letters, oldest first: (dead-letter id, job).
    pub async fn dead_letters(&self, max: usize) -> Result<Vec<(String, Job)>, QueueError> {
        let mut c = self.conn.clone();
        let reply: redis::streams::StreamRangeReply = c
            .xrange_count(&self.dead, "-", "+", max)
            .await
            .map_err(unavailable)?;
        Ok(reply
            .ids
            .into_iter()
            .filter_map(|e| Some((e.id.clone(), Self::job_of(&e.map)?)))
            .collect())
    }

    /// Puts a dead letter back on the queue.
    pub async fn replay_dead_letter(&self, id: &str) -> Result<bool, QueueError> {
        let letters = self.dead_letters(10_000).await?;
        let Some((_, job)) = letters.into_iter().find(|(i, _)| i == id) else {
            return Ok(false);
        };
        self.enqueue(vec![job]).await?;
        let mut c = self.conn.clone();
        let _: u64 = c.xdel(&self.dead, &[id]).await.map_err(unavailable)?;
        Ok(true)
    }

    pub async fn stats(&self) -> Result<QueueStats, QueueError> {
        let mut c = self.conn.clone();
        let groups: redis::streams::StreamInfoGroupsReply =
            c.xinfo_groups(&self.stream).await.map_err(unavailable)?;
        let group = groups.groups.iter().find(|g| g.name == self.options.group);
        let dead: u64 = c.xlen(&self.dead).await.map_err(unavailable)?;
        Ok(QueueStats {
            lag: group.and_then(|g| g.lag).unwrap_or(0) as u64,
            pending: group.map(|g| g.pending).unwrap_or(0) as u64,
            dead_letters: dead,
        })
    }
}

#[async_trait::async_trait]
impl JobQueue for RedisQueue {
    async fn enqueue(&self, jobs: Vec<Job>) -> Result<(), QueueError> {
        if jobs.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for job in &jobs {
            let cmd = pipe
                .cmd("XADD")
                .arg(&self.stream)
                .arg("*")
                .arg("submission")
                .arg(&job.submission_id)
                .arg("rulebook")
                .arg(&job.rulebook_id)
                .arg("trace")
                .arg(&job.trace_context);
            // The worker scores the form it is given instead of asking
            // intake to read it back from the database.
            if let Some(form) = &job.form {
                cmd.arg(TENANT_FIELD)
                    .arg(&form.tenant)
                    .arg(DIGEST_FIELD)
                    .arg(&form.content_digest)
                    .arg(FORM_FIELD);
                match &form.stored_encoding {
                    Some(bytes) => cmd.arg(bytes),
                    None => cmd.arg(form_to_proto(&form.form).encode_to_vec()),
                };
            }
            cmd.ignore();
        }
        let mut c = self.conn.clone();
        pipe.query_async::<()>(&mut c).await.map_err(unavailable)
    }

    async fn next_batch(
        &self,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        let mut c = self.reader(consumer).await?;
        // A restarted worker first takes back what it was given and never acked.
        let first = !self.drained.lock().await.iter().any(|d| d == consumer);
        let (id, opts) = if first {
            (
                "0",
                StreamReadOptions::default()
                    .group(&self.options.group, consumer)
                    .count(max),
            )
        } else {
            (
                ">",
                StreamReadOptions::default()
                    .group(&self.options.group, consumer)
                    .count(max)
                    .block(wait.min(READ_RESPONSE_TIMEOUT / 2).as_millis() as usize),
            )
        };
        let reply: redis::RedisResult<Option<StreamReadReply>> =
            c.xread_options(&[&self.stream], &[id], &opts).await;
        let reply = match reply {
            Ok(r) => r,
            // The stream or group vanished (FLUSHALL): create them again.
            Err(e) if e.code() == Some("NOGROUP") => {
                self.ensure_group().await?;
                return Ok(Vec::new());
            }
            Err(e) => return Err(unavailable(e)),
        };
        let entries: Vec<_> = reply
            .map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect())
            .unwrap_or_default();
        if first && entries.is_empty() {
            self.drained.lock().await.push(consumer.to_string());
        }
        // After the drain, entries come from `>`: their first delivery.
        self.deliveries(entries, !first).await
    }

    async fn ack(&self, ids: &[String]) -> Result<(), QueueError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.settle(&ids.iter().map(String::as_str).collect::<Vec<_>>())
            .await
    }

    async fn reclaim(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<Delivery>, QueueError> {
        let mut c = self.conn.clone();
        let reply: redis::RedisResult<StreamAutoClaimReply> = c
            .xautoclaim_options(
                &self.stream,
                &self.options.group,
                consumer,
                min_idle.as_millis() as u64,
                "0-0",
                StreamAutoClaimOptions::default().count(max),
            )
            .await;
        match reply {
            Ok(r) => self.deliveries(r.claimed, false).await,
            Err(e) if e.code() == Some("NOGROUP") => {
                self.ensure_group().await?;
                Ok(Vec::new())
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn depth(&self) -> Result<(usize, usize), QueueError> {
        let s = self.stats().await?;
        Ok((s.lag as usize, s.pending as usize))
    }

    fn carries_encoded_forms(&self) -> bool {
        true
    }

    /// Room while the stream (waiting plus pending: acked entries are
    /// deleted) is below its capacity. If Redis cannot say, there is room:
    /// the enqueue that follows fails and the outbox queues the jobs again.
    async fn room(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        let mut c = self.conn.clone();
        loop {
            match c.xlen::<_, usize>(&self.stream).await {
                Ok(n) if n >= self.options.capacity => {}
                _ => return true,
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return false;
            }
            tokio::time::sleep((deadline - now).min(ROOM_POLL)).await;
        }
    }
}

/// The entry fields holding a queued job's form.
const FORM_FIELD: &str = "form";
const TENANT_FIELD: &str = "tenant";
const DIGEST_FIELD: &str = "digest";
/// How often a full queue is asked again for room.
const ROOM_POLL: Duration = Duration::from_millis(20);

fn carried_form(
    field: impl Fn(&str) -> Option<String>,
    bytes: &[u8],
) -> Result<SubmittedForm, String> {
    let wire = v1::Form::decode(bytes).map_err(|e| e.to_string())?;
    Ok(SubmittedForm {
        tenant: field(TENANT_FIELD).ok_or("no tenant")?,
        content_digest: field(DIGEST_FIELD).ok_or("no content digest")?,
        form: form_from_proto(wire).map_err(|v| format!("{v:?}"))?,
        stored_encoding: None,
    })
}

/// The event log mirrored to a capped Redis stream (`<prefix>:events`) that
/// dashboards read with XREAD. Each entry's id is `<cursor>-0`, the event's
/// WatchEvents cursor: appends are in order and exactly once, even from several
/// relaying processes (Redis refuses an id not above the last).
pub struct RedisEventStream {
    conn: ConnectionManager,
    key: String,
    max_len: usize,
}

impl RedisEventStream {
    pub async fn connect(url: &str, prefix: &str, max_len: usize) -> Result<Self, QueueError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        Ok(Self {
            conn: client.get_connection_manager().await.map_err(unavailable)?,
            key: format!("{prefix}:events"),
            max_len,
        })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// The cursor of the newest event in the stream; 0 when it is empty.
    pub async fn last_cursor(&self) -> Result<i64, QueueError> {
        let mut c = self.conn.clone();
        let reply: redis::streams::StreamRangeReply = c
            .xrevrange_count(&self.key, "+", "-", 1)
            .await
            .map_err(unavailable)?;
        Ok(reply
            .ids
            .first()
            .and_then(|e| e.id.split('-').next())
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(0))
    }

    /// Appends events (cursor, fields) in cursor order, in one round trip;
    /// an event another process appended first is skipped.
    pub async fn append<V: redis::ToRedisArgs>(
        &self,
        events: &[(i64, Vec<(&'static str, V)>)],
    ) -> Result<usize, QueueError> {
        if events.is_empty() {
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for (cursor, fields) in events {
            pipe.xadd_maxlen(
                &self.key,
                redis::streams::StreamMaxlen::Approx(self.max_len),
                format!("{cursor}-0"),
                fields,
            );
        }
        let mut c = self.conn.clone();
        let replies: Vec<redis::RedisResult<String>> =
            pipe.query_async(&mut c).await.map_err(unavailable)?;
        let mut appended = 0;
        for r in replies {
            match r {
                Ok(_) => appended += 1,
                // "The ID specified in XADD is equal or smaller than the target stream top item".
                Err(e) if e.to_string().contains("equal or smaller") => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
        Ok(appended)
    }
}
