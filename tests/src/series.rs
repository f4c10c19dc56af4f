//! A service's runs of the probe, one after another, with their metric
//! points in a file and their slots in a state directory of their own; and
//! those points as a real Prometheus would store them, for `promtool`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::{TempDir, os_tool, probe};

/// The probe's runs as one service whose series continue from run to run.
pub struct Service {
    dir: TempDir,
    probe: String,
}

impl Service {
    /// `probe` is the probe binary (`env!("CARGO_BIN_EXE_zen-probe")`).
    pub fn new(probe: &str) -> Service {
        Service {
            dir: TempDir::new("series"),
            probe: probe.to_owned(),
        }
    }

    /// The directory holding the service's files.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The probe with `args`, exporting to the file, continuing its series;
    /// `extra` variables last, so they win.
    pub fn command(&self, args: &[&str], extra: &[(&str, &str)]) -> Command {
        let file = self.dir().join("traces.jsonl").display().to_string();
        let state = self.dir().join("state").display().to_string();
        let mut env = vec![
            ("ZEN_TELEMETRY_EXPORTER", "file"),
            ("ZEN_TELEMETRY_FILE", file.as_str()),
            ("ZEN_TELEMETRY_SAMPLE_RATE", "0"),
            ("ZEN_TELEMETRY_METRICS_ACROSS_RUNS", "on"),
            ("XDG_STATE_HOME", state.as_str()),
        ];
        env.extend_from_slice(extra);
        probe::command(&self.probe, args, &env)
    }

    /// Runs the probe to its end; it must succeed.
    pub fn run(&self, args: &[&str], extra: &[(&str, &str)]) {
        let output = self.command(args, extra).output().expect("run the probe");
        assert!(output.status.success(), "{output:?}");
    }

    /// Where the file exporter writes the metric points.
    pub fn metrics_file(&self) -> PathBuf {
        self.dir().join("traces.metrics.jsonl")
    }

    /// Every exported point, in file order.
    pub fn points(&self) -> Vec<Value> {
        std::fs::read_to_string(self.metrics_file())
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The exports, oldest first: each one's points (they share a time).
    pub fn exports(&self) -> Vec<Vec<Value>> {
        let mut by_time: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
        for point in self.points() {
            let time = point["time_unix_nano"].as_u64().unwrap_or_default();
            by_time.entry(time).or_default().push(point);
        }
        by_time.into_values().collect()
    }
}

/// The exports' points as Prometheus' OTLP translation names them
/// (underscores for dots, `_seconds` for the unit `s`, `_total` for a
/// monotonic sum; `_bucket` with a cumulative `le`, `_count` and `_sum` for
/// a histogram; `service.name` as `job`, `service.instance.id` as
/// `instance`, attributes as labels): each series with its value at each
/// export, `None` before it first appears.
pub fn prometheus_series(exports: &[Vec<Value>]) -> BTreeMap<String, Vec<Option<f64>>> {
    let mut series: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
    for (index, export) in exports.iter().enumerate() {
        for point in export {
            for (name, value) in samples(point) {
                let values = series.entry(name).or_default();
                values.resize(index, None);
                values.push(Some(value));
            }
        }
    }
    series
}

/// How a backend stores an OTLP point's samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// OpenTelemetry's Prometheus translation (the specification's
    /// "Prometheus and OpenMetrics Compatibility"), as Prometheus' OTLP
    /// receiver applies it: dots become underscores, the unit `s` adds
    /// `_seconds`, a monotonic sum `_total`; `service.name` is `job` and
    /// `service.instance.id` `instance`.
    Prometheus,
    /// Google's Telemetry API: names and label keys as sent (it rejects, and
    /// never rewrites, what its patterns do not allow), a histogram queried
    /// as `_bucket`, `_count` and `_sum`, and the `prometheus_target` labels
    /// `location` (`cloud.region`, else the `global` zen's exporter sends),
    /// `job` and `instance`.
    TelemetryApi,
}

/// One sample of a stored series.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series name, suffixes included.
    pub name: String,
    /// Its labels, resource labels included.
    pub labels: BTreeMap<String, String>,
    /// Its value at the export.
    pub value: f64,
}

impl Sample {
    /// The PromQL selector of its series, names quoted where Prometheus 2
    /// would not parse them bare.
    pub fn selector(&self) -> String {
        let plain = |name: &str| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        let quoted = |name: &str| {
            if plain(name) {
                name.to_owned()
            } else {
                format!("{name:?}")
            }
        };
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(key, value)| format!("{}=\"{value}\"", quoted(key)))
            .collect();
        if plain(&self.name) {
            format!("{}{{{}}}", self.name, labels.join(", "))
        } else {
            format!("{{{:?}, {}}}", self.name, labels.join(", "))
        }
    }
}

