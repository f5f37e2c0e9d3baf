//! The application's Prometheus metrics, one registry per app (no global recorder, so every
//! test app counts alone), encoded by the `prometheus-client` crate in the OpenMetrics text
//! format that Prometheus scrapes.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// Latency buckets in seconds.
pub const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Label pairs in the order they are written (`route`, `method`, `status`, ...).
type Labels = Vec<(&'static str, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

#[derive(Clone)]
pub struct Buckets;

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(BUCKETS)
    }
}

type Histograms = Family<Labels, Histogram, Buckets>;

pub struct Metrics {
    registry: Registry,
    http_requests: Family<Labels, Counter>,
    http_duration: Histograms,
    job_runs: Family<Labels, Counter>,
    job_run_duration: Histograms,
    job_wait: Histograms,
    jobs: Family<Labels, FloatGauge>,
    jobs_queue_lag: Family<Labels, FloatGauge>,
    db_pool_connections: Family<Labels, FloatGauge>,
    db_pool_waiting: FloatGauge,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

fn labels(pairs: &[(&'static str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (*k, (*v).to_string())).collect()
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::default(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(Buckets),
            job_runs: Family::default(),
            job_run_duration: Family::new_with_constructor(Buckets),
            job_wait: Family::new_with_constructor(Buckets),
            jobs: Family::default(),
            jobs_queue_lag: Family::default(),
            db_pool_connections: Family::default(),
            db_pool_waiting: FloatGauge::default(),
        };
        let r = &mut m.registry;
        // Counters are registered without `_total`: the encoder appends it.
        r.register(
            "http_requests",
            "Requests by route, method and status",
            m.http_requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Request time by route",
            m.http_duration.clone(),
        );
        r.register(
            "job_runs",
            "Finished job runs by kind and outcome",
            m.job_runs.clone(),
        );
        r.register(
            "job_run_duration_seconds",
            "Job run time by kind",
            m.job_run_duration.clone(),
        );
        r.register(
            "job_wait_seconds",
            "Time from a job becoming due to a worker claiming it",
            m.job_wait.clone(),
        );
        r.register(
            "jobs",
            "Jobs in the table by kind and state",
            m.jobs.clone(),
        );
        r.register(
            "jobs_queue_lag_seconds",
            "How long the oldest due job of each queue has waited",
            m.jobs_queue_lag.clone(),
        );
        r.register(
            "db_pool_connections",
            "Database pool connections by state (size, available, max)",
            m.db_pool_connections.clone(),
        );
        r.register(
            "db_pool_waiting",
            "Tasks waiting for a database connection",
            m.db_pool_waiting.clone(),
        );
        m
    }

    pub fn http_request(&self, route: &str, method: &str, status: &str, seconds: f64) {
        self.http_requests
            .get_or_create(&labels(&[
                ("route", route),
                ("method", method),
                ("status", status),
            ]))
            .inc();
        self.http_duration
            .get_or_create(&labels(&[("route", route)]))
            .observe(seconds);
    }

    /// A job run ended with `outcome` (succeeded, retry, dead, lease_lost, released).
    pub fn job_run(&self, kind: &str, outcome: &str) {
        self.job_runs
            .get_or_create(&labels(&[("kind", kind), ("outcome", outcome)]))
            .inc();
    }

    pub fn job_run_duration(&self, kind: &str, seconds: f64) {
        self.job_run_duration
            .get_or_create(&labels(&[("kind", kind)]))
            .observe(seconds);
    }

    pub fn job_wait(&self, queue: &str, seconds: f64) {
        self.job_wait
            .get_or_create(&labels(&[("queue", queue)]))
            .observe(seconds);
    }

    pub fn jobs_in_state(&self, kind: &str, state: &str, n: f64) {
        self.jobs
            .get_or_create(&labels(&[("kind", kind), ("state", state)]))
            .set(n);
    }

    pub fn queue_lag(&self, queue: &str, seconds: f64) {
        self.jobs_queue_lag
            .get_or_create(&labels(&[("queue", queue)]))
            .set(seconds);
    }

    pub fn db_pool(&self, size: usize, available: usize, max: usize, waiting: usize) {
        for (state, n) in [("size", size), ("available", available), ("max", max)] {
            self.db_pool_connections
                .get_or_create(&labels(&[("state", state)]))
                .set(n as f64);
        }
        self.db_pool_waiting.set(waiting as f64);
    }

    /// The OpenMetrics text of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms_in_openmetrics_text() {
        let m = Metrics::new();
        m.http_request("/login", "POST", "200", 0.003);
        m.http_request("/login", "POST", "200", 0.02);
        m.job_run("sync", "succeeded");
        m.db_pool(4, 3, 10, 0);
        let text = m.render();
        assert!(text.contains("# TYPE http_requests counter"), "{text}");
        assert!(text.contains("# HELP http_requests Requests by route"));
        assert!(
            text.contains("http_requests_total{route=\"/login\",method=\"POST\",status=\"200\"} 2")
        );
        assert!(
            text.contains("http_request_duration_seconds_bucket{le=\"0.005\",route=\"/login\"} 1")
                || text.contains(
                    "http_request_duration_seconds_bucket{route=\"/login\",le=\"0.005\"} 1"
                ),
            "{text}"
        );
        assert!(text.contains("http_request_duration_seconds_count{route=\"/login\"} 2"));
        assert!(text.contains("job_runs_total{kind=\"sync\",outcome=\"succeeded\"} 1"));
        assert!(text.contains("db_pool_connections{state=\"max\"} 10"));
        assert!(text.ends_with("# EOF\n"));
    }
}
