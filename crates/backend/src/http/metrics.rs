//! Request metrics, kept in memory per instance and served in the
//! Prometheus text format (version 0.0.4) on the operator listener.
//!
//! Labels are route *templates* (`/v1/applications/{case_number}`), never
//! raw paths, so no case number or credential id reaches the metrics, and
//! the label set stays small. Written by hand: a dozen counters do not need
//! a metrics framework.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Series {
    /// Answers by status code.
    by_status: BTreeMap<u16, u64>,
    /// Cumulative counts per bucket, then the sum in seconds.
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_secs: f64,
}

/// The metrics of one instance. Cheap to share (`Arc`).
#[derive(Default)]
pub struct Metrics {
    /// Per (method, route template).
    series: Mutex<BTreeMap<(String, String), Series>>,
    in_flight: AtomicU64,
    shed: AtomicU64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub(crate) fn note_shed(&self) {
        self.shed.fetch_add(1, Ordering::Relaxed);
    }

    fn record(&self, method: &str, route: &str, status: u16, secs: f64) {
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        let s = series
            .entry((method.to_owned(), route.to_owned()))
            .or_default();
        *s.by_status.entry(status).or_default() += 1;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                s.buckets[i] += 1;
            }
        }
        s.count += 1;
        s.sum_secs += secs;
    }

    /// Answers counted for `route` with `status` (tests).
    pub fn answered(&self, method: &str, route: &str, status: u16) -> u64 {
        let series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        series
            .get(&(method.to_owned(), route.to_owned()))
            .and_then(|s| s.by_status.get(&status).copied())
            .unwrap_or(0)
    }

    /// The Prometheus text exposition, with `extra` gauges appended
    /// (`name`, help, value).
    pub fn render(&self, extra: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        let series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        out.push_str("# HELP cds_http_requests_total HTTP answers by route and status.\n");
        out.push_str("# TYPE cds_http_requests_total counter\n");
        for ((method, route), s) in series.iter() {
            for (status, n) in &s.by_status {
                let _ = writeln!(
                    out,
                    "cds_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP cds_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE cds_http_request_duration_seconds histogram\n");
        for ((method, route), s) in series.iter() {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            for (bound, n) in BUCKETS.iter().zip(s.buckets.iter()) {
                let _ = writeln!(
                    out,
                    "cds_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "cds_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "cds_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum_secs
            );
            let _ = writeln!(
                out,
                "cds_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        drop(series);
        let _ = writeln!(
            out,
            "# HELP cds_http_in_flight Requests being handled now.\n\
             # TYPE cds_http_in_flight gauge\ncds_http_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP cds_http_shed_total Requests answered 503 because too many were in flight.\n\
             # TYPE cds_http_shed_total counter\ncds_http_shed_total {}",
            self.shed.load(Ordering::Relaxed)
        );
        for (name, help, value) in extra {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Counts and times every answer, and logs one line per request: method,
/// route template, status, milliseconds. Never the path, the query or a
/// body (they can carry case numbers, codes and names).
pub(crate) async fn track(
    State(metrics): State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let response = next.run(req).await;
    metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    let secs = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    metrics.record(&method, &route, status, secs);
    tracing::info!(
        target: "cds_backend::access",
        %method,
        %route,
        status,
        ms = (secs * 1000.0).round() as u64,
        "answered"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_by_route_and_status_with_cumulative_buckets() {
        let m = Metrics::default();
        m.record("GET", "/v1/services", 200, 0.003);
        m.record("GET", "/v1/services", 200, 0.2);
        m.record("POST", "/v1/applications", 422, 0.0001);
        m.note_shed();
        let text = m.render(&[("cds_database_ready", "1 when ready.", 1.0)]);
        assert!(text.contains(
            "cds_http_requests_total{method=\"GET\",route=\"/v1/services\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "cds_http_requests_total{method=\"POST\",route=\"/v1/applications\",status=\"422\"} 1"
        ));
        // 0.003 s falls in le=0.005 and above, 0.2 s only from le=0.25.
        assert!(text.contains(
            "cds_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/services\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "cds_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/services\",le=\"0.25\"} 2"
        ));
        assert!(text.contains(
            "cds_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/services\"} 2"
        ));
        assert!(text.contains("cds_http_shed_total 1"));
        assert!(text.contains("cds_database_ready 1"));
        assert_eq!(m.answered("GET", "/v1/services", 200), 2);
    }
}
