//! Loading the configuration from the environment, and nothing else: no file
//! is opened here (Google Cloud's files wait for `Config::read_files`), and
//! while disabled no path is even looked at.

use std::path::PathBuf;
use std::time::Duration;

use super::env::{ConfigWarning, EnvReader, parse_flag};
use super::gcp;
use super::settings::{Config, DEFAULT_FILE, DisabledBy, ExporterKind, MAX_NAME_CHARS, SpoolSettings};

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> (Config, Vec<ConfigWarning>) {
        Config::from_lookup(|name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()))
    }

    /// Reads configuration through `lookup` (a variable name to its value),
    /// so it can be tested without touching the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> (Config, Vec<ConfigWarning>) {
        let mut reader = EnvReader {
            lookup: &lookup,
            warnings: Vec::new(),
        };
        let mut config = Config {
            disabled_by: disabled_by(&mut reader),
            ..Config::default()
        };
        // The OTel SDK's variables first: a `ZEN_*` variable saying the same wins.
        super::otel::read(&mut reader, &mut config);
        if let Some(rate) = reader.number("ZEN_TELEMETRY_SAMPLE_RATE", "a number from 0.0 to 1.0", |v: f64| {
            (0.0..=1.0).contains(&v)
        }) {
            config.sample_rate = rate;
        }
        let name_variable = ["ZEN_SERVICE_NAME", "OTEL_SERVICE_NAME"]
            .into_iter()
            .find(|name| reader.non_empty(name).is_some());
        if let Some(variable) = name_variable
            && let Some(name) = bounded(&mut reader, variable)
        {
            config.service_name = name;
        } else if let Some((_, name)) = config
            .resource_attributes
            .iter()
            .find(|(key, value)| key == "service.name" && !value.trim().is_empty())
        {
            // The specification: `OTEL_SERVICE_NAME` wins over this one.
            config.service_name = name.chars().take(MAX_NAME_CHARS).collect();
        }
        if let Some(version) = bounded(&mut reader, "ZEN_SERVICE_VERSION") {
            config.service_version = version;
        }
        if let Some(raw) = reader.non_empty("ZEN_TELEMETRY_EXPORTER") {
            match ExporterKind::parse(&raw) {
                Some(kind) => config.exporter = kind,
                None => reader.warn(
                    "ZEN_TELEMETRY_EXPORTER",
                    raw,
                    "one of auto, gcp, otlp, stdout, file, none; using auto",
                ),
            }
        }
        let disabled = config.is_disabled();
        if let Some(path) = file_path(&mut reader, "ZEN_TELEMETRY_FILE", DEFAULT_FILE, disabled) {
            config.file_path = path;
        }
        config.metrics_file_path = file_path(
            &mut reader,
            "ZEN_TELEMETRY_METRICS_FILE",
            "the span file's path with .metrics.jsonl",
            disabled,
        );
        let positive = |v: u64| v > 0;
        if let Some(n) = reader.number("OTEL_BSP_MAX_QUEUE_SIZE", "a whole number above 0", positive) {
            config.batch.max_queue_size = clamp_usize(n);
        }
        if let Some(n) = reader.number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "a whole number above 0", positive) {
            config.batch.max_export_batch_size = clamp_usize(n);
        }
        if let Some(ms) = reader.number(
            "OTEL_BSP_SCHEDULE_DELAY",
            "milliseconds, a whole number above 0",
            positive,
        ) {
            config.batch.schedule_delay = Duration::from_millis(ms);
        }
        if let Some(ms) = reader.number(
            "OTEL_BSP_EXPORT_TIMEOUT",
            "milliseconds, a whole number above 0",
            positive,
        ) {
            config.batch.export_timeout = Duration::from_millis(ms);
        }
        // The OTel spec says the batch may not exceed the queue.
        config.batch.max_export_batch_size = config.batch.max_export_batch_size.min(config.batch.max_queue_size);
        if let Some(ms) = reader.number(
            "ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS",
            "milliseconds, a whole number from 0 to 600000",
            |v: u64| v <= 600_000,
        ) {
            config.shutdown_timeout = Duration::from_millis(ms);
        }
        if let Some(debug) = reader.flag("ZEN_TELEMETRY_DEBUG", false) {
            config.debug = debug;
        }
        if let Some(on) = reader.flag("ZEN_TELEMETRY_ERROR_MESSAGES", true) {
            config.error_messages = on;
        }
        if let Some(on) = reader.flag("ZEN_TELEMETRY_MUTABLE_SPANS", true) {
            config.mutable_spans = on;
        }
        if let Some(on) = reader.flag("ZEN_TELEMETRY_METRICS", true) {
            config.metrics = on;
        }
        if let Some(ms) = reader.number(
            "OTEL_METRIC_EXPORT_INTERVAL",
            "milliseconds, a whole number above 0",
            positive,
        ) {
            config.metric_export_interval = Duration::from_millis(ms);
        }
        if let Some(on) = reader.flag("ZEN_TELEMETRY_SPOOL", true) {
            config.spool.enabled = on;
        }
        config.spool.root = SpoolSettings::default_root(&lookup);
        if let Some(on) = reader.flag("ZEN_TELEMETRY_METRICS_ACROSS_RUNS", true) {
            config.metrics_across_runs = on;
        }
        config.series_root = super::settings::state_dir(&lookup).map(|state| state.join("series"));
        config.home_dir = home_dir(&lookup);
        if let Some(bytes) = reader.number(
            "ZEN_TELEMETRY_SPOOL_MAX_BYTES",
            "bytes, a whole number above 0",
            positive,
        ) {
            config.spool.max_bytes = bytes;
        }
        if let Some(ms) = reader.number(
            "ZEN_TELEMETRY_SPOOL_EXIT_BUDGET_MS",
            "milliseconds, a whole number from 0 to 600000",
            |v: u64| v <= 600_000,
        ) {
            config.spool.exit_budget = Duration::from_millis(ms);
        }
        config.otlp = super::otlp::read(&mut reader);

        config.process_parent = super::parent::read(&mut reader);
        config.gcp = gcp::detect(&lookup, &mut reader.warnings);

        (config, reader.warnings)
    }
}

