//! Per-function metrics: exact counts from the hot path (through the testing
//! API), and their export end to end, to an OTLP collector and to Google's
//! Telemetry API (loopback fakes decoding `ExportMetricsServiceRequest`).

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::AggregationTemporality;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
use zen_telemetry::{BUCKET_BOUNDS_SECONDS, CallResult, testing, traced};
use zen_tests::collector::{FakeCollector, attributes};
use zen_tests::gcp_fakes::{FAKE_REGION, FakeCredentials, FakeMetadata, MetadataBehaviour};
use zen_tests::{TempDir, probe};

const PROBE: &str = env!("CARGO_BIN_EXE_zen-probe");

#[traced("metrics.busy")]
fn busy(n: u64) -> u64 {
    n.wrapping_mul(7)
}

#[traced("metrics.outcome")]
fn outcome(kind: u8) -> Result<(), String> {
    match kind {
        0 => Ok(()),
        1 => Err("no".to_owned()),
        _ => panic!("metrics.outcome panicked on purpose"),
    }
}

#[traced("metrics.sleeper")]
fn sleeper(duration: Duration) {
    std::thread::sleep(duration);
}

#[traced("metrics.plain")]
fn plain() -> u32 {
    7
}

#[test]
fn two_threads_count_exactly() {
    let capture = testing::capture();
    capture.set_sample_rate(0.1);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                for i in 0..100_000 {
                    std::hint::black_box(busy(i));
                }
            });
        }
    });
    let counts = capture.metrics().function("metrics.busy");
    assert_eq!(counts.calls(CallResult::Ok), 200_000);
    assert_eq!(counts.total(), 200_000);
    assert_eq!(
        counts.buckets.iter().sum::<u64>(),
        200_000,
        "every call is in one bucket"
    );
}

#[test]
fn results_split_into_ok_error_and_panic_and_the_panic_still_unwinds() {
    let capture = testing::capture();
    outcome(0).unwrap();
    outcome(0).unwrap();
    assert!(outcome(1).is_err());
    let unwound = catch_unwind(AssertUnwindSafe(|| outcome(2)));
    let payload = unwound.expect_err("the panic reaches the caller");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"metrics.outcome panicked on purpose")
    );
    let counts = capture.metrics().function("metrics.outcome");
    assert_eq!(counts.calls(CallResult::Ok), 2);
    assert_eq!(counts.calls(CallResult::Error), 1);
    assert_eq!(counts.calls(CallResult::Panic), 1);
    assert_eq!(counts.calls(CallResult::Cancelled), 0);
}

#[test]
fn unsampled_calls_are_counted() {
    let capture = testing::capture();
    capture.set_sample_rate(0.0);
    for _ in 0..50 {
        plain();
    }
    assert!(capture.spans().is_empty(), "rate 0: no span");
    assert_eq!(capture.metrics().function("metrics.plain").calls(CallResult::Ok), 50);
}

#[test]
fn a_3_ms_call_lands_in_its_bucket() {
    let capture = testing::capture();
    // The bucket (2.5 ms, 5 ms] holds a 3 ms call unless the machine was too
    // busy to wake the sleeper within 5 ms; then try again.
    for _ in 0..20 {
        capture.reset();
        let started = Instant::now();
        sleeper(Duration::from_millis(3));
        let outer = started.elapsed();
        if outer >= Duration::from_micros(4900) {
            continue;
        }
        let counts = capture.metrics().function("metrics.sleeper");
        let index = BUCKET_BOUNDS_SECONDS
            .iter()
            .position(|&b| b == 0.005)
            .expect("a 5 ms bound");
        assert_eq!(BUCKET_BOUNDS_SECONDS[index - 1], 0.0025);
        let filled: Vec<usize> = (0..counts.buckets.len()).filter(|&i| counts.buckets[i] > 0).collect();
        assert_eq!(filled, [index], "{outer:?}: {:?}", counts.buckets);
        assert_eq!(counts.calls_within(0.0025), 0);
        assert_eq!(counts.calls_within(0.005), 1);
        let seconds = counts.sum_ns as f64 / 1e9;
        assert!((0.003..0.005).contains(&seconds), "sum {seconds}");
        return;
    }
    panic!("no 3 ms sleep finished within 4.9 ms in 20 tries");
}

#[test]
fn nothing_is_counted_while_off() {
    let capture = testing::capture();
    capture.set_on(false);
    plain();
    assert_eq!(capture.metrics().function("metrics.plain").total(), 0);
    capture.set_on(true);
    plain();
    assert_eq!(capture.metrics().function("metrics.plain").total(), 1);
}

