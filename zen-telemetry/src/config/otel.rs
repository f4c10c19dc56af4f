//! The OpenTelemetry SDK's own variables beyond OTLP's: the resource, the
//! sampler, the exporters per signal and the span limits. `ZEN_*` variables
//! that say the same win (the caller reads them after these).

use std::time::Duration;

use super::env::{EnvReader, decoded_pairs};
use super::settings::{Config, ExporterKind, SpanLimits};

/// Reads the variables into `config`, warning once per bad one.
pub(crate) fn read(reader: &mut EnvReader<'_>, config: &mut Config) {
    if let Some(pairs) = decoded_pairs(reader, "OTEL_RESOURCE_ATTRIBUTES", |key, value| {
        if key.is_empty() {
            return Err("has an empty key");
        }
        Ok((key, value))
    }) {
        config.resource_attributes = pairs;
    }
    sampler(reader, config);
    if let Some(kind) = exporter(reader, "OTEL_TRACES_EXPORTER") {
        config.exporter = kind;
    }
    config.metrics_exporter = exporter(reader, "OTEL_METRICS_EXPORTER");
    let positive = |v: u64| v > 0;
    if let Some(ms) = reader.number(
        "OTEL_METRIC_EXPORT_TIMEOUT",
        "milliseconds, a whole number above 0",
        positive,
    ) {
        config.metric_export_timeout = Duration::from_millis(ms);
    }
    let limits = &mut config.span_limits;
    let count = "a whole number (0 keeps none)";
    if let Some(n) = reader.number("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", count, |_: u32| true) {
        limits.attribute_count = n;
    }
    if let Some(n) = reader.number("OTEL_SPAN_EVENT_COUNT_LIMIT", count, |_: u32| true) {
        limits.event_count = n;
    }
    if let Some(n) = reader.number(
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        "a whole number of characters",
        |_: u32| true,
    ) {
        limits.attribute_value_length = Some(n);
    }
}

/// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
fn sampler(reader: &mut EnvReader<'_>, config: &mut Config) {
    let Some(raw) = reader.non_empty("OTEL_TRACES_SAMPLER") else {
        return;
    };
    let name = raw.to_ascii_lowercase();
    let (parent_based, kind) = match name.strip_prefix("parentbased_") {
        Some(kind) => (true, kind),
        None => (false, name.as_str()),
    };
    let rate = match kind {
        "always_on" => 1.0,
        "always_off" => 0.0,
        "traceidratio" => reader
            .number(
                "OTEL_TRACES_SAMPLER_ARG",
                "a number from 0.0 to 1.0 (traceidratio's ratio)",
                |v: f64| (0.0..=1.0).contains(&v),
            )
            .unwrap_or(1.0),
        _ => {
            reader.warn(
                "OTEL_TRACES_SAMPLER",
                raw,
                "always_on, always_off, traceidratio or parentbased_ with one of them; using zen's default",
            );
            return;
        }
    };
    config.sample_rate = rate;
    config.sampler_parent_based = parent_based;
}

fn exporter(reader: &mut EnvReader<'_>, variable: &'static str) -> Option<ExporterKind> {
    let raw = reader.non_empty(variable)?;
    // The specification allows a list; zen sends each signal to one place.
    let first = raw.split(',').next().unwrap_or_default().trim().to_ascii_lowercase();
    let kind = match first.as_str() {
        "otlp" => ExporterKind::Otlp,
        "console" => ExporterKind::Stdout,
        "none" => ExporterKind::None,
        _ => {
            reader.warn(variable, raw, "otlp, console or none; using zen's choice");
            return None;
        }
    };
    if raw.contains(',') {
        reader.warn(
            variable,
            raw,
            &format!("one exporter (zen-telemetry sends each signal to one place); using {first}"),
        );
    }
    Some(kind)
}

impl Default for SpanLimits {
    fn default() -> Self {
        SpanLimits {
            attribute_count: 128,
            event_count: 128,
            attribute_value_length: None,
        }
    }
}
