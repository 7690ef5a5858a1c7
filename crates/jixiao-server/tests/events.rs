//! The live event stream: resumed after a disconnect with no gaps and no
//! repeats while forms keep arriving; a watcher behind the retained log is
//! told so explicitly; a stalled watcher holds nobody up.

mod common;

use std::time::Duration;

use common::{fresh_dir, yueyang_radio_form, TestServer};
use futures::StreamExt;
use jixiao_proto::v1::{
    self, export_service_client::ExportServiceClient, intake_service_client::IntakeServiceClient,
};
use tonic::transport::Channel;
use tonic::Code;
use tonic_types::StatusExt;

/// `n` distinct forms (the 岳阳 sample under numbered project names).
fn forms(from: usize, n: usize) -> Vec<v1::SubmitFormRequest> {
    (from..from + n)
        .map(|i| {
            let mut form = yueyang_radio_form();
            form.project_name = format!("无线电管理经费 第{i}批");
            v1::SubmitFormRequest {
                tenant: "湖南省/岳阳市".into(),
                form: Some(form),
                rulebook_id: String::new(),
            }
        })
        .collect()
}

async fn submit_batch(ch: &Channel, requests: Vec<v1::SubmitFormRequest>) {
    let n = requests.len() as u32;
    let r = IntakeServiceClient::new(ch.clone())
        .submit_batch(futures::stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.accepted, n);
}

