//! The same exported points stored two ways: as Google's Telemetry API
//! keeps them (names as sent) and as Prometheus names them (OpenTelemetry's
//! translation). The mapping between the two is the one README's "What of
//! autometrics works where" states and `zen telemetry monitoring` relies on
//! for its two dialects:
//!
//! | Telemetry API | Prometheus naming |
//! |---|---|
//! | `function.calls` | `function_calls_total` |
//! | `function.calls.duration_bucket`, `_count`, `_sum` | `function_calls_duration_seconds_bucket`, `_count`, `_sum` |
//! | label keys as sent (`function`, `objective_latency_ms`) | the same, a dot as an underscore |
//! | `job`, `instance` (`prometheus_target`) | `job`, `instance` |
//! | `location` (`prometheus_target`) | none |
//!
//! Tested here: every series of one translates to exactly one of the other
//! with the same value; every name and key is one the Telemetry API
//! accepts; and the series names each dialect's queries select exist in
//! their store.

use std::collections::BTreeMap;

use zen_orchestrator::monitoring::promql::{Dialect, FUNCTION_CALLS, FUNCTION_DURATION, Kind, METRICS, Metric};
use zen_tests::series::{Naming, Sample, Service, stored};

const PROBE: &str = env!("CARGO_BIN_EXE_zen-probe");

/// What a histogram's stored series add to its name.
const HISTOGRAM_SUFFIXES: [&str; 3] = ["_bucket", "_count", "_sum"];

/// A Telemetry API sample in Prometheus naming, by the mapping above.
fn in_prometheus_naming(sample: &Sample) -> Sample {
    let (metric, suffix) = METRICS
        .iter()
        .find_map(|metric| {
            let suffix = sample.name.strip_prefix(metric.name)?;
            let fits = match metric.kind {
                Kind::Counter => suffix.is_empty(),
                Kind::Histogram => HISTOGRAM_SUFFIXES.contains(&suffix),
            };
            fits.then_some((metric, suffix))
        })
        .unwrap_or_else(|| panic!("{} is none of the metrics the queries know", sample.name));
    let name = match metric.kind {
        Kind::Counter => Dialect::Prometheus.series_name(metric),
        Kind::Histogram => {
            let buckets = Dialect::Prometheus.series_name(metric);
            format!("{}{suffix}", buckets.trim_end_matches("_bucket"))
        }
    };
    let labels = sample
        .labels
        .iter()
        .filter(|(key, _)| key.as_str() != "location")
        .map(|(key, value)| (key.replace('.', "_"), value.clone()))
        .collect();
    Sample {
        name,
        labels,
        value: sample.value,
    }
}

/// Samples by selector; a selector seen twice fails the test.
fn by_selector(samples: impl IntoIterator<Item = Sample>) -> BTreeMap<String, f64> {
    let mut map = BTreeMap::new();
    for sample in samples {
        let selector = sample.selector();
        assert!(map.insert(selector.clone(), sample.value).is_none(), "{selector} twice");
    }
    map
}

/// The Telemetry API's patterns for metric names and label keys
/// (<https://cloud.google.com/stackdriver/docs/otlp-metrics/overview>):
/// `[a-zA-Z][a-zA-Z0-9_:./-]*` and `[a-zA-Z_][a-zA-Z0-9_.]*`.
fn accepted_by_the_telemetry_api(sample: &Sample) -> bool {
    let name_ok = sample.name.starts_with(|c: char| c.is_ascii_alphabetic())
        && sample
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_:./-".contains(c));
    let key_ok = |key: &str| {
        key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || "_.".contains(c))
    };
    name_ok && sample.labels.keys().all(|key| key_ok(key))
}

fn has_series(store: &BTreeMap<String, f64>, dialect: Dialect, metric: &Metric) -> bool {
    let name = dialect.series_name(metric);
    store
        .keys()
        .any(|selector| selector.starts_with(&format!("{name}{{")) || selector.starts_with(&format!("{{{name:?},")))
}

#[test]
fn telemetry_api_series_translate_exactly_to_prometheus_naming() {
    let service = Service::new(PROBE);
    // Calls that succeed and fail, and calls against a latency objective.
    service.run(&["rare", "100", "10"], &[]);
    service.run(&["timed", "10", "0"], &[]);
    let exports = service.exports();
    assert!(!exports.is_empty(), "the probe exported points");

    for points in &exports {
        let google: Vec<Sample> = points.iter().flat_map(|p| stored(p, Naming::TelemetryApi)).collect();
        for sample in &google {
            assert!(accepted_by_the_telemetry_api(sample), "{}", sample.selector());
            assert_eq!(sample.labels.get("location").map(String::as_str), Some("global"));
        }
        let prometheus = by_selector(points.iter().flat_map(|p| stored(p, Naming::Prometheus)));
        let translated = by_selector(google.iter().map(in_prometheus_naming));
        assert_eq!(translated, prometheus);
    }

    // The last export holds every series; the queries' names are there.
    let last = exports.last().map(Vec::as_slice).unwrap_or_default();
    let google = by_selector(last.iter().flat_map(|p| stored(p, Naming::TelemetryApi)));
    let prometheus = by_selector(last.iter().flat_map(|p| stored(p, Naming::Prometheus)));
    for metric in [FUNCTION_CALLS, FUNCTION_DURATION] {
        assert!(has_series(&google, Dialect::Otlp, &metric), "{}", metric.name);
        assert!(has_series(&prometheus, Dialect::Prometheus, &metric), "{}", metric.name);
    }
    assert!(
        prometheus
            .keys()
            .any(|selector| selector.contains("objective_latency_ms=")),
        "{prometheus:#?}"
    );
}
