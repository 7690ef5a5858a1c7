//! Prometheus metrics of this process: forms received, scored and audited,
//! the scoring queue, and RPC latency. One registry per process, rendered in
//! the Prometheus text format on the admin port.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    /// `/jixiao.v1.IntakeService/SubmitForm`.
    pub method: String,
    /// gRPC status code name, e.g. `Ok`, `InvalidArgument`.
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    /// `ready` (not yet delivered: the lag) or `pending` (delivered, not acked).
    pub state: String,
}

pub struct Metrics {
    pub forms_received: Counter,
    pub forms_scored: Counter,
    pub forms_audited: Counter,
    pub queue_jobs: Family<QueueLabels, Gauge>,
    pub rpc_seconds: Family<RpcLabels, Histogram>,
    registry: Registry,
}

fn rpc_histogram() -> Histogram {
    // 0.5 ms to ~16 s.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 16,
    ))
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("jixiao");
        let forms_received = Counter::default();
        let forms_scored = Counter::default();
        let forms_audited = Counter::default();
        let queue_jobs = Family::<QueueLabels, Gauge>::default();
        let rpc_seconds = Family::<RpcLabels, Histogram>::new_with_constructor(
            rpc_histogram as fn() -> Histogram,
        );
        registry.register(
            "forms_received",
            "Forms stored by intake (new content only)",
            forms_received.clone(),
        );
        registry.register(
            "forms_scored",
            "Scorecards stored by the scoring worker",
            forms_scored.clone(),
        );
        registry.register(
            "forms_audited",
            "Form audits stored by the audit service",
            forms_audited.clone(),
        );
        registry.register(
            "queue_jobs",
            "Scoring jobs in the queue, by state (ready is the lag)",
            queue_jobs.clone(),
        );
        registry.register(
            "rpc_duration_seconds",
            "Time to answer an RPC, by method and status code",
            rpc_seconds.clone(),
        );
        Metrics {
            forms_received,
            forms_scored,
            forms_audited,
            queue_jobs,
            rpc_seconds,
            registry,
        }
    }

    pub fn rpc(&self, method: &str, code: tonic::Code, took: Duration) {
        self.rpc_seconds
            .get_or_create(&RpcLabels {
                method: method.to_string(),
                code: format!("{code:?}"),
            })
            .observe(took.as_secs_f64());
    }

    pub fn queue_depth(&self, ready: usize, pending: usize) {
        for (state, n) in [("ready", ready), ("pending", pending)] {
            self.queue_jobs
                .get_or_create(&QueueLabels {
                    state: state.into(),
                })
                .set(n as i64);
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// This process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_in_the_prometheus_text_format() {
        let m = Metrics::new();
        m.forms_received.inc_by(3);
        m.queue_depth(7, 2);
        m.rpc(
            "/jixiao.v1.IntakeService/SubmitForm",
            tonic::Code::Ok,
            Duration::from_millis(3),
        );
        let text = m.render();
        assert!(text.contains("jixiao_forms_received_total 3"), "{text}");
        assert!(
            text.contains("jixiao_queue_jobs{state=\"ready\"} 7"),
            "{text}"
        );
        assert!(text.contains(
            "jixiao_rpc_duration_seconds_count{method=\"/jixiao.v1.IntakeService/SubmitForm\",code=\"Ok\"} 1"
        ), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
