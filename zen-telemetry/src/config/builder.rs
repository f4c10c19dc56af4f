//! Configuration in code: what a builder sets wins over the environment.

use std::path::PathBuf;
use std::time::Duration;

use super::gcp::{GcpProject, ProjectSource};
use super::settings::{BatchSettings, Config, DisabledBy, ExporterKind};

impl Config {
    /// Starts a builder from the environment: this reads the process
    /// environment now, as loading the program did (Google Cloud's files are
    /// read when the pipeline starts), and what the builder sets wins over
    /// it. To ignore the environment, start from
    /// `Config::default().to_builder()`; the user's opt-out
    /// (`ZEN_TELEMETRY_DISABLED`, `OTEL_SDK_DISABLED`) holds either way.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder {
            config: Config::from_env().0,
        }
    }

    /// A builder starting from this configuration.
    pub fn to_builder(self) -> ConfigBuilder {
        ConfigBuilder { config: self }
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
    /// Turns telemetry off (`true`), or leaves it on (`false`, the default).
    /// `false` never undoes the user's opt-out: with `ZEN_TELEMETRY_DISABLED`
    /// or `OTEL_SDK_DISABLED` set, [`init_with`](crate::init_with) keeps
    /// telemetry disabled whatever the configuration says.
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

    /// Sends spans and metric points of the `otlp` exporter to `endpoint`
    /// (as `OTEL_EXPORTER_OTLP_ENDPOINT` does). Not an absolute `http://`
    /// or `https://` URL: ignored, as a bad variable is.
    pub fn otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        if let Some(endpoint) = super::otlp::checked_endpoint(&endpoint.into()) {
            for destination in [&mut self.config.otlp.traces, &mut self.config.otlp.metrics] {
                destination.endpoint = Some(endpoint.clone());
                destination.rejected_endpoint = None;
            }
        }
        self
    }

    /// Adds a header to the `otlp` exporter's requests, of spans and metric
    /// points alike (as `OTEL_EXPORTER_OTLP_HEADERS` does); the name is
    /// lower-cased. A pair that is not a valid HTTP header is ignored.
    pub fn otlp_header(mut self, name: &str, value: impl Into<String>) -> Self {
        let (name, value) = (name.trim().to_ascii_lowercase(), value.into());
        if super::otlp::checked_header(&name, &value).is_ok() {
            for destination in [&mut self.config.otlp.traces, &mut self.config.otlp.metrics] {
                destination.headers.retain(|(known, _)| *known != name);
                destination.headers.push((name.clone(), value.clone()));
            }
        }
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

    /// Count and time every traced call and export metrics (`true`, the
    /// default), or keep traces only (`false`).
    pub fn metrics(mut self, on: bool) -> Self {
        self.config.metrics = on;
        self
    }

    /// Time between two metric exports; zero keeps the current interval.
    pub fn metric_export_interval(mut self, interval: Duration) -> Self {
        if !interval.is_zero() {
            self.config.metric_export_interval = interval;
        }
        self
    }

    /// Where the `file` exporter writes metric points.
    pub fn metrics_file_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.metrics_file_path = Some(path.into());
        self
    }

    /// The finished configuration.
    pub fn build(self) -> Config {
        self.config
    }
}