/// One point's samples as `naming` stores them.
pub fn stored(point: &Value, naming: Naming) -> Vec<Sample> {
    let metric = point["metric"].as_str().unwrap_or_default();
    let resource = &point["resource"];
    let mut labels = BTreeMap::from([
        ("job".to_owned(), text(&resource["service.name"])),
        ("instance".to_owned(), text(&resource["service.instance.id"])),
    ]);
    let key = |key: &str| match naming {
        Naming::Prometheus => key.replace('.', "_"),
        Naming::TelemetryApi => key.to_owned(),
    };
    if let Some(attributes) = point["attributes"].as_object() {
        labels.extend(attributes.iter().map(|(name, value)| (key(name), text(value))));
    }
    let mut name = metric.to_owned();
    match naming {
        Naming::Prometheus => {
            name = name.replace('.', "_");
            if point["unit"] == "s" {
                name.push_str("_seconds");
            }
        }
        Naming::TelemetryApi => {
            let location = resource["cloud.region"].as_str().unwrap_or("global");
            labels.insert("location".to_owned(), location.to_owned());
        }
    }
    let sample = |suffix: &str, extra: Option<(&str, String)>, value: f64| {
        let mut labels = labels.clone();
        labels.extend(extra.map(|(key, value)| (key.to_owned(), value)));
        Sample {
            name: format!("{name}{suffix}"),
            labels,
            value,
        }
    };
    match point["kind"].as_str() {
        Some("sum") if point["monotonic"] == true => {
            let suffix = if naming == Naming::Prometheus { "_total" } else { "" };
            vec![sample(suffix, None, number(&point["value"]))]
        }
        Some("histogram") => {
            let bounds: Vec<f64> = point["explicit_bounds"]
                .as_array()
                .map(|b| b.iter().map(number).collect())
                .unwrap_or_default();
            let counts: Vec<f64> = point["bucket_counts"]
                .as_array()
                .map(|c| c.iter().map(number).collect())
                .unwrap_or_default();
            let mut out = Vec::new();
            let mut cumulative = 0.0;
            for (i, count) in counts.iter().enumerate() {
                cumulative += count;
                let le = bounds
                    .get(i)
                    .map_or_else(|| "+Inf".to_owned(), |bound| bound.to_string());
                out.push(sample("_bucket", Some(("le", le)), cumulative));
            }
            out.push(sample("_count", None, number(&point["count"])));
            out.push(sample("_sum", None, number(&point["sum"])));
            out
        }
        _ => Vec::new(),
    }
}

/// One point's Prometheus samples: selector and value.
fn samples(point: &Value) -> Vec<(String, f64)> {
    stored(point, Naming::Prometheus)
        .into_iter()
        .map(|sample| (sample.selector(), sample.value))
        .collect()
}

fn text(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

fn number(value: &Value) -> f64 {
    value.as_f64().unwrap_or_default()
}

/// promtool's `values` notation: `_` for no sample, `_xN` for N of them.
pub fn promtool_values(values: &[Option<f64>]) -> String {
    let mut each: Vec<String> = Vec::new();
    let mut blanks = 0;
    for value in values {
        match value {
            None => blanks += 1,
            Some(value) => {
                push_blanks(&mut each, &mut blanks);
                each.push(value.to_string());
            }
        }
    }
    push_blanks(&mut each, &mut blanks);
    each.join(" ")
}

fn push_blanks(each: &mut Vec<String>, blanks: &mut usize) {
    match *blanks {
        0 => {}
        1 => each.push("_".to_owned()),
        n => each.push(format!("_x{n}")),
    }
    *blanks = 0;
}

/// True when promtool can judge here: installed (else skipped with a
/// note, or failed under `CI=true`), and not on Windows (a Linux program:
/// the Linux run judges).
pub fn promtool_available() -> bool {
    !cfg!(windows) && os_tool::require("promtool", "prometheus", "the series judged by a real Prometheus")
}

/// Runs `promtool test rules` on `rules` and `test` (which names
/// `rules.yaml`) in `dir`, and asserts it passes; false when it is not
/// [`promtool_available`].
pub fn promtool_test(dir: &std::path::Path, rules: &str, test: &str) -> bool {
    if !promtool_available() {
        return false;
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
    assert!(output.status.success(), "promtool: {said}");
    true
}
