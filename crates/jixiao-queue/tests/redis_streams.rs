//! The Redis Streams queue against the real Redis on 127.0.0.1:6379
//! (`JIXIAO_TEST_REDIS_URL` overrides). Each test uses its own key prefix and
//! deletes only its own keys. A missing Redis fails these tests.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use std::sync::Arc;

use prost::Message;

use jixiao_queue::{Job, JobQueue, RedisEventStream, RedisQueue, RedisQueueOptions, SubmittedForm};

static NEXT: AtomicU32 = AtomicU32::new(0);

fn url() -> String {
    std::env::var("JIXIAO_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn prefix() -> String {
    format!(
        "jixiao-test:{}:{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

async fn queue(prefix: &str, max_deliveries: u32) -> RedisQueue {
    queue_of(prefix, max_deliveries, 100).await
}

async fn queue_of(prefix: &str, max_deliveries: u32, capacity: usize) -> RedisQueue {
    RedisQueue::connect(
        &url(),
        RedisQueueOptions {
            prefix: prefix.to_string(),
            group: "scoring".into(),
            max_deliveries,
            capacity,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("Redis at {} is required for this test: {e}", url()))
}

async fn cleanup(prefix: &str) {
    let client = redis::Client::open(url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(format!("{prefix}:scoring-jobs"))
        .arg(format!("{prefix}:scoring-jobs:dead"))
        .query_async(&mut c)
        .await
        .unwrap();
}

async fn stream_len(key: &str) -> u64 {
    let client = redis::Client::open(url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("XLEN")
        .arg(key)
        .query_async(&mut c)
        .await
        .unwrap()
}

fn job(n: u32) -> Job {
    Job {
        submission_id: format!("sub_{n}"),
        rulebook_id: "cn-national-default".into(),
        // Trace context travels with the job through the stream.
        trace_context: format!("00-{:032x}-{:016x}-01", n + 1, n + 1),
        form: None,
    }
}

const WAIT: Duration = Duration::from_millis(100);

#[tokio::test]
async fn jobs_are_delivered_once_to_the_group_and_forgotten_when_acked() {
    let p = prefix();
    let q = queue(&p, 5).await;
    q.enqueue(vec![job(1), job(2), job(3)]).await.unwrap();
    let a = q.next_batch("w1", 2, WAIT).await.unwrap();
    let a = if a.is_empty() {
        q.next_batch("w1", 2, WAIT).await.unwrap()
    } else {
        a
    };
    let b = q.next_batch("w2", 10, WAIT).await.unwrap();
    let b = if b.is_empty() {
        q.next_batch("w2", 10, WAIT).await.unwrap()
    } else {
        b
    };
    let mut seen: Vec<String> = a
        .iter()
        .chain(&b)
        .map(|d| d.job.submission_id.clone())
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        ["sub_1", "sub_2", "sub_3"],
        "each job to exactly one consumer"
    );
    assert!(a.iter().chain(&b).all(|d| d.deliveries == 1));
    assert_eq!(q.depth().await.unwrap(), (0, 3));
    let ids: Vec<String> = a.iter().chain(&b).map(|d| d.id.clone()).collect();
    q.ack(&ids).await.unwrap();
    assert_eq!(q.depth().await.unwrap(), (0, 0));
    // Acked entries are deleted: the stream keeps only work still to do.
    assert_eq!(stream_len(&format!("{p}:scoring-jobs")).await, 0);
    cleanup(&p).await;
}

#[tokio::test]
async fn a_restarted_worker_takes_back_its_own_pending_entries_first() {
    let p = prefix();
    let q = queue(&p, 5).await;
    q.enqueue(vec![job(1)]).await.unwrap();
    let mut first = q.next_batch("w1", 10, WAIT).await.unwrap();
    if first.is_empty() {
        first = q.next_batch("w1", 10, WAIT).await.unwrap();
    }
    assert_eq!(first.len(), 1);
    // The process dies before acking; a new one with the same consumer name starts.
    drop(q);
    let again = queue(&p, 5).await;
    let back = again.next_batch("w1", 10, WAIT).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].id, first[0].id);
    assert_eq!(back[0].deliveries, 2);
    again.ack(&[back[0].id.clone()]).await.unwrap();
    assert!(again.next_batch("w1", 10, WAIT).await.unwrap().is_empty());
    cleanup(&p).await;
}

#[tokio::test]
async fn idle_entries_are_reclaimed_and_dead_lettered_after_too_many_deliveries() {
    let p = prefix();
    let q = queue(&p, 2).await;
    q.enqueue(vec![job(7)]).await.unwrap();
    let mut d = q.next_batch("w1", 10, WAIT).await.unwrap();
    if d.is_empty() {
        d = q.next_batch("w1", 10, WAIT).await.unwrap();
    }
    assert_eq!(d[0].deliveries, 1);
    // Not idle long enough: nothing to take over.
    assert!(q
        .reclaim("w2", Duration::from_secs(60), 10)
        .await
        .unwrap()
        .is_empty());
    let r = q.reclaim("w2", Duration::ZERO, 10).await.unwrap();
    assert_eq!((r.len(), r[0].deliveries), (1, 2));
    // A third delivery is one too many: the entry goes to the dead letters.
    assert!(q
        .reclaim("w3", Duration::ZERO, 10)
        .await
        .unwrap()
        .is_empty());
    let dead = q.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].1, job(7));
    let stats = q.stats().await.unwrap();
    assert_eq!((stats.pending, stats.dead_letters), (0, 1));
    // Replayed, it is a fresh job again.
    assert!(q.replay_dead_letter(&dead[0].0).await.unwrap());
    assert_eq!(q.stats().await.unwrap().dead_letters, 0);
    let again = q.next_batch("w4", 10, WAIT).await.unwrap();
    let again = if again.is_empty() {
        q.next_batch("w4", 10, WAIT).await.unwrap()
    } else {
        again
    };
    assert_eq!(again[0].job, job(7));
    cleanup(&p).await;
}

#[tokio::test]
async fn a_lost_stream_is_created_again() {
    let p = prefix();
    let q = queue(&p, 5).await;
    q.enqueue(vec![job(1)]).await.unwrap();
    // What FLUSHALL does to our keys (only ours: this is the shared server).
    cleanup(&p).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        got = q.next_batch("w1", 10, WAIT).await.unwrap();
    }
    assert!(
        got.is_empty(),
        "the lost job is not in Redis any more; the database relay re-enqueues it"
    );
    q.enqueue(vec![job(2)]).await.unwrap();
    let d = q.next_batch("w1", 10, WAIT).await.unwrap();
    assert_eq!(d[0].job, job(2));
    cleanup(&p).await;
}

