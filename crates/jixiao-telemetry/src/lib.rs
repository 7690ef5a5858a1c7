//! Observability shared by every service: W3C trace context carried across
//! gRPC calls and through the scoring queue, the OpenTelemetry (OTLP) tracer,
//! the Prometheus metrics, and the channel services call each other on (it
//! carries the internal token and the trace context).

pub mod metrics;

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tonic::metadata::{AsciiMetadataValue, MetadataKey};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C trace context of the current span (`traceparent`), empty when there is none.
pub fn current_traceparent() -> String {
    let cx = tracing::Span::current().context();
    let mut carrier: HashMap<String, String> = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove("traceparent").unwrap_or_default()
}

/// Makes `span` a child of the context in `traceparent` (from a queued job).
pub fn follow(span: &tracing::Span, traceparent: &str) {
    if traceparent.is_empty() {
        return;
    }
    let carrier: HashMap<String, String> =
        HashMap::from([("traceparent".to_string(), traceparent.to_string())]);
    let _ = span.set_parent(TraceContextPropagator::new().extract(&carrier));
}

/// Links `span` to the trace in `traceparent` (another job of the same batch).
pub fn link(span: &tracing::Span, traceparent: &str) {
    if traceparent.is_empty() {
        return;
    }
    let carrier: HashMap<String, String> =
        HashMap::from([("traceparent".to_string(), traceparent.to_string())]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    use opentelemetry::trace::TraceContextExt;
    span.add_link(cx.span().span_context().clone());
}

struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The span of one incoming RPC, a child of the caller's trace context if it sent one.
pub fn rpc_span(request: &http::Request<()>) -> tracing::Span {
    let span = tracing::info_span!(
        "rpc",
        otel.name = %request.uri().path().trim_start_matches('/'),
        rpc = %request.uri().path(),
    );
    let cx = TraceContextPropagator::new().extract(&Headers(request.headers()));
    let _ = span.set_parent(cx);
    span
}

struct Metadata<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for Metadata<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            AsciiMetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(k, v);
        }
    }
}

/// Adds what every call between services carries: the internal token (when
/// tokens are on) and the current trace context.
#[derive(Clone)]
pub struct PeerInterceptor {
    authorization: Option<AsciiMetadataValue>,
}

impl tonic::service::Interceptor for PeerInterceptor {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(a) = &self.authorization {
            request.metadata_mut().insert("authorization", a.clone());
        }
        let cx = tracing::Span::current().context();
        TraceContextPropagator::new().inject_context(&cx, &mut Metadata(request.metadata_mut()));
        Ok(request)
    }
}

/// A channel to another service (in this process or across hosts).
pub type PeerChannel = InterceptedService<Channel, PeerInterceptor>;

/// `channel` with a bearer token (the internal one between services, a user's
/// from the command line), if any, and trace context on every call.
pub fn peer(channel: Channel, token: Option<&str>) -> Result<PeerChannel, String> {
    let authorization = token
        .map(|t| {
            AsciiMetadataValue::try_from(format!("Bearer {t}"))
                .map_err(|_| "the token is not printable ASCII".to_string())
        })
        .transpose()?;
    Ok(InterceptedService::new(
        channel,
        PeerInterceptor { authorization },
    ))
}

/// When the caller's deadline (its `grpc-timeout`) runs out, for the calls
/// this request makes in turn.
pub fn deadline<T>(request: &tonic::Request<T>) -> Option<tokio::time::Instant> {
    let raw = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = raw.split_at(raw.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    let timeout = match unit {
        "H" => std::time::Duration::from_secs(n.checked_mul(3600)?),
        "M" => std::time::Duration::from_secs(n.checked_mul(60)?),
        "S" => std::time::Duration::from_secs(n),
        "m" => std::time::Duration::from_millis(n),
        "u" => std::time::Duration::from_micros(n),
        "n" => std::time::Duration::from_nanos(n),
        _ => return None,
    };
    tokio::time::Instant::now().checked_add(timeout)
}

/// The OTLP exporter as a tracing layer, with its provider (flushed at exit).
pub fn otlp_layer<S>(
    endpoint: &str,
    service_name: &str,
) -> Result<
    (
        tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>,
        SdkTracerProvider,
    ),
    String,
>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| format!("telemetry.otlp_endpoint {endpoint:?}: {e}"))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service_name.to_string())
                .build(),
        )
        .build();
    let tracer = provider.tracer("jixiao");
    Ok((tracing_opentelemetry::layer().with_tracer(tracer), provider))
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_span_no_trace_context() {
        assert_eq!(super::current_traceparent(), "");
    }

    #[test]
    fn deadlines_are_read_from_grpc_timeout() {
        let mut r = tonic::Request::new(());
        assert!(super::deadline(&r).is_none());
        r.metadata_mut()
            .insert("grpc-timeout", "1500m".parse().unwrap());
        let left = super::deadline(&r).unwrap() - tokio::time::Instant::now();
        assert!(
            left <= std::time::Duration::from_millis(1500)
                && left > std::time::Duration::from_millis(1000)
        );
        r.metadata_mut()
            .insert("grpc-timeout", "x".parse().unwrap());
        assert!(super::deadline(&r).is_none());
    }
}