#[test]
fn metrics_off_keeps_traces_only() {
    let capture = testing::capture();
    capture.set_metrics(false);
    plain();
    capture.set_metrics(true);
    assert_eq!(capture.spans().len(), 1, "the span is still recorded");
    assert_eq!(capture.metrics().function("metrics.plain").total(), 0);
}

// ---- end to end ----

/// One received point of `function.calls` or `function.calls.duration`.
#[derive(Debug, Clone)]
struct FunctionPoint {
    metric: String,
    function: String,
    result: Option<String>,
    value: u64,
    start: u64,
    time: u64,
    cumulative: bool,
}

fn points(request: &ExportMetricsServiceRequest) -> Vec<FunctionPoint> {
    let mut found = Vec::new();
    for resource_metrics in &request.resource_metrics {
        for scope in &resource_metrics.scope_metrics {
            for metric in &scope.metrics {
                let mut push =
                    |attrs: BTreeMap<String, String>, value: u64, start: u64, time: u64, temporality: i32| {
                        found.push(FunctionPoint {
                            metric: metric.name.clone(),
                            function: attrs.get("function").cloned().unwrap_or_default(),
                            result: attrs.get("result").cloned(),
                            value,
                            start,
                            time,
                            cumulative: temporality == AggregationTemporality::Cumulative as i32,
                        });
                    };
                match &metric.data {
                    Some(Data::Sum(sum)) => {
                        assert!(sum.is_monotonic || metric.name != "function.calls");
                        for p in &sum.data_points {
                            let value = match p.value {
                                Some(Value::AsInt(v)) => v as u64,
                                Some(Value::AsDouble(v)) => v as u64,
                                None => 0,
                            };
                            push(
                                attributes(&p.attributes),
                                value,
                                p.start_time_unix_nano,
                                p.time_unix_nano,
                                sum.aggregation_temporality,
                            );
                        }
                    }
                    Some(Data::Histogram(histogram)) => {
                        for p in &histogram.data_points {
                            assert_eq!(p.bucket_counts.len(), p.explicit_bounds.len() + 1);
                            assert_eq!(p.bucket_counts.iter().sum::<u64>(), p.count);
                            push(
                                attributes(&p.attributes),
                                p.count,
                                p.start_time_unix_nano,
                                p.time_unix_nano,
                                histogram.aggregation_temporality,
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    found
}

fn point_count(request: &ExportMetricsServiceRequest) -> usize {
    request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| match &m.data {
            Some(Data::Sum(s)) => s.data_points.len(),
            Some(Data::Gauge(g)) => g.data_points.len(),
            Some(Data::Histogram(h)) => h.data_points.len(),
            _ => 0,
        })
        .sum()
}

fn resources(request: &ExportMetricsServiceRequest) -> Vec<BTreeMap<String, String>> {
    request
        .resource_metrics
        .iter()
        .map(|r| {
            r.resource
                .as_ref()
                .map(|r| attributes(&r.attributes))
                .unwrap_or_default()
        })
        .collect()
}

/// The last value received for each (metric, function, result).
fn latest(requests: &[ExportMetricsServiceRequest]) -> BTreeMap<(String, String, Option<String>), u64> {
    let mut latest = BTreeMap::new();
    for request in requests {
        for p in points(request) {
            latest.insert((p.metric, p.function, p.result), p.value);
        }
    }
    latest
}

/// Checks what every export must hold: cumulative points that never go
/// down, from one start time, at most 200 points a request.
fn assert_cumulative_and_monotonic(requests: &[ExportMetricsServiceRequest]) {
    let mut last: BTreeMap<(String, String, Option<String>), u64> = BTreeMap::new();
    let mut starts = std::collections::BTreeSet::new();
    for request in requests {
        assert!(
            point_count(request) <= 200,
            "{} points in one request",
            point_count(request)
        );
        for p in points(request) {
            assert!(p.cumulative, "{p:?}");
            assert!(p.time >= p.start, "{p:?}");
            if p.metric.starts_with("function.") {
                starts.insert(p.start);
            }
            let key = (p.metric.clone(), p.function.clone(), p.result.clone());
            if let Some(before) = last.insert(key, p.value) {
                assert!(
                    p.value >= before,
                    "a cumulative series never goes down: {p:?} after {before}"
                );
            }
        }
    }
    assert_eq!(starts.len(), 1, "one start time for the function series: {starts:?}");
}

#[test]
fn otlp_receives_exact_cumulative_counts_periodically_and_at_exit() {
    let collector = FakeCollector::start();
    let endpoint = collector.endpoint();
    let (output, _) = probe::run(
        PROBE,
        &["paced", "12", "50"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("ZEN_TELEMETRY_SAMPLE_RATE", "0"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "150"),
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let requests: Vec<_> = collector.metric_requests().into_iter().map(|(_, r)| r).collect();
    assert!(
        requests.len() >= 2,
        "periodic exports and the last at exit: {} requests",
        requests.len()
    );
    assert_cumulative_and_monotonic(&requests);
    // Every series in every export, changed or not.
    let series = |request: &ExportMetricsServiceRequest| -> std::collections::BTreeSet<_> {
        points(request)
            .into_iter()
            .map(|p| (p.metric, p.function, p.result))
            .collect()
    };
    for pair in requests.windows(2) {
        assert!(series(&pair[0]).is_subset(&series(&pair[1])), "a series left out");
    }
    let latest = latest(&requests);
    let key = |metric: &str, function: &str, result: Option<&str>| {
        (metric.to_owned(), function.to_owned(), result.map(str::to_owned))
    };
    assert_eq!(latest.get(&key("function.calls", "probe.root", Some("ok"))), Some(&12));
    assert_eq!(latest.get(&key("function.calls", "probe.child", Some("ok"))), Some(&12));
    assert_eq!(
        latest.get(&key("function.calls.duration", "probe.root", None)),
        Some(&12)
    );
    assert!(collector.spans().is_empty(), "rate 0: counted, not traced");
    for resource in requests.iter().flat_map(resources) {
        assert_eq!(resource.get("service.name").map(String::as_str), Some("zen-library"));
        let instance = resource.get("service.instance.id").cloned().unwrap_or_default();
        assert_eq!(instance.len(), 32, "a random id: {instance:?}");
    }
}

#[test]
fn otlp_metrics_endpoint_and_headers_win_over_the_general_ones() {
    let traces = FakeCollector::start();
    let metrics = FakeCollector::start();
    let (output, _) = probe::run(
        PROBE,
        &["spans", "2"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &traces.endpoint()),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", &metrics.endpoint()),
            ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-team=core"),
            ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
        ],
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(traces.wait_for_spans(4, Duration::from_secs(5)).len(), 4);
    assert!(traces.metric_requests().is_empty());
    let received = metrics.metric_requests();
    assert!(!received.is_empty(), "{}", String::from_utf8_lossy(&output.stderr));
    for (headers, _) in &received {
        assert!(headers.names.iter().any(|n| n == "x-team"), "{headers:?}");
    }
}

#[test]
fn custom_instruments_go_out_in_requests_of_at_most_200_points() {
    let collector = FakeCollector::start();
    let (output, _) = probe::run(
        PROBE,
        &["meters", "3"],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.endpoint())],
    );
    assert!(output.status.success(), "{output:?}");
    let requests: Vec<_> = collector.metric_requests().into_iter().map(|(_, r)| r).collect();
    let sizes: Vec<usize> = requests.iter().map(point_count).collect();
    // 300 series of probe.orders, 2 × 1 counter and 2 histogram series.
    assert_eq!(sizes.iter().sum::<usize>(), 304, "{sizes:?}");
    assert!(sizes.iter().all(|&n| n <= 200), "{sizes:?}");
    let orders: Vec<FunctionPoint> = requests
        .iter()
        .flat_map(points)
        .filter(|p| p.metric == "probe.orders")
        .collect();
    assert_eq!(orders.len(), 300);
    assert!(orders.iter().all(|p| p.value == 2 && p.cumulative));
}

#[test]
fn metrics_off_sends_traces_only() {
    let collector = FakeCollector::start();
    let (output, _) = probe::run(
        PROBE,
        &["spans", "2"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.endpoint()),
            ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
            ("ZEN_TELEMETRY_METRICS", "false"),
        ],
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(collector.wait_for_spans(4, Duration::from_secs(5)).len(), 4);
    assert!(collector.metric_requests().is_empty());
}

#[test]
fn file_exporter_writes_one_json_line_per_point() {
    let dir = TempDir::new("metrics-file");
    let traces = dir.path().join("traces.jsonl");
    let metrics = dir.path().join("metrics.jsonl");
    let (output, _) = probe::run(
        PROBE,
        &["fail", "3"],
        &[
            ("ZEN_TELEMETRY_EXPORTER", "file"),
            ("ZEN_TELEMETRY_FILE", traces.to_str().unwrap()),
            ("ZEN_TELEMETRY_METRICS_FILE", metrics.to_str().unwrap()),
            ("ZEN_TELEMETRY_SAMPLE_RATE", "0"),
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let text = std::fs::read_to_string(&metrics).expect("the metrics file");
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    let find = |metric: &str, function: &str, result: Option<&str>| {
        lines
            .iter()
            .find(|l| {
                l["metric"] == metric
                    && l["attributes"]["function"] == function
                    && result.is_none_or(|r| l["attributes"]["result"] == r)
            })
            .cloned()
            .unwrap_or_else(|| panic!("no {metric} {function} {result:?} in {text}"))
    };
    assert_eq!(find("function.calls", "probe.fail", Some("error"))["value"], 3);
    assert_eq!(find("function.calls", "probe.root", Some("ok"))["value"], 3);
    let histogram = find("function.calls.duration", "probe.fail", None);
    assert_eq!(histogram["kind"], "histogram");
    assert_eq!(histogram["unit"], "s");
    assert_eq!(histogram["count"], 3);
    assert_eq!(histogram["temporality"], "cumulative");
    assert_eq!(
        histogram["explicit_bounds"].as_array().map(Vec::len),
        Some(BUCKET_BOUNDS_SECONDS.len())
    );
    assert_eq!(histogram["attributes"]["module"], "zen_probe");
    // `objective(success = 99.9, latency_ms = 250)` on probe.fail, none on probe.root.
    assert_eq!(histogram["attributes"]["objective_latency_ms"], "250");
    assert_eq!(histogram["attributes"].get("objective_success"), None);
    let failed = find("function.calls", "probe.fail", Some("error"));
    assert_eq!(failed["attributes"]["objective_success"], "99.9");
    assert_eq!(failed["attributes"].get("objective_latency_ms"), None);
    let root = find("function.calls", "probe.root", Some("ok"));
    assert_eq!(root["attributes"].as_object().map(|a| a.len()), Some(3), "{root}");
}

// ---- Google Cloud ----

fn gcp_env<'a>(credentials: &'a str, endpoint: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("ZEN_TELEMETRY_EXPORTER", "gcp"),
        ("GOOGLE_CLOUD_PROJECT", "zen-metrics-project"),
        ("GOOGLE_APPLICATION_CREDENTIALS", credentials),
        ("ZEN_TELEMETRY_GCP_ENDPOINT", endpoint),
        ("ZEN_TELEMETRY_SAMPLE_RATE", "0"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "150"),
    ]
}

#[test]
fn the_telemetry_api_gets_token_project_and_the_resource_google_needs() {
    let credentials = FakeCredentials::start("gcp-metrics", 3600);
    let api = FakeCollector::start();
    let endpoint = api.endpoint();
    let (output, _) = probe::run(PROBE, &["paced", "10", "50"], &gcp_env(&credentials.path(), &endpoint));
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("OTEL_METRIC_EXPORT_INTERVAL=150 ms is shorter than Google Cloud takes points of one series (10 s apart at least); using 10 s"),
        "{stderr}"
    );
    let received = api.metric_requests();
    assert_eq!(
        received.len(),
        1,
        "the exit export; the 150 ms interval raised to 10 s: {stderr}"
    );
    for (headers, request) in &received {
        assert_eq!(headers.authorization.as_deref(), Some("Bearer fake-access-token-1"));
        assert_eq!(headers.user_project.as_deref(), Some("zen-metrics-project"));
        for resource in resources(request) {
            assert_eq!(
                resource.get("gcp.project_id").map(String::as_str),
                Some("zen-metrics-project")
            );
            assert_eq!(
                resource.get("cloud.region").map(String::as_str),
                Some("global"),
                "NO_GCE_CHECK: the default"
            );
            assert!(
                !resource
                    .get("service.instance.id")
                    .cloned()
                    .unwrap_or_default()
                    .is_empty()
            );
        }
    }
    let requests: Vec<_> = received.into_iter().map(|(_, r)| r).collect();
    assert_cumulative_and_monotonic(&requests);
    let latest = latest(&requests);
    assert_eq!(
        latest.get(&(
            "function.calls".to_owned(),
            "probe.root".to_owned(),
            Some("ok".to_owned())
        )),
        Some(&10)
    );
}

#[test]
fn on_google_cloud_the_location_is_the_metadata_servers_region() {
    let metadata = FakeMetadata::start(MetadataBehaviour::Project {
        project: "metadata-project-2".to_owned(),
        token: "metadata-token-2".to_owned(),
    });
    let api = FakeCollector::start();
    let (output, _) = probe::run(
        PROBE,
        &["spans", "2"],
        &[
            ("ZEN_TELEMETRY_EXPORTER", "gcp"),
            ("NO_GCE_CHECK", "false"),
            ("GCE_METADATA_HOST", &metadata.host()),
            ("ZEN_TELEMETRY_GCP_ENDPOINT", &api.endpoint()),
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let received = api.wait_for_metric_requests(1, Duration::from_secs(5));
    assert!(!received.is_empty(), "{}", String::from_utf8_lossy(&output.stderr));
    for (headers, request) in &received {
        assert_eq!(headers.authorization.as_deref(), Some("Bearer metadata-token-2"));
        for resource in resources(request) {
            assert_eq!(resource.get("cloud.region").map(String::as_str), Some(FAKE_REGION));
            assert_eq!(
                resource.get("gcp.project_id").map(String::as_str),
                Some("metadata-project-2")
            );
        }
    }
}

#[test]
fn the_telemetry_api_gets_requests_of_at_most_200_points() {
    let credentials = FakeCredentials::start("gcp-metrics", 3600);
    let api = FakeCollector::start();
    let endpoint = api.endpoint();
    let (output, _) = probe::run(PROBE, &["meters", "2"], &gcp_env(&credentials.path(), &endpoint));
    assert!(output.status.success(), "{output:?}");
    let requests: Vec<_> = api.metric_requests().into_iter().map(|(_, r)| r).collect();
    let sizes: Vec<usize> = requests.iter().map(point_count).collect();
    assert_eq!(sizes.iter().sum::<usize>(), 304, "{sizes:?}");
    assert!(sizes.iter().all(|&n| n <= 200), "{sizes:?}");
    for request in &requests {
        for resource in resources(request) {
            assert_eq!(
                resource.get("gcp.project_id").map(String::as_str),
                Some("zen-metrics-project")
            );
        }
    }
}

/// The exemplars of `function`'s duration histogram in `requests`, with
/// the bounds of the bucket each falls in.
fn exemplars(requests: &[ExportMetricsServiceRequest], function: &str) -> Vec<(Vec<u8>, Vec<u8>, f64)> {
    let mut found = Vec::new();
    for metric in requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
    {
        let Some(Data::Histogram(histogram)) = &metric.data else {
            continue;
        };
        for point in &histogram.data_points {
            if attributes(&point.attributes).get("function").map(String::as_str) != Some(function) {
                continue;
            }
            for exemplar in &point.exemplars {
                let value = match exemplar.value {
                    Some(opentelemetry_proto::tonic::metrics::v1::exemplar::Value::AsDouble(v)) => v,
                    _ => f64::NAN,
                };
                found.push((exemplar.trace_id.clone(), exemplar.span_id.clone(), value));
            }
        }
    }
    found
}

#[test]
fn a_duration_bucket_links_to_the_trace_of_a_sampled_call_in_it() {
    for (rate, linked) in [("1", true), ("0", false)] {
        let collector = FakeCollector::start();
        let endpoint = collector.endpoint();
        let (output, _) = probe::run(
            PROBE,
            &["calls", "5"],
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
                ("ZEN_TELEMETRY_SAMPLE_RATE", rate),
            ],
        );
        assert!(output.status.success(), "{output:?}");
        let requests: Vec<_> = collector.metric_requests().into_iter().map(|(_, r)| r).collect();
        let found = exemplars(&requests, "probe.root");
        if !linked {
            assert!(found.is_empty(), "no sampled call, no exemplar: {found:?}");
            continue;
        }
        assert!(!found.is_empty(), "an exemplar for a bucket of probe.root");
        let spans = collector.wait_for_spans(10, Duration::from_secs(5));
        for (trace_id, span_id, seconds) in &found {
            let span = spans
                .iter()
                .find(|s| &s.span.span_id == span_id)
                .unwrap_or_else(|| panic!("the exemplar's span was exported: {span_id:?}"));
            assert_eq!(&span.span.trace_id, trace_id);
            assert_eq!(span.span.name, "probe.root");
            let took = (span.span.end_time_unix_nano - span.span.start_time_unix_nano) as f64 / 1e9;
            assert!(
                (took - seconds).abs() < 1e-3,
                "the span's duration: {took} vs {seconds}"
            );
        }
    }
}
