//! One trace from the request to the audit: intake's SubmitForm, the scoring
//! batch taken from the queue, the worker's GetSubmissions call to intake and its
//! AuditSubmissions call to audit all share one trace id (spans exported to an
//! in-memory OpenTelemetry exporter). Its own test binary: it installs the
//! process's tracing subscriber.

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

    let server = TestServer::start(fresh_dir("trace")).await;
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
    server.stop().await;
    provider.force_flush().unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let by_name = |name: &str| -> Vec<&opentelemetry_sdk::trace::SpanData> {
        spans.iter().filter(|s| s.name == name).collect()
    };
    let submit = by_name("jixiao.v1.IntakeService/SubmitForm");
    assert_eq!(
        submit.len(),
        1,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let trace = submit[0].span_context.trace_id();
    let job = by_name("score batch");
    assert!(!job.is_empty());
    let get = by_name("jixiao.v1.IntakeService/GetSubmissions");
    let audit = by_name("jixiao.v1.AuditService/AuditSubmissions");
    for (what, found) in [
        ("score batch", &job),
        ("GetSubmissions", &get),
        ("AuditSubmissions", &audit),
    ] {
        assert!(
            found.iter().any(|s| s.span_context.trace_id() == trace),
            "{what} is not in the SubmitForm trace"
        );
    }
    // Parent links: the job follows the request; the worker's calls follow the job.
    let ids: HashMap<_, _> = spans
        .iter()
        .map(|s| (s.span_context.span_id(), s.name.to_string()))
        .collect();
    let job = job
        .iter()
        .find(|s| s.span_context.trace_id() == trace)
        .unwrap();
    assert_eq!(job.parent_span_id, submit[0].span_context.span_id());
    let audit = audit
        .iter()
        .find(|s| s.span_context.trace_id() == trace)
        .unwrap();
    assert!(audit.parent_span_is_remote, "the audit call came over gRPC");
    assert_eq!(
        audit.parent_span_id,
        job.span_context.span_id(),
        "{:?}",
        ids.get(&audit.parent_span_id)
    );
}
