//! Configuration: read once when the program loads, overridable in code.
//!
//! Precedence, highest first: values set through [`ConfigBuilder`] in code,
//! `ZEN_*` variables, `OTEL_*` variables, defaults. An invalid value is never
//! fatal: it produces one warning naming the variable, the value and what was
//! expected, and the default is used.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::gcp::{GcpProject, GcpSettings, ProjectSource};

/// Where finished spans go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExporterKind {
    /// Google Cloud when a project is known from variables or files, else
    /// OTLP when an OTLP endpoint is set, else Google Cloud if the metadata
    /// server (asked at the first span) names a project, else nothing.
    Auto,
    /// OTLP to Google's Telemetry API.
    Gcp,
    /// OTLP/gRPC to `OTEL_EXPORTER_OTLP_ENDPOINT`.
    Otlp,
    /// One readable line per span on standard output.
    Stdout,
    /// JSON lines, one finished span per line, to `ZEN_TELEMETRY_FILE`.
    File,
    /// Record nothing.
    None,
}

impl ExporterKind {
    /// The name used in `ZEN_TELEMETRY_EXPORTER`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExporterKind::Auto => "auto",
            ExporterKind::Gcp => "gcp",
            ExporterKind::Otlp => "otlp",
            ExporterKind::Stdout => "stdout",
            ExporterKind::File => "file",
            ExporterKind::None => "none",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        Some(match value.trim().to_ascii_lowercase().as_str() {
            "auto" => ExporterKind::Auto,
            "gcp" | "google" => ExporterKind::Gcp,
            "otlp" => ExporterKind::Otlp,
            "stdout" => ExporterKind::Stdout,
            "file" => ExporterKind::File,
            "none" => ExporterKind::None,
            _ => return None,
        })
    }
}

impl fmt::Display for ExporterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which switch turned telemetry off, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisabledBy {
    /// `disabled(true)` in code.
    Code,
    /// `ZEN_TELEMETRY_DISABLED` with a value that disables.
    ZenTelemetryDisabled,
    /// `OTEL_SDK_DISABLED=true`.
    OtelSdkDisabled,
}

impl fmt::Display for DisabledBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DisabledBy::Code => "disabled in code",
            DisabledBy::ZenTelemetryDisabled => "ZEN_TELEMETRY_DISABLED",
            DisabledBy::OtelSdkDisabled => "OTEL_SDK_DISABLED",
        })
    }
}

/// Batch span processor settings (`OTEL_BSP_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchSettings {
    /// Spans held while waiting for export; more are dropped, never blocked on.
    pub max_queue_size: usize,
    /// Spans sent in one export request.
    pub max_export_batch_size: usize,
    /// Time between two scheduled exports.
    pub schedule_delay: Duration,
    /// The longest one export may take.
    pub export_timeout: Duration,
}

impl Default for BatchSettings {
    fn default() -> Self {
        BatchSettings {
            max_queue_size: 2048,
            max_export_batch_size: 512,
            schedule_delay: Duration::from_millis(5000),
            export_timeout: Duration::from_millis(30000),
        }
    }
}

/// The resolved telemetry configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `Some(switch)` when telemetry is off.
    pub disabled_by: Option<DisabledBy>,
    /// Fraction of root spans recorded, 0.0–1.0.
    pub sample_rate: f64,
    /// `service.name`.
    pub service_name: String,
    /// `service.version`.
    pub service_version: String,
    /// The exporter asked for (before `auto` is resolved).
    pub exporter: ExporterKind,
    /// Path of the `file` exporter.
    pub file_path: PathBuf,
    /// Batch processor settings.
    pub batch: BatchSettings,
    /// The most that flushing at exit may add to the program's exit.
    pub shutdown_timeout: Duration,
    /// Print the resolved configuration and export errors to stderr.
    pub debug: bool,
    /// Whether an OTLP endpoint variable is set (for `auto`).
    pub otlp_endpoint_set: bool,
    /// Google Cloud project, endpoint and credentials.
    pub gcp: GcpSettings,
    /// Export the (scrubbed) text of errors and panics; `false` keeps only
    /// the type (`ZEN_TELEMETRY_ERROR_MESSAGES`).
    pub error_messages: bool,
}

