//! The scale-out backends, really exercised: PostgreSQL for storage and Redis
//! Streams for the scoring queue (a key prefix of the test's own).

mod common;

use common::{
    events_until, fresh_dir, fresh_postgres, redis_for_test, yueyang_radio_form, TestServer,
};
use jixiao_proto::v1::{
    self, intake_service_client::IntakeServiceClient, scoring_service_client::ScoringServiceClient,
};

#[tokio::test]
async fn the_pipeline_on_postgresql_and_redis_streams() {
    let database = fresh_postgres("scaleout").await;
    let (redis, prefix) = redis_for_test("scaleout");
    let server = TestServer::start_with(
        fresh_dir("scaleout"),
        &[
            ("database_url", database),
            ("redis_url", redis.clone()),
            ("redis_prefix", prefix.clone()),
        ],
    )
    .await;
    let ch = server.channel().await;
    let mut intake = IntakeServiceClient::new(ch.clone());
    let mut ids = Vec::new();
    for n in 0..20 {
        let mut form = yueyang_radio_form();
        form.project_name = format!("无线电管理经费 {n}");
        let reply = intake
            .submit_form(v1::SubmitFormRequest {
                tenant: "湖南省/岳阳市".into(),
                form: Some(form),
                rulebook_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        ids.push(reply.submission.unwrap().id);
    }
    for id in &ids {
        events_until(ch.clone(), id, v1::EventType::Audited).await;
    }
    let card = ScoringServiceClient::new(ch)
        .get_score_card(v1::GetScoreCardRequest {
            submission_id: ids[0].clone(),
            rulebook_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(card.recomputed_total, "96.34");

    // Every job went through the stream and was acked.
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    // Dashboards read the events from a Redis stream too, ids = WatchEvents cursors:
    // 20 forms × received, scored, audited.
    let events_key = format!("{prefix}:events");
    let mut mirrored = 0u64;
    for _ in 0..50 {
        mirrored = redis::cmd("XLEN")
            .arg(&events_key)
            .query_async(&mut c)
            .await
            .unwrap();
        if mirrored >= 60 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(mirrored, 60, "events in {events_key}");
    let first: redis::Value = redis::cmd("XRANGE")
        .arg(&events_key)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(
        format!("{first:?}").contains("1-0") && format!("{first:?}").contains("received"),
        "{first:?}"
    );
    let stream = format!("{prefix}:scoring-jobs");
    let groups: redis::streams::StreamInfoGroupsReply = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(&stream)
        .query_async(&mut c)
        .await
        .unwrap();
    let read = groups.groups[0].entries_read.unwrap_or(0);
    assert!(read >= 20, "the group read {read} entries of {stream}");
    // Acked entries are deleted from the stream.
    let len: u64 = redis::cmd("XLEN")
        .arg(&stream)
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(len, 0, "entries left in {stream}");
    let pending: redis::Value = redis::cmd("XPENDING")
        .arg(&stream)
        .arg("scoring")
        .query_async(&mut c)
        .await
        .unwrap();
    match pending {
        redis::Value::Array(v) => assert_eq!(
            v.first(),
            Some(&redis::Value::Int(0)),
            "nothing left unacked"
        ),
        other => panic!("{other:?}"),
    }
    server.stop().await;
    let _: () = redis::cmd("DEL")
        .arg(&stream)
        .arg(format!("{stream}:dead"))
        .arg(&events_key)
        .query_async(&mut c)
        .await
        .unwrap();
}

/// A redis-server of this test's own on a free port: FLUSHALL never touches the shared one.
struct PrivateRedis {
    child: std::process::Child,
    url: String,
}

impl PrivateRedis {
    async fn start() -> PrivateRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed for this test");
        // The guard first: on every path from here the child is killed and reaped.
        let redis = PrivateRedis {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        };
        let client = redis::Client::open(redis.url.as_str()).unwrap();
        for _ in 0..100 {
            if let Ok(mut c) = client.get_multiplexed_async_connection().await {
                if redis::cmd("PING")
                    .query_async::<String>(&mut c)
                    .await
                    .is_ok()
                {
                    return redis;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("private redis-server on {port} did not start");
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn redis_flushed_mid_batch_every_form_still_scored_none_twice() {
    use futures::StreamExt;
    const FORMS: usize = 300;
    let redis = PrivateRedis::start().await;
    let database = fresh_postgres("flushall").await;
    let server = TestServer::start_with(
        fresh_dir("flushall"),
        &[
            ("database_url", database),
            ("redis_url", redis.url.clone()),
            ("worker.relay_interval_secs", "1".into()),
            ("worker.batch_size", "10".into()),
        ],
    )
    .await;
    let ch = server.channel().await;
    let requests: Vec<v1::SubmitFormRequest> = (0..FORMS)
        .map(|n| {
            let mut form = yueyang_radio_form();
            form.project_name = format!("无线电管理经费 {n}");
            v1::SubmitFormRequest {
                tenant: "湖南省/岳阳市".into(),
                form: Some(form),
                rulebook_id: String::new(),
            }
        })
        .collect();
    let reply = IntakeServiceClient::new(ch.clone())
        .submit_batch(futures::stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.accepted as usize, FORMS);

    let mut events = jixiao_proto::v1::export_service_client::ExportServiceClient::new(ch.clone())
        .watch_events(v1::WatchEventsRequest {
            types: vec![v1::EventType::Scored as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut scored: std::collections::HashMap<String, u32> = Default::default();
    let mut flushed = false;
    while scored.len() < FORMS {
        let e = tokio::time::timeout(std::time::Duration::from_secs(60), events.next())
            .await
            .unwrap_or_else(|_| panic!("no progress after {} of {FORMS}", scored.len()))
            .unwrap()
            .unwrap();
        *scored.entry(e.submission_id).or_default() += 1;
        if !flushed && scored.len() >= FORMS / 5 {
            let client = redis::Client::open(redis.url.as_str()).unwrap();
            let mut c = client.get_multiplexed_async_connection().await.unwrap();
            let _: () = redis::cmd("FLUSHALL").query_async(&mut c).await.unwrap();
            flushed = true;
        }
    }
    assert!(flushed);
    while let Ok(Some(Ok(e))) =
        tokio::time::timeout(std::time::Duration::from_secs(2), events.next()).await
    {
        *scored.entry(e.submission_id).or_default() += 1;
    }
    let twice: Vec<_> = scored.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "scored more than once: {twice:?}");
    server.stop().await;
}

/// A TCP proxy to PostgreSQL that the test can cut and restore.
struct Proxy {
    port: u16,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    connections: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: &'static str) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let connections: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>> =
            Default::default();
        let (o, conns) = (open.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !o.load(std::sync::atomic::Ordering::SeqCst) {
                    continue; // dropped: the database is "unreachable"
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                conns.lock().unwrap().push(task.abort_handle());
            }
        });
        Proxy {
            port,
            open,
            connections,
        }
    }

    fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        for c in self.connections.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn database_unreachable_intake_answers_unavailable_then_recovers_with_nothing_half_written() {
    let database = fresh_postgres("outage").await;
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let via_proxy = database.replace("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port));
    let server = TestServer::start_with(fresh_dir("outage"), &[("database_url", via_proxy)]).await;
    let mut intake = IntakeServiceClient::new(server.channel().await);
    let submit = |n: usize| {
        let mut form = yueyang_radio_form();
        form.project_name = format!("经费 {n}");
        v1::SubmitFormRequest {
            tenant: "湖南省/岳阳市".into(),
            form: Some(form),
            rulebook_id: String::new(),
        }
    };
    intake.submit_form(submit(1)).await.unwrap();

    proxy.cut();
    let err = intake.submit_form(submit(2)).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");

    proxy.restore();
    // The pool reconnects on its own; intake accepts again.
    let mut accepted = None;
    for _ in 0..50 {
        match intake.submit_form(submit(3)).await {
            Ok(r) => {
                accepted = Some(r.into_inner());
                break;
            }
            Err(e) => assert_eq!(e.code(), tonic::Code::Unavailable, "{e:?}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(accepted.is_some(), "intake did not recover");
    // The refused form was not half-written: only forms 1 and 3 are stored.
    let page = intake
        .list_submissions(v1::ListSubmissionsRequest {
            tenant: "湖南省/岳阳市".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut names: Vec<String> = page
        .submissions
        .iter()
        .map(|s| s.project_name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["经费 1", "经费 3"]);
    server.stop().await;
}
