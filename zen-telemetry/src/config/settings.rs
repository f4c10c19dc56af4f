//! The configuration's types and defaults.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::env::ConfigWarning;
use super::gcp::GcpSettings;
use super::otlp::OtlpSettings;

/// Where finished spans go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExporterKind {
    /// Google Cloud when a project is known from variables or files, else
    /// OTLP when an OTLP endpoint is set, else Google Cloud if the metadata
    /// server (asked at the first span) names a project, else nothing.
    Auto,
    /// OTLP to Google's Telemetry API.
    Gcp,
    /// OTLP (gRPC, or HTTP with `OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`)
    /// to `OTEL_EXPORTER_OTLP_ENDPOINT` ([`Config::otlp`]).
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

    pub(crate) fn parse(value: &str) -> Option<Self> {
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
#[non_exhaustive]
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
#[non_exhaustive]
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

/// Durable delivery: what could not be sent before exit waits on disk for
/// the next process with the same destination (`ZEN_TELEMETRY_SPOOL*`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpoolSettings {
    /// Spool undelivered spans and metric points (`ZEN_TELEMETRY_SPOOL`).
    pub enabled: bool,
    /// The spool's root: `$XDG_STATE_HOME/zen-telemetry/spool`, else (on
    /// Windows) `%LOCALAPPDATA%\zen-telemetry\spool`, else
    /// `$HOME/.local/state/zen-telemetry/spool`; `None` (no spool) without any.
    pub root: Option<PathBuf>,
    /// The most one destination's spool holds; beyond it the oldest batches
    /// are dropped and counted (`ZEN_TELEMETRY_SPOOL_MAX_BYTES`).
    pub max_bytes: u64,
    /// How long the exit flush tries to deliver before spooling the rest
    /// (`ZEN_TELEMETRY_SPOOL_EXIT_BUDGET_MS`); never more than the shutdown timeout.
    pub exit_budget: Duration,
}

/// Default `ZEN_TELEMETRY_SPOOL_MAX_BYTES`: 16 MiB.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 16 * 1024 * 1024;
/// Default `ZEN_TELEMETRY_SPOOL_EXIT_BUDGET_MS`.
pub const DEFAULT_SPOOL_EXIT_BUDGET: Duration = Duration::from_millis(200);

impl Default for SpoolSettings {
    fn default() -> Self {
        SpoolSettings {
            enabled: true,
            root: None,
            max_bytes: DEFAULT_SPOOL_MAX_BYTES,
            exit_budget: DEFAULT_SPOOL_EXIT_BUDGET,
        }
    }
}

impl SpoolSettings {
    /// The spool root: `spool` in [`state_dir`].
    pub(crate) fn default_root(lookup: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
        state_dir(lookup).map(|state| state.join("spool"))
    }

    /// The root in use: `None` when spooling is off or there is no root.
    pub fn active_root(&self) -> Option<&std::path::Path> {
        self.root.as_deref().filter(|_| self.enabled)
    }
}

/// Our directory under `XDG_STATE_HOME`, else `LOCALAPPDATA` on Windows
/// (the user profile's ACLs keep it private there, as mode 0700 does on
/// Unix), else `HOME`, read through `lookup`.
pub(crate) fn state_dir(lookup: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let absolute = |value: String| Some(PathBuf::from(value)).filter(|path| path.is_absolute());
    let local_app_data = || match cfg!(windows) {
        true => lookup("LOCALAPPDATA").and_then(absolute),
        false => None,
    };
    let state = lookup("XDG_STATE_HOME")
        .and_then(absolute)
        .or_else(local_app_data)
        .or_else(|| lookup("HOME").and_then(absolute).map(|home| home.join(".local/state")))?;
    Some(state.join("zen-telemetry"))
}