/// A path in an existing directory, or `None` with a warning naming `default`.
/// While `disabled`, the file system is not asked: only the text is checked.
fn file_path(reader: &mut EnvReader<'_>, variable: &'static str, default: &str, disabled: bool) -> Option<PathBuf> {
    let raw = reader.raw(variable)?;
    let path = PathBuf::from(&raw);
    let parent_missing = || {
        path.parent()
            .is_some_and(|dir| !dir.as_os_str().is_empty() && !dir.is_dir())
    };
    if raw.trim().is_empty() || raw.contains('\0') || (!disabled && (parent_missing() || path.is_dir())) {
        reader.warn(
            variable,
            raw,
            &format!("a file path in an existing directory; using {default}"),
        );
        return None;
    }
    Some(path)
}

/// The value of a name or resource variable, cut to [`MAX_NAME_CHARS`]
/// characters with a warning when longer.
fn bounded(reader: &mut EnvReader<'_>, variable: &'static str) -> Option<String> {
    let value = reader.non_empty(variable)?;
    match value.char_indices().nth(MAX_NAME_CHARS) {
        None => Some(value),
        Some((cut, _)) => {
            let kept = value[..cut].to_owned();
            reader.warn(
                variable,
                value,
                &format!("at most {MAX_NAME_CHARS} characters; using the first {MAX_NAME_CHARS}"),
            );
            Some(kept)
        }
    }
}

/// The user's home directory, when the variable names an absolute path.
fn home_dir(lookup: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let variable = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    lookup(variable).map(PathBuf::from).filter(|path| path.is_absolute())
}

fn clamp_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// `Some(switch)` when a variable disables telemetry.
fn disabled_by(reader: &mut EnvReader<'_>) -> Option<DisabledBy> {
    if let Some(raw) = reader.non_empty("ZEN_TELEMETRY_DISABLED") {
        match parse_flag(&raw) {
            Some(true) => return Some(DisabledBy::ZenTelemetryDisabled),
            Some(false) => {}
            None => {
                // An opt-out must fail closed: an unclear value disables.
                reader.warn(
                    "ZEN_TELEMETRY_DISABLED",
                    raw,
                    "1/true/yes/on to disable or 0/false/no/off to keep telemetry on; telemetry is disabled",
                );
                return Some(DisabledBy::ZenTelemetryDisabled);
            }
        }
    }
    if let Some(raw) = reader.non_empty("OTEL_SDK_DISABLED") {
        match parse_flag(&raw) {
            Some(true) => return Some(DisabledBy::OtelSdkDisabled),
            Some(false) => {}
            None => reader.warn("OTEL_SDK_DISABLED", raw, "true or false; using false"),
        }
    }
    None
}
