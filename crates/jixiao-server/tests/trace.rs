//! One trace from the request to the audit: intake's SubmitForm, the scoring
//! batch taken from the queue, the worker's GetSubmissions call to intake and
//! the audit all share one trace id (spans exported to an in-memory
//! OpenTelemetry exporter). With every role in one process the worker calls
//! intake directly and stores the findings with the scorecards; told to reach
//! them at an address, it calls GetSubmissions and AuditSubmissions over gRPC.
//! Its own test binary: it installs the process's tracing subscriber.

mod common;

use std::collections::HashMap;

use common::{events_until, fresh_dir, yueyang_radio_form, TestServer};
use jixiao_proto::v1::{self, intake_service_client::IntakeServiceClient};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test]
async fn one_trace_spans_intake_queue_scoring_and_audit() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    tracing::subscriber::set_global_default(subscriber).unwrap();

    // All roles in one process: the worker calls intake and audit directly.
    let server = TestServer::start(fresh_dir("trace")).await;
    let id = submit_and_wait(&server).await;
    server.stop().await;
    provider.force_flush().unwrap();
    check_trace(&exporter.get_finished_spans().unwrap(), &id, false);

    // The same process told to reach them at its own address: over gRPC,
    // the trace context travels in the metadata.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let own = format!("http://127.0.0.1:{port}");
    let server = TestServer::start_with(
        fresh_dir("trace_remote"),
        &[
            ("listen", format!("127.0.0.1:{port}")),
            ("peers.intake", own.clone()),
            ("peers.audit", own),
        ],
    )
    .await;
    let id = submit_and_wait(&server).await;
    server.stop().await;
    provider.force_flush().unwrap();
    check_trace(&exporter.get_finished_spans().unwrap(), &id, true);
}

/// Submits a form and waits for its audit; returns its submission id.
async fn submit_and_wait(server: &TestServer) -> String {
    let ch = server.channel().await;
    let id = IntakeServiceClient::new(ch.clone())
        .submit_form(v1::SubmitFormRequest {
            tenant: "湖南省/岳阳市".into(),
            form: Some(yueyang_radio_form()),
            rulebook_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .submission
        .unwrap()
        .id;
    events_until(ch.clone(), &id, v1::EventType::Audited).await;
    id
}

fn check_trace(spans: &[opentelemetry_sdk::trace::SpanData], submission: &str, remote: bool) {
    let by_name = |name: &str| -> Vec<&opentelemetry_sdk::trace::SpanData> {
        spans.iter().filter(|s| s.name == name).collect()
    };
    // Each server is fresh, so the newest SubmitForm span is this one's.
    let submit = by_name("jixiao.v1.IntakeService/SubmitForm");
    let Some(submit) = submit.last() else {
        panic!(
            "no SubmitForm span for {submission}: {:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        )
    };
    let trace = submit.span_context.trace_id();
    let in_trace = |name: &str| -> Vec<&opentelemetry_sdk::trace::SpanData> {
        by_name(name)
            .into_iter()
            .filter(|s| s.span_context.trace_id() == trace)
            .collect()
    };
    let job = in_trace("score batch");
    let get = in_trace("jixiao.v1.IntakeService/GetSubmissions");
    let audit_step = if remote {
        "jixiao.v1.AuditService/AuditSubmissions"
    } else {
        "store scorecards and findings"
    };
    let audit = in_trace(audit_step);
    for (what, found) in [("score batch", &job), (audit_step, &audit)] {
        assert!(!found.is_empty(), "{what} is not in the SubmitForm trace");
    }
    // The in-process queue hands the worker the form with the job, with
    // intake's peer remote or not: nothing to read back.
    assert!(get.is_empty(), "GetSubmissions in the SubmitForm trace");
    // Parent links: the job follows the request; the worker's call to audit
    // (or its store step) follows the job.
    let ids: HashMap<_, _> = spans
        .iter()
        .map(|s| (s.span_context.span_id(), s.name.to_string()))
        .collect();
    assert_eq!(job[0].parent_span_id, submit.span_context.span_id());
    let call = audit[0];
    assert_eq!(
        call.parent_span_is_remote, remote,
        "{} came over gRPC: {}",
        call.name, call.parent_span_is_remote
    );
    assert_eq!(
        call.parent_span_id,
        job[0].span_context.span_id(),
        "{}: {:?}",
        call.name,
        ids.get(&call.parent_span_id)
    );
}