/// Default `service.name`.
pub const DEFAULT_SERVICE_NAME: &str = "zen-library";
/// Default fraction of root spans recorded.
pub const DEFAULT_SAMPLE_RATE: f64 = 0.1;
/// Default `ZEN_TELEMETRY_FILE`.
pub const DEFAULT_FILE: &str = "zen-traces.jsonl";
/// Default `ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS`.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(3000);

impl Default for Config {
    fn default() -> Self {
        Config {
            disabled_by: None,
            sample_rate: DEFAULT_SAMPLE_RATE,
            service_name: DEFAULT_SERVICE_NAME.to_owned(),
            service_version: env!("CARGO_PKG_VERSION").to_owned(),
            exporter: ExporterKind::Auto,
            file_path: PathBuf::from(DEFAULT_FILE),
            batch: BatchSettings::default(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            debug: false,
            otlp_endpoint_set: false,
            gcp: GcpSettings::default(),
            error_messages: true,
        }
    }
}

/// One problem found in the environment. Printed once, never fatal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The variable.
    pub variable: &'static str,
    /// The value found.
    pub value: String,
    /// What would have been accepted, and what is used instead.
    pub expected: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "zen-telemetry: warning: {}={:?} is not valid: expected {}",
            self.variable, self.value, self.expected
        )
    }
}

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
            disabled_by: reader.disabled_by(),
            ..Config::default()
        };
        if let Some(rate) = reader.number("ZEN_TELEMETRY_SAMPLE_RATE", "a number from 0.0 to 1.0", |v: f64| {
            (0.0..=1.0).contains(&v)
        }) {
            config.sample_rate = rate;
        }
        if let Some(name) = reader
            .non_empty("ZEN_SERVICE_NAME")
            .or_else(|| reader.non_empty("OTEL_SERVICE_NAME"))
        {
            config.service_name = name;
        }
        if let Some(version) = reader.non_empty("ZEN_SERVICE_VERSION") {
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
        if let Some(raw) = reader.raw("ZEN_TELEMETRY_FILE") {
            let path = PathBuf::from(&raw);
            let parent_missing = path
                .parent()
                .is_some_and(|dir| !dir.as_os_str().is_empty() && !dir.is_dir());
            if raw.trim().is_empty() || raw.contains('\0') || parent_missing || path.is_dir() {
                reader.warn(
                    "ZEN_TELEMETRY_FILE",
                    raw,
                    &format!("a file path in an existing directory; using {DEFAULT_FILE}"),
                );
            } else {
                config.file_path = PathBuf::from(raw);
            }
        }
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
        config.otlp_endpoint_set = reader.non_empty("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
            || reader.non_empty("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();

        config.gcp = crate::gcp::detect(&lookup, &mut reader.warnings);

        (config, reader.warnings)
    }

    /// Starts a builder from the environment; what the builder sets wins.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder {
            config: Config::from_env().0,
        }
    }

    /// A builder starting from this configuration.
    pub fn to_builder(self) -> ConfigBuilder {
        ConfigBuilder { config: self }
    }

    /// True when no switch turned telemetry off.
    pub fn is_enabled(&self) -> bool {
        self.disabled_by.is_none()
    }

    /// The exporter that will actually be used, `auto` resolved.
    pub fn resolved_exporter(&self) -> ExporterKind {
        match self.exporter {
            ExporterKind::Auto => {
                if self.gcp.project.is_some() {
                    ExporterKind::Gcp
                } else if self.otlp_endpoint_set {
                    ExporterKind::Otlp
                } else if self.gcp.metadata_check {
                    // The metadata server is asked at the first span, off the
                    // start-up path; with no project there, recording stops.
                    ExporterKind::Gcp
                } else {
                    ExporterKind::None
                }
            }
            other => other,
        }
    }

    /// True when spans will be recorded: enabled and with a destination.
    pub fn will_record(&self) -> bool {
        self.is_enabled() && self.resolved_exporter() != ExporterKind::None
    }
}

fn clamp_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

struct EnvReader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    warnings: Vec<ConfigWarning>,
}