#[tokio::test]
async fn events_are_mirrored_once_in_cursor_order_whoever_appends_first() {
    let p = prefix();
    let stream = RedisEventStream::connect(&url(), &p, 1000).await.unwrap();
    let event = |cursor: i64| (cursor, vec![("type", format!("event {cursor}"))]);
    assert_eq!(
        stream
            .append(&[event(1), event(2), event(3)])
            .await
            .unwrap(),
        3
    );
    // Another relaying process got to 2 and 3 first: only 4 and 5 are new.
    assert_eq!(
        stream
            .append(&[event(2), event(3), event(4), event(5)])
            .await
            .unwrap(),
        2
    );
    assert_eq!(stream.last_cursor().await.unwrap(), 5);
    assert_eq!(stream_len(stream.key()).await, 5);
    let client = redis::Client::open(url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(stream.key())
        .arg("-")
        .arg("+")
        .query_async(&mut c)
        .await
        .unwrap();
    let ids: Vec<&str> = entries.ids.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["1-0", "2-0", "3-0", "4-0", "5-0"]);
    let _: () = redis::cmd("DEL")
        .arg(stream.key())
        .query_async(&mut c)
        .await
        .unwrap();
}

/// Every form of both samples (defects, diagnostics and where each was
/// found) comes out of the stream as it went in: the worker scores what
/// intake stored without reading it back.
#[tokio::test]
async fn jobs_carry_their_forms_through_the_stream_unchanged() {
    let p = prefix();
    let q = queue(&p, 5).await;
    let mut jobs = Vec::new();
    for name in ["yueyang-gxj-2023.txt", "zhuzhou-gxj-2024.txt"] {
        let path = format!(
            "{}/../jixiao-parse/tests/samples/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let parsed = jixiao_parse::parse_text(name, &std::fs::read(path).unwrap()).unwrap();
        for mut form in parsed.forms {
            form.normalize_decimals();
            let n = jobs.len() as u32;
            // Every other job brings the encoding intake stored, which the
            // entry carries as it is; the others are encoded by the queue.
            let stored_encoding = n
                .is_multiple_of(2)
                .then(|| jixiao_proto::convert::form_to_proto(&form).encode_to_vec());
            jobs.push(Job {
                form: Some(Arc::new(SubmittedForm {
                    tenant: "湖南省/株洲市".into(),
                    content_digest: jixiao_form::content_digest(&form),
                    form,
                    stored_encoding,
                })),
                ..job(n)
            });
        }
    }
    assert!(jobs.len() >= 10, "{} forms in the samples", jobs.len());
    q.enqueue(jobs.clone()).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.extend(q.next_batch("w1", 100, WAIT).await.unwrap());
    }
    let got: Vec<Job> = got.into_iter().map(|d| d.job).collect();
    assert_eq!(got.len(), jobs.len());
    for (got, sent) in got.iter().zip(&jobs) {
        let id = &sent.submission_id;
        assert_eq!(got.submission_id, *id);
        assert_eq!(got.rulebook_id, sent.rulebook_id, "{id}");
        let (g, s) = (got.form.as_ref().unwrap(), sent.form.as_ref().unwrap());
        assert_eq!(
            (&g.tenant, &g.content_digest, &g.form),
            (&s.tenant, &s.content_digest, &s.form),
            "{id}"
        );
        assert_eq!(g.form.origin, s.form.origin, "{id}");
        assert_eq!(
            g.stored_encoding, None,
            "{id}: a read form brings no encoding"
        );
    }
    cleanup(&p).await;
}

/// Entries carry forms, so the stream is bounded: past its capacity intake
/// waits for room, which an ack makes.
#[tokio::test]
async fn a_full_stream_has_no_room_until_jobs_are_acked() {
    let p = prefix();
    let q = queue_of(&p, 5, 2).await;
    assert!(q.room(Duration::ZERO).await);
    q.enqueue(vec![job(1), job(2)]).await.unwrap();
    assert!(!q.room(Duration::from_millis(60)).await, "two of two");
    let mut d = q.next_batch("w1", 1, WAIT).await.unwrap();
    if d.is_empty() {
        d = q.next_batch("w1", 1, WAIT).await.unwrap();
    }
    assert!(
        !q.room(Duration::ZERO).await,
        "a delivery still pending takes room"
    );
    q.ack(&[d[0].id.clone()]).await.unwrap();
    assert!(q.room(Duration::ZERO).await);
    cleanup(&p).await;
}