async fn watch(ch: &Channel, after: u64) -> tonic::Streaming<v1::Event> {
    ExportServiceClient::new(ch.clone())
        .watch_events(v1::WatchEventsRequest {
            after_cursor: after,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

/// The next item of a stream, failing the test after 60 s rather than hanging it.
async fn next_within(
    stream: &mut tonic::Streaming<v1::Event>,
) -> Option<Result<v1::Event, tonic::Status>> {
    tokio::time::timeout(Duration::from_secs(60), stream.next())
        .await
        .expect("the stream moves within 60 s")
}

/// Reads until `count` audited events have been seen in total (`seen` counts
/// those already had); `None` on the deadline.
async fn read_until_audited(
    stream: &mut tonic::Streaming<v1::Event>,
    out: &mut Vec<v1::Event>,
    count: usize,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while out
        .iter()
        .filter(|e| e.r#type == v1::EventType::Audited as i32)
        .count()
        < count
    {
        let e = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("events within 60 s")
            .expect("the stream goes on")
            .unwrap();
        out.push(e);
    }
}

#[tokio::test]
async fn a_watcher_that_reconnects_misses_nothing_and_sees_nothing_twice() {
    let server = TestServer::start(fresh_dir("events-resume")).await;
    let ch = server.channel().await;
    let mut stream = watch(&ch, 0).await;
    // Forms keep arriving while the client disconnects and reconnects.
    let writer = {
        let ch = ch.clone();
        tokio::spawn(async move {
            for round in 0..4 {
                submit_batch(&ch, forms(round * 25, 25)).await;
            }
        })
    };
    let mut seen = Vec::new();
    for _ in 0..70 {
        seen.push(next_within(&mut stream).await.unwrap().unwrap());
    }
    drop(stream);
    let mut resumed = watch(&ch, seen.last().unwrap().cursor).await;
    read_until_audited(&mut resumed, &mut seen, 100).await;
    writer.await.unwrap();

    // Every submission's received → scored → audited, each event once, in order.
    let cursors: Vec<u64> = seen.iter().map(|e| e.cursor).collect();
    assert!(
        cursors.windows(2).all(|w| w[0] < w[1]),
        "in order, no repeats"
    );
    let mut from_zero = Vec::new();
    let mut again = watch(&ch, 0).await;
    read_until_audited(&mut again, &mut from_zero, 100).await;
    assert_eq!(
        seen, from_zero,
        "the reconnected watcher saw exactly the log"
    );
    assert_eq!(seen.len(), 300);
    server.stop().await;
}

/// Waits until `n` submissions are audited (by the batch summary, which no
/// trimming of the event log affects).
async fn wait_until_audited(ch: &Channel, n: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let summary = ExportServiceClient::new(ch.clone())
            .get_batch_summary(v1::GetBatchSummaryRequest {
                tenant: "湖南省/岳阳市".into(),
                status: v1::SubmissionStatus::Audited as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let summary_forms = summary.overall.unwrap().forms;
        if summary_forms == n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} forms audited within 60 s, not {}",
            summary_forms
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until a watch from `cursor` is refused as behind the log; returns the status.
async fn refused_once_trimmed(ch: &Channel, cursor: u64) -> tonic::Status {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = ExportServiceClient::new(ch.clone())
            .watch_events(v1::WatchEventsRequest {
                after_cursor: cursor,
                ..Default::default()
            })
            .await;
        if let Err(status) = r {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the log was not trimmed past cursor {cursor}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_cursor_behind_the_retained_log_is_refused_with_where_to_resume() {
    let server = TestServer::start_with(
        fresh_dir("events-trim"),
        &[
            ("events.retain", "5".into()),
            ("events.trim_interval_secs", "1".into()),
        ],
    )
    .await;
    let ch = server.channel().await;
    submit_batch(&ch, forms(0, 4)).await;
    let mut all = Vec::new();
    read_until_audited(&mut watch(&ch, 0).await, &mut all, 4).await;
    assert_eq!(all.len(), 12);

    // Refused once the trim after the 12th event ran (one in mid-run leaves
    // the mark lower).
    let status = refused_once_trimmed(&ch, all[5].cursor).await;
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    let info = status.get_details_error_info().expect("ErrorInfo details");
    assert_eq!(info.reason, "EVENTS_TRIMMED");
    let oldest: u64 = info.metadata["oldest_resumable_cursor"].parse().unwrap();
    // The newest 5 of the 12 events are kept.
    assert_eq!(oldest, all[6].cursor);
    assert!(
        status.message().contains("resynchronise"),
        "{}",
        status.message()
    );
    // From where it says, the rest of the log follows in order.
    let mut rest = watch(&ch, oldest).await;
    let mut kept = Vec::new();
    for _ in 0..5 {
        kept.push(next_within(&mut rest).await.unwrap().unwrap());
    }
    assert_eq!(kept, all[7..].to_vec());
    server.stop().await;
}

#[tokio::test]
async fn a_stalled_watcher_holds_up_no_intake_and_learns_it_fell_behind() {
    let server = TestServer::start_with(
        fresh_dir("events-stall"),
        &[
            ("events.retain", "50".into()),
            ("events.trim_interval_secs", "1".into()),
        ],
    )
    .await;
    let ch = server.channel().await;
    // A slow dashboard on a connection of its own (a stalled HTTP/2 stream
    // holds its connection's window) with small windows, so that the server
    // soon has to wait for it.
    let slow = tonic::transport::Endpoint::from_shared(server.url())
        .unwrap()
        .initial_stream_window_size(Some(16 * 1024))
        .initial_connection_window_size(Some(16 * 1024))
        .connect()
        .await
        .unwrap();
    let mut stalled = watch(&slow, 0).await;
    submit_batch(&ch, forms(0, 1)).await;
    let first = next_within(&mut stalled).await.unwrap().unwrap();
    // The watcher stops reading; 1,000 forms (3,000 events) go through the
    // whole pipeline anyway. The watch holds one page of 500 events and the
    // queue, tonic's and h2's buffers and the 16 KiB window take a few hundred
    // more; with fewer forms a fast pipeline could finish before the watch
    // blocks, and the watcher would rightly see every event.
    submit_batch(&ch, forms(1, 1000)).await;
    wait_until_audited(&ch, 1001).await;
    // Waits for the trim after the last of the 3,003 events: a trim in mid-run
    // may leave the mark below where the watch had read to, and the watcher
    // would then catch up without a gap and rightly never fall behind.
    let newest = first.cursor + 3 * 1001 - 1;
    refused_once_trimmed(&ch, newest - 50 - 1).await;

    // What was already on its way arrives in order without gaps, then the
    // stream ends with the explicit error, never with a silent jump.
    let mut last = first.cursor;
    let end = loop {
        match next_within(&mut stalled).await {
            Some(Ok(e)) => {
                assert_eq!(e.cursor, last + 1, "no gap");
                last = e.cursor;
            }
            Some(Err(status)) => break status,
            None => panic!("the stream ended without saying it fell behind"),
        }
    };
    assert_eq!(end.code(), Code::OutOfRange, "{end:?}");
    let info = end.get_details_error_info().expect("ErrorInfo details");
    let oldest: u64 = info.metadata["oldest_resumable_cursor"].parse().unwrap();
    assert!(last < oldest, "it stopped where the log was trimmed");
    server.stop().await;
}