impl EnvReader<'_> {
    fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    fn non_empty(&self, name: &str) -> Option<String> {
        self.raw(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    fn warn(&mut self, variable: &'static str, value: String, expected: &str) {
        self.warnings.push(ConfigWarning {
            variable,
            value,
            expected: expected.to_owned(),
        });
    }

    /// `Some(true)`/`Some(false)` for a recognised flag, `None` when unset,
    /// empty or invalid (the caller keeps `default`, which the warning names).
    fn flag(&mut self, name: &'static str, default: bool) -> Option<bool> {
        let raw = self.non_empty(name)?;
        match parse_flag(&raw) {
            Some(value) => Some(value),
            None => {
                let using = if default { "on" } else { "off" };
                self.warn(name, raw, &format!("1/true/yes/on or 0/false/no/off; using {using}"));
                None
            }
        }
    }

    fn number<T: std::str::FromStr + Copy>(
        &mut self,
        name: &'static str,
        expected: &str,
        valid: impl Fn(T) -> bool,
    ) -> Option<T> {
        let raw = self.non_empty(name)?;
        match raw.parse::<T>() {
            Ok(value) if valid(value) => Some(value),
            _ => {
                self.warn(name, raw, &format!("{expected}; using the default"));
                None
            }
        }
    }

    fn disabled_by(&mut self) -> Option<DisabledBy> {
        if let Some(raw) = self.non_empty("ZEN_TELEMETRY_DISABLED") {
            match parse_flag(&raw) {
                Some(true) => return Some(DisabledBy::ZenTelemetryDisabled),
                Some(false) => {}
                None => {
                    // An opt-out must fail closed: an unclear value disables.
                    self.warn(
                        "ZEN_TELEMETRY_DISABLED",
                        raw,
                        "1/true/yes/on to disable or 0/false/no/off to keep telemetry on; telemetry is disabled",
                    );
                    return Some(DisabledBy::ZenTelemetryDisabled);
                }
            }
        }
        if let Some(raw) = self.non_empty("OTEL_SDK_DISABLED") {
            match parse_flag(&raw) {
                Some(true) => return Some(DisabledBy::OtelSdkDisabled),
                Some(false) => {}
                None => self.warn("OTEL_SDK_DISABLED", raw, "true or false; using false"),
            }
        }
        None
    }
}

pub(crate) fn parse_flag(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

/// Configures telemetry in code. Anything set here wins over the environment.
///
/// ```
/// let config = zen_telemetry::Config::builder()
///     .service_name("billing")
///     .sample_rate(0.5)
///     .build();
/// assert_eq!(config.service_name, "billing");
/// assert_eq!(config.sample_rate, 0.5);
/// ```
#[derive(Clone, Debug)]
pub struct ConfigBuilder {
    config: Config,
}

impl ConfigBuilder {
    /// Turns telemetry off (`true`) or on (`false`) regardless of the environment.
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.config.disabled_by = disabled.then_some(DisabledBy::Code);
        self
    }

    /// Fraction of root spans recorded; clamped to 0.0–1.0 (NaN means 0).
    pub fn sample_rate(mut self, rate: f64) -> Self {
        self.config.sample_rate = if rate.is_nan() { 0.0 } else { rate.clamp(0.0, 1.0) };
        self
    }

    /// `service.name`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.config.service_name = name.into();
        self
    }

    /// `service.version`.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.config.service_version = version.into();
        self
    }

    /// The exporter.
    pub fn exporter(mut self, exporter: ExporterKind) -> Self {
        self.config.exporter = exporter;
        self
    }

    /// Path of the `file` exporter.
    pub fn file_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.file_path = path.into();
        self
    }

    /// Batch processor settings.
    pub fn batch(mut self, batch: BatchSettings) -> Self {
        self.config.batch = batch;
        self
    }

    /// The most that flushing at exit may add to the program's exit.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown_timeout = timeout;
        self
    }

    /// Sends spans to this Google Cloud project (checked as a project id).
    pub fn gcp_project(mut self, project_id: impl Into<String>) -> Self {
        self.config.gcp.project = Some(GcpProject {
            id: project_id.into(),
            source: ProjectSource::Code,
        });
        self
    }

    /// Sends Google Cloud spans to this endpoint instead of Google's Telemetry API.
    pub fn gcp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.config.gcp.endpoint = endpoint.into();
        self
    }

    /// Print the resolved configuration and export errors to stderr.
    pub fn debug(mut self, debug: bool) -> Self {
        self.config.debug = debug;
        self
    }

    /// Export the scrubbed text of errors and panics (`true`, the default) or
    /// only their type (`false`).
    pub fn error_messages(mut self, on: bool) -> Self {
        self.config.error_messages = on;
        self
    }

    /// The finished configuration.
    pub fn build(self) -> Config {
        self.config
    }
}