/// The resolved telemetry configuration.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
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
    /// Where the `otlp` exporter sends spans and metric points
    /// (`OTEL_EXPORTER_OTLP_*`).
    pub otlp: OtlpSettings,
    /// Google Cloud project, endpoint and credentials.
    pub gcp: GcpSettings,
    /// Export the (scrubbed) text of errors and panics; `false` keeps only
    /// the type (`ZEN_TELEMETRY_ERROR_MESSAGES`).
    pub error_messages: bool,
    /// Put a sync traced call's whole span into the `opentelemetry`
    /// context, so `get_active_span(|span| span.set_attribute(..))` changes
    /// it (`ZEN_TELEMETRY_MUTABLE_SPANS`, on by default). Off, the span stays
    /// on a thread-local stack and the context holds only its span context
    /// (ids and flags): no `Box` or `Mutex` per call, but not yet measured
    /// faster (README "Performance"); `span_attributes!` works either way.
    pub mutable_spans: bool,
    /// Count and time every traced call, and export those metrics and the
    /// instruments of [`crate::meter_provider`] (`ZEN_TELEMETRY_METRICS`).
    pub metrics: bool,
    /// Time between two metric exports (`OTEL_METRIC_EXPORT_INTERVAL`).
    pub metric_export_interval: Duration,
    /// Where the `file` exporter writes metric points
    /// (`ZEN_TELEMETRY_METRICS_FILE`); `None`: beside the span file, see
    /// [`Config::metrics_file`].
    pub metrics_file_path: Option<PathBuf>,
    /// The spool of undelivered batches.
    pub spool: SpoolSettings,
    /// The traced functions' counts and histograms, and the monotonic sums
    /// and histograms of [`crate::meter_provider`], continue from run to run
    /// (`ZEN_TELEMETRY_METRICS_ACROSS_RUNS`): sequential runs of one service
    /// on one machine export one cumulative series each, kept in a slot
    /// under [`series_root`](Self::series_root). `false`: one series per process.
    pub metrics_across_runs: bool,
    /// Where the slots of [`metrics_across_runs`](Self::metrics_across_runs)
    /// are: `$XDG_STATE_HOME/zen-telemetry/series`, else (on Windows)
    /// `%LOCALAPPDATA%\zen-telemetry\series`, else
    /// `$HOME/.local/state/zen-telemetry/series`; `None`: per-process series.
    pub series_root: Option<PathBuf>,
    /// The remote parent the process was started in (`TRACEPARENT`, with
    /// `TRACESTATE`): every root span joins its trace. `None` when unset or
    /// not valid W3C trace context (warned about).
    pub process_parent: Option<opentelemetry::trace::SpanContext>,
    /// Roots follow the sampled flag of the process parent (`TRACEPARENT`):
    /// true unless `OTEL_TRACES_SAMPLER` names a sampler without `parentbased_`.
    pub sampler_parent_based: bool,
    /// The user's own resource attributes (`OTEL_RESOURCE_ATTRIBUTES`),
    /// under zen's: a key zen sets itself keeps zen's value.
    pub resource_attributes: Vec<(String, String)>,
    /// Where metric points go when not where spans go
    /// (`OTEL_METRICS_EXPORTER`); `None`: with the spans.
    pub metrics_exporter: Option<ExporterKind>,
    /// The longest one metric export may take (`OTEL_METRIC_EXPORT_TIMEOUT`).
    pub metric_export_timeout: Duration,
    /// Span limits (`OTEL_SPAN_*_COUNT_LIMIT`, `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`).
    pub span_limits: SpanLimits,
    /// The user's home directory (`HOME`, on Windows `USERPROFILE`): the
    /// scrubber replaces it in error text, and Google's credentials are
    /// looked up under it.
    pub home_dir: Option<PathBuf>,
}

/// What one span may carry; beyond it, attributes and events are dropped
/// and values cut (the OTel SDK's span limits, applied to every span).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpanLimits {
    /// Attributes per span (default 128).
    pub attribute_count: u32,
    /// Events per span (default 128).
    pub event_count: u32,
    /// Characters per string attribute value; `None`: no limit.
    pub attribute_value_length: Option<u32>,
}

/// Default `OTEL_METRIC_EXPORT_TIMEOUT`, as the OTel specification's.
pub const DEFAULT_METRIC_EXPORT_TIMEOUT: Duration = Duration::from_secs(30);

/// The most characters a service name or version from the environment
/// keeps: each is a resource attribute of every span and a label of every
/// metric series (Cloud Monitoring takes label values of up to 1024 bytes),
/// and a name of hundreds of characters is a mistake, not a name.
pub const MAX_NAME_CHARS: usize = 256;
/// Default `service.name`.
pub const DEFAULT_SERVICE_NAME: &str = "zen-library";
/// Default fraction of root spans recorded.
pub const DEFAULT_SAMPLE_RATE: f64 = 0.1;
/// Default `ZEN_TELEMETRY_FILE`.
pub const DEFAULT_FILE: &str = "zen-traces.jsonl";
/// Default `ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS`.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(3000);
/// Default `OTEL_METRIC_EXPORT_INTERVAL`, as the OTel specification's.
pub const DEFAULT_METRIC_EXPORT_INTERVAL: Duration = Duration::from_secs(60);

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
            otlp: OtlpSettings::default(),
            gcp: GcpSettings::default(),
            error_messages: true,
            mutable_spans: true,
            metrics: true,
            metric_export_interval: DEFAULT_METRIC_EXPORT_INTERVAL,
            metrics_file_path: None,
            spool: SpoolSettings::default(),
            metrics_across_runs: true,
            series_root: None,
            process_parent: None,
            sampler_parent_based: true,
            resource_attributes: Vec::new(),
            metrics_exporter: None,
            metric_export_timeout: DEFAULT_METRIC_EXPORT_TIMEOUT,
            span_limits: SpanLimits::default(),
            home_dir: None,
        }
    }
}

