//! A small Prometheus registry owned by the app (no global recorder, so every test app has its
//! own): counters and histograms keyed by name and labels, rendered as Prometheus text.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

type Key = (&'static str, Vec<(&'static str, String)>);

/// Latency buckets in seconds.
pub const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<Key, u64>>,
    gauges: Mutex<BTreeMap<Key, f64>>,
    histograms: Mutex<BTreeMap<Key, Histogram>>,
    help: Mutex<BTreeMap<&'static str, &'static str>>,
}

fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
    (
        name,
        labels.iter().map(|(k, v)| (*k, (*v).to_string())).collect(),
    )
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    pub fn describe(&self, name: &'static str, help: &'static str) {
        if let Ok(mut h) = self.help.lock() {
            h.insert(name, help);
        }
    }

    pub fn inc(&self, name: &'static str, labels: &[(&'static str, &str)], by: u64) {
        if let Ok(mut c) = self.counters.lock() {
            *c.entry(key(name, labels)).or_default() += by;
        }
    }

    pub fn set_gauge(&self, name: &'static str, labels: &[(&'static str, &str)], value: f64) {
        if let Ok(mut g) = self.gauges.lock() {
            g.insert(key(name, labels), value);
        }
    }

    pub fn observe(&self, name: &'static str, labels: &[(&'static str, &str)], seconds: f64) {
        if let Ok(mut h) = self.histograms.lock() {
            let e = h.entry(key(name, labels)).or_default();
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    e.counts[i] += 1;
                }
            }
            e.sum += seconds;
            e.count += 1;
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let help = self.help.lock().map(|h| h.clone()).unwrap_or_default();
        let mut typed = std::collections::BTreeSet::new();
        let mut header = |out: &mut String, name: &'static str, kind: &str| {
            if typed.insert(name) {
                if let Some(h) = help.get(name) {
                    let _ = writeln!(out, "# HELP {name} {h}");
                }
                let _ = writeln!(out, "# TYPE {name} {kind}");
            }
        };
        if let Ok(c) = self.counters.lock() {
            for ((name, labels), v) in c.iter() {
                header(&mut out, name, "counter");
                let _ = writeln!(out, "{name}{} {v}", fmt_labels(labels, None));
            }
        }
        if let Ok(g) = self.gauges.lock() {
            for ((name, labels), v) in g.iter() {
                header(&mut out, name, "gauge");
                let _ = writeln!(out, "{name}{} {v}", fmt_labels(labels, None));
            }
        }
        if let Ok(h) = self.histograms.lock() {
            for ((name, labels), hist) in h.iter() {
                header(&mut out, name, "histogram");
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {}",
                        fmt_labels(labels, Some(&b.to_string())),
                        hist.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "{name}_bucket{} {}",
                    fmt_labels(labels, Some("+Inf")),
                    hist.count
                );
                let _ = writeln!(out, "{name}_sum{} {}", fmt_labels(labels, None), hist.sum);
                let _ = writeln!(
                    out,
                    "{name}_count{} {}",
                    fmt_labels(labels, None),
                    hist.count
                );
            }
        }
        out
    }
}

fn fmt_labels(labels: &[(&'static str, String)], le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}=\"{}\"",
                v.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
            )
        })
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms_in_prometheus_text() {
        let m = Metrics::new();
        m.describe("http_requests_total", "Requests by route and status");
        m.inc(
            "http_requests_total",
            &[("route", "/login"), ("status", "200")],
            2,
        );
        m.observe(
            "http_request_duration_seconds",
            &[("route", "/login")],
            0.003,
        );
        let text = m.render();
        assert!(text.contains("# TYPE http_requests_total counter"));
        assert!(text.contains("http_requests_total{route=\"/login\",status=\"200\"} 2"));
        assert!(
            text.contains("http_request_duration_seconds_bucket{route=\"/login\",le=\"0.005\"} 1")
        );
        assert!(
            text.contains("http_request_duration_seconds_bucket{route=\"/login\",le=\"0.001\"} 0")
        );
        assert!(text.contains("http_request_duration_seconds_count{route=\"/login\"} 1"));
    }
}
