//! Metric series that continue from run to run: short-lived processes of
//! one service export one cumulative series, which a real Prometheus
//! (`promtool test rules`) counts in full; concurrent runs get series of
//! their own; a run killed mid-way leaves nothing counted twice.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as NumberValue;
use serde_json::Value;
use zen_tests::collector::{FakeCollector, attributes};
use zen_tests::gcp_fakes::FakeCredentials;
use zen_tests::{os_tool, probe};

const PROBE: &str = env!("CARGO_BIN_EXE_zen-probe");

/// A service's runs: a metrics file and a state directory of their own.
struct Service {
    dir: tempfile::TempDir,
}

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

impl Service {
    fn new() -> Service {
        Service {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    fn command(&self, args: &[&str], extra: &[(&str, &str)]) -> Command {
        let file = self.dir.path().join("traces.jsonl").display().to_string();
        let state = self.dir.path().join("state").display().to_string();
        let mut env = vec![
            ("ZEN_TELEMETRY_EXPORTER", "file"),
            ("ZEN_TELEMETRY_FILE", file.as_str()),
            ("ZEN_TELEMETRY_SAMPLE_RATE", "0"),
            ("ZEN_TELEMETRY_METRICS_ACROSS_RUNS", "on"),
            ("XDG_STATE_HOME", state.as_str()),
        ];
        env.extend_from_slice(extra);
        probe::command(PROBE, args, &env)
    }

    fn run(&self, args: &[&str], extra: &[(&str, &str)]) {
        let output = self.command(args, extra).output().expect("run the probe");
        assert!(output.status.success(), "{output:?}");
    }

    fn metrics_file(&self) -> PathBuf {
        self.dir.path().join("traces.metrics.jsonl")
    }

    /// Every exported `function.calls` point of `function`, in file order.
    fn points(&self, function: &str) -> Vec<Point> {
        let text = std::fs::read_to_string(self.metrics_file()).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
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
}

fn distinct<T: Ord>(points: &[Point], field: impl Fn(&Point) -> T) -> BTreeSet<T> {
    points.iter().map(field).collect()
}

/// The series as Prometheus names it after OTLP translation: the sum
/// `function.calls` is `function_calls_total`, `service.name` is `job`,
/// `service.instance.id` is `instance`, attributes are labels.
fn prometheus_series(point: &Point) -> String {
    format!(
        r#"function_calls_total{{job="zen-library", instance="{}", function="{}", result="{}"}}"#,
        point.instance, point.function, point.result
    )
}

/// Runs `promtool test rules` on `rules` and `test`; `None` when promtool
/// is missing (and CI is not asking for it).
fn promtool_test(dir: &Path, rules: &str, test: &str) -> Option<String> {
    // promtool is a Linux program: under Wine the Linux run has judged.
    if cfg!(windows) {
        return None;
    }
    if !os_tool::require("promtool", "prometheus", "the series counted by a real Prometheus") {
        return None;
    }
    std::fs::write(dir.join("rules.yaml"), rules).expect("write the rules");
    std::fs::write(dir.join("test.yaml"), test).expect("write the test");
    let output = Command::new("promtool")
        .args(["test", "rules"])
        .arg(dir.join("test.yaml"))
        .output()
        .expect("run promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool: {said}\n{test}");
    Some(said)
}

#[test]
fn twenty_sequential_runs_are_one_series_whose_increase_counts_every_call() {
    let service = Service::new();
    for _ in 0..20 {
        // Each run: 3 probe.root calls, each followed by a failing probe.fail.
        service.run(&["fail", "3"], &[]);
    }
    let failures = service.points("probe.fail");
    assert_eq!(failures.len(), 20, "one point a run, at its exit: {failures:?}");
    assert_eq!(distinct(&failures, |p| p.instance.clone()).len(), 1, "one series");
    assert_eq!(distinct(&failures, |p| p.start).len(), 1, "one start time");
    let values: Vec<u64> = failures.iter().map(|p| p.value).collect();
    assert_eq!(values, (1..=20).map(|run| run * 3).collect::<Vec<_>>());
    assert!(failures.windows(2).all(|w| w[0].time < w[1].time), "in time order");
    assert!(failures.iter().all(|p| p.start < p.time));

    // The runs took milliseconds; Prometheus gets them one a minute, as a
    // CLI run once a minute would be, with the values and labels exported.
    let values = values.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
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
      - series: '{}'
        values: '{values}'
    alert_rule_test:
      - eval_time: 19m
        alertname: EveryCallCounted
        exp_alerts:
          - exp_labels: {{}}
"#,
        prometheus_series(&failures[0])
    );
    promtool_test(service.dir.path(), rules, &test);
}

#[test]
fn per_process_series_when_continuation_is_off() {
    let service = Service::new();
    for _ in 0..3 {
        service.run(&["fail", "2"], &[("ZEN_TELEMETRY_METRICS_ACROSS_RUNS", "off")]);
    }
    let failures = service.points("probe.fail");
    assert_eq!(distinct(&failures, |p| p.instance.clone()).len(), 3, "{failures:?}");
    assert!(failures.iter().all(|p| p.value == 2));
    assert!(!service.dir.path().join("state").exists(), "no slot is made");
}

fn wait_all(children: Vec<Child>) {
    for mut child in children {
        let status = child.wait().expect("wait for the probe");
        assert!(status.success(), "{status}");
    }
}

#[test]
fn concurrent_runs_write_two_series_whose_sum_is_exact() {
    let service = Service::new();
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
    let roots = service.points("probe.root");
    let instances = distinct(&roots, |p| p.instance.clone());
    assert_eq!(instances.len(), 2, "a slot each: {roots:?}");
    let latest: BTreeMap<&str, u64> = roots.iter().map(|p| (p.instance.as_str(), p.value)).collect();
    assert_eq!(latest.values().sum::<u64>(), 40, "{latest:?}");

    // A later run continues one of the two, from its exact value.
    service.run(&["paced", "5", "0"], &[]);
    let after = service.points("probe.root");
    let last = after.last().expect("a point");
    assert!(instances.contains(&last.instance));
    assert_eq!(last.value, latest[last.instance.as_str()] + 5);
}

#[cfg(unix)]
#[test]
fn a_run_killed_mid_way_is_continued_from_its_last_export_without_a_count_twice() {
    let service = Service::new();
    let mut killed = service
        .command(&["paced", "10000", "5"], &[("OTEL_METRIC_EXPORT_INTERVAL", "100")])
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    while service.points("probe.root").len() < 3 {
        assert!(Instant::now() < deadline, "three periodic exports within 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    killed.kill().expect("SIGKILL");
    let _ = killed.wait();
    let before = service.points("probe.root");
    let exported = before.last().expect("a point").clone();

    service.run(&["calls", "4"], &[]);
    let after = service.points("probe.root");
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
    let service = Service::new();
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
    let roots = service.points("probe.root");
    assert_eq!(roots.len(), 1, "{roots:?}");
    assert_eq!(
        (roots[0].instance.as_str(), roots[0].value),
        (instance.as_str(), 2 + 3 + 4)
    );
}