impl Config {
    /// True when a switch (`ZEN_TELEMETRY_DISABLED`, `OTEL_SDK_DISABLED`,
    /// code) disabled telemetry; [`disabled_by`](Self::disabled_by) says which.
    pub fn is_disabled(&self) -> bool {
        self.disabled_by.is_some()
    }

    /// The exporter that will actually be used, `auto` resolved. `auto`
    /// picks only exporters this build has (the `gcp` and `otlp` features).
    /// Until [`read_files`](Self::read_files) ran, a project named only in
    /// Google Cloud's files is not known yet.
    pub fn resolved_exporter(&self) -> ExporterKind {
        let gcp = cfg!(feature = "gcp");
        let otlp = cfg!(feature = "otlp");
        match self.exporter {
            ExporterKind::Auto => {
                if gcp && self.gcp.project.is_some() {
                    ExporterKind::Gcp
                } else if otlp && self.otlp.traces.endpoint.is_some() {
                    ExporterKind::Otlp
                } else if gcp && self.gcp.metadata_check {
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

    /// Where metric points go, `auto` resolved: `OTEL_METRICS_EXPORTER` if
    /// set, else where spans go.
    pub fn resolved_metrics_exporter(&self) -> ExporterKind {
        match self.metrics_exporter {
            Some(ExporterKind::Auto) | None => self.resolved_exporter(),
            Some(kind) => kind,
        }
    }

    /// Where the `file` exporter writes metric points: the path set, else
    /// the span file's with `.metrics.jsonl` for its extension
    /// (`zen-traces.jsonl` → `zen-traces.metrics.jsonl`).
    pub fn metrics_file(&self) -> PathBuf {
        self.metrics_file_path
            .clone()
            .unwrap_or_else(|| self.file_path.with_extension("metrics.jsonl"))
    }

    /// True when this configuration turns telemetry on: not disabled, and
    /// with a destination, or with Google Cloud files still to read that may
    /// name one. [`crate::is_on`] also knows whether it has since shut down
    /// or found no destination.
    pub fn turns_on(&self) -> bool {
        !self.is_disabled() && (self.resolved_exporter() != ExporterKind::None || self.may_find_gcp_project())
    }

    /// `auto`, with Google Cloud's files not read yet: they may name a project.
    fn may_find_gcp_project(&self) -> bool {
        cfg!(feature = "gcp") && self.exporter == ExporterKind::Auto && self.gcp.pending.is_some()
    }

    /// Reads the files the variables point at (Google Cloud's credentials
    /// file and gcloud configuration, the OTLP TLS files), which loading the
    /// configuration leaves alone; returns a warning per bad file. Does
    /// nothing while disabled, or once read. The pipeline calls this when it
    /// starts; [`resolved_exporter`](Self::resolved_exporter) is final after it.
    pub fn read_files(&mut self) -> Vec<ConfigWarning> {
        let mut warnings = Vec::new();
        if !self.is_disabled() {
            super::gcp::read_files(&mut self.gcp, &mut warnings);
            #[cfg(feature = "otlp")]
            super::otlp::read_tls_files(&mut self.otlp, &mut warnings);
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::SpoolSettings;

    fn root(vars: &[(&str, &str)]) -> Option<PathBuf> {
        SpoolSettings::default_root(&|name| {
            vars.iter()
                .find(|(known, _)| *known == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    /// An absolute path on this platform.
    fn absolute(dir: &str) -> String {
        match cfg!(windows) {
            true => format!("C:\\{dir}"),
            false => format!("/{dir}"),
        }
    }

    #[test]
    fn the_spool_root_follows_the_platform_s_state_directory() {
        let (state, appdata, home) = (absolute("state"), absolute("appdata"), absolute("home"));
        let all = [
            ("XDG_STATE_HOME", state.as_str()),
            ("LOCALAPPDATA", appdata.as_str()),
            ("HOME", home.as_str()),
        ];
        let spool = |dir: PathBuf| dir.join("zen-telemetry").join("spool");
        assert_eq!(root(&all), Some(spool(PathBuf::from(&state))));
        let expected = match cfg!(windows) {
            true => spool(PathBuf::from(&appdata)),
            false => spool(PathBuf::from(&home).join(".local/state")),
        };
        assert_eq!(root(&all[1..]), Some(expected));
        assert_eq!(root(&[("HOME", "relative")]), None, "only absolute paths");
        assert_eq!(root(&[]), None);
    }
}
