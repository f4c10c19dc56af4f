//! Metric series that continue from run to run: short-lived processes of
//! one service export one cumulative series, which a real Prometheus
//! (`promtool test rules`) counts in full; concurrent runs get series of
//! their own; a run killed mid-way leaves nothing counted twice.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Child;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as NumberValue;
use zen_tests::collector::{FakeCollector, attributes};
use zen_tests::gcp_fakes::FakeCredentials;
use zen_tests::series::{Service, prometheus_series, promtool_test, promtool_values};

const PROBE: &str = env!("CARGO_BIN_EXE_zen-probe");

/// One exported point of `function.calls`.
#[derive(Debug, Clone, PartialEq)]
struct Point {
    function: String,
    result: String,
    instance: String,
    start: u64,
    time: u64,
    value: u64,
}

/// Every exported `function.calls` point of `function`, in file order.
fn calls(service: &Service, function: &str) -> Vec<Point> {
    service
        .points()
        .into_iter()
        .filter(|p| p["metric"] == "function.calls" && p["attributes"]["function"] == function)
        .map(|p| Point {
            function: function.to_owned(),
            result: p["attributes"]["result"].as_str().unwrap_or_default().to_owned(),
            instance: p["resource"]["service.instance.id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            start: p["start_time_unix_nano"].as_u64().unwrap_or_default(),
            time: p["time_unix_nano"].as_u64().unwrap_or_default(),
            value: p["value"].as_u64().unwrap_or_default(),
        })
        .collect()
}

fn distinct<T: Ord>(points: &[Point], field: impl Fn(&Point) -> T) -> BTreeSet<T> {
    points.iter().map(field).collect()
}

#[test]
fn twenty_sequential_runs_are_one_series_whose_increase_counts_every_call() {
    let service = Service::new(PROBE);
    for _ in 0..20 {
        // Each run: 3 probe.root calls, each followed by a failing probe.fail.
        service.run(&["fail", "3"], &[]);
    }
    let failures = calls(&service, "probe.fail");
    assert_eq!(failures.len(), 20, "one point a run, at its exit: {failures:?}");
    assert_eq!(distinct(&failures, |p| p.instance.clone()).len(), 1, "one series");
    assert_eq!(distinct(&failures, |p| p.start).len(), 1, "one start time");
    let values: Vec<u64> = failures.iter().map(|p| p.value).collect();
    assert_eq!(values, (1..=20).map(|run| run * 3).collect::<Vec<_>>());
    assert!(failures.windows(2).all(|w| w[0].time < w[1].time), "in time order");
    assert!(failures.iter().all(|p| p.start < p.time));

    // The runs took milliseconds; Prometheus gets them one a minute, as a
    // CLI run once a minute would be, with the values and labels exported.
    let series = prometheus_series(&service.exports());
    let (name, values) = series
        .iter()
        .find(|(name, _)| name.starts_with("function_calls_total") && name.contains(r#"function="probe.fail""#))
        .expect("the failures' series");
    let rules = r#"groups:
  - name: counted
    rules:
      - alert: EveryCallCounted
        expr: abs(sum(increase(function_calls_total{job="zen-library", function="probe.fail"}[30m])) - 60) <= 6
"#;
    let test = format!(
        r#"rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: '{name}'
        values: '{}'
    alert_rule_test:
      - eval_time: 19m
        alertname: EveryCallCounted
        exp_alerts:
          - exp_labels: {{}}
"#,
        promtool_values(values)
    );
    promtool_test(service.dir(), rules, &test);
}

#[test]
fn per_process_series_when_continuation_is_off() {
    let service = Service::new(PROBE);
    for _ in 0..3 {
        service.run(&["fail", "2"], &[("ZEN_TELEMETRY_METRICS_ACROSS_RUNS", "off")]);
    }
    let failures = calls(&service, "probe.fail");
    assert_eq!(distinct(&failures, |p| p.instance.clone()).len(), 3, "{failures:?}");
    assert!(failures.iter().all(|p| p.value == 2));
    assert!(!service.dir().join("state").exists(), "no slot is made");
}

fn wait_all(children: Vec<Child>) {
    for mut child in children {
        let status = child.wait().expect("wait for the probe");
        assert!(status.success(), "{status}");
    }
}

#[test]
fn concurrent_runs_write_two_series_whose_sum_is_exact() {
    let service = Service::new(PROBE);
    // Each run lasts about a second (20 calls 50 ms apart), and claims its
    // slot at its first export, 100 ms in: they hold their slots at once.
    let runs = (0..2)
        .map(|_| {
            service
                .command(&["paced", "20", "50"], &[("OTEL_METRIC_EXPORT_INTERVAL", "100")])
                .spawn()
                .expect("spawn")
        })
        .collect();
    wait_all(runs);
    let roots = calls(&service, "probe.root");
    let instances = distinct(&roots, |p| p.instance.clone());
    assert_eq!(instances.len(), 2, "a slot each: {roots:?}");
    let latest: BTreeMap<&str, u64> = roots.iter().map(|p| (p.instance.as_str(), p.value)).collect();
    assert_eq!(latest.values().sum::<u64>(), 40, "{latest:?}");

    // A later run continues one of the two, from its exact value.
    service.run(&["paced", "5", "0"], &[]);
    let after = calls(&service, "probe.root");
    let last = after.last().expect("a point");
    assert!(instances.contains(&last.instance));
    assert_eq!(last.value, latest[last.instance.as_str()] + 5);
}

#[cfg(unix)]
#[test]
fn a_run_killed_mid_way_is_continued_from_its_last_export_without_a_count_twice() {
    use std::time::{Duration, Instant};
    let service = Service::new(PROBE);
    let mut killed = service
        .command(&["paced", "10000", "5"], &[("OTEL_METRIC_EXPORT_INTERVAL", "100")])
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    while calls(&service, "probe.root").len() < 3 {
        assert!(Instant::now() < deadline, "three periodic exports within 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    killed.kill().expect("SIGKILL");
    let _ = killed.wait();
    let before = calls(&service, "probe.root");
    let exported = before.last().expect("a point").clone();

    service.run(&["calls", "4"], &[]);
    let after = calls(&service, "probe.root");
    let next = &after[before.len()..];
    assert_eq!(next.len(), 1, "the next run's exit export: {next:?}");
    assert_eq!(next[0].instance, exported.instance, "the same series");
    assert_eq!(next[0].start, exported.start);
    assert_eq!(
        next[0].value,
        exported.value + 4,
        "from the killed run's last export: calls it never exported are gone, none counted twice"
    );
    let values: Vec<u64> = after.iter().map(|p| p.value).collect();
    assert!(values.windows(2).all(|w| w[0] <= w[1]), "never a decrease: {values:?}");
}

/// `function.calls` of `probe.root` in `request`, with its `service.instance.id`.
fn google_root_calls(request: &ExportMetricsServiceRequest) -> Vec<(String, u64)> {
    let mut found = Vec::new();
    for resource_metrics in &request.resource_metrics {
        let resource = resource_metrics
            .resource
            .as_ref()
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        let instance = resource.get("service.instance.id").cloned().unwrap_or_default();
        for metric in resource_metrics.scope_metrics.iter().flat_map(|s| &s.metrics) {
            let Some(Data::Sum(sum)) = &metric.data else { continue };
            for point in &sum.data_points {
                if metric.name == "function.calls"
                    && attributes(&point.attributes).get("function").map(String::as_str) == Some("probe.root")
                    && let Some(NumberValue::AsInt(value)) = point.value
                {
                    found.push((instance.clone(), value as u64));
                }
            }
        }
    }
    found
}

#[test]
fn to_google_an_exit_export_too_soon_after_the_last_waits_in_the_slot_for_the_next() {
    let service = Service::new(PROBE);
    let credentials = FakeCredentials::start("series-gcp", 3600);
    let api = FakeCollector::start();
    let (credentials_path, endpoint) = (credentials.path(), api.endpoint());
    let google = [
        ("ZEN_TELEMETRY_EXPORTER", "gcp"),
        ("GOOGLE_CLOUD_PROJECT", "zen-series"),
        ("GOOGLE_APPLICATION_CREDENTIALS", credentials_path.as_str()),
        ("ZEN_TELEMETRY_GCP_ENDPOINT", endpoint.as_str()),
    ];
    service.run(&["calls", "2"], &google);
    // Within 10 s of the first run's point: Google would refuse this one.
    service.run(&["calls", "3"], &google);
    let sent: Vec<_> = api
        .metric_requests()
        .iter()
        .flat_map(|(_, request)| google_root_calls(request))
        .collect();
    assert_eq!(sent.len(), 1, "only the first run's point went: {sent:?}");
    let (instance, value) = sent[0].clone();
    assert_eq!(value, 2);

    // The next export of the service (here to a file) sends both runs' calls.
    service.run(&["calls", "4"], &[]);
    let roots = calls(&service, "probe.root");
    assert_eq!(roots.len(), 1, "{roots:?}");
    assert_eq!(
        (roots[0].instance.as_str(), roots[0].value),
        (instance.as_str(), 2 + 3 + 4)
    );
}
