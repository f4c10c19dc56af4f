//! Configuration in code: what a builder sets wins over the environment.

use std::path::PathBuf;
use std::time::Duration;

use super::gcp::{GcpProject, ProjectSource};
use super::otlp::{OtlpCompression, OtlpProtocol, TlsFile};
use super::settings::{BatchSettings, Config, DisabledBy, ExporterKind, SpoolSettings};

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
    /// (as `OTEL_EXPORTER_OTLP_ENDPOINT` does: over HTTP, `/v1/traces` and
    /// `/v1/metrics` are appended). Not an absolute `http://` or `https://`
    /// URL: ignored, as a bad variable is.
    pub fn otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        if let Some(endpoint) = super::otlp::checked_endpoint(&endpoint.into()) {
            for destination in self.config.otlp.both_mut() {
                destination.set_endpoint(endpoint.clone(), false);
            }
        }
        self
    }

    /// Sends spans to `endpoint`, used as given over HTTP too (as
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` does).
    pub fn otlp_traces_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        if let Some(endpoint) = super::otlp::checked_endpoint(&endpoint.into()) {
            self.config.otlp.traces.set_endpoint(endpoint, true);
        }
        self
    }

    /// Sends metric points to `endpoint`, used as given over HTTP too (as
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` does).
    pub fn otlp_metrics_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        if let Some(endpoint) = super::otlp::checked_endpoint(&endpoint.into()) {
            self.config.otlp.metrics.set_endpoint(endpoint, true);
        }
        self
    }

    /// OTLP over gRPC or HTTP, for both signals (`OTEL_EXPORTER_OTLP_PROTOCOL`).
    pub fn otlp_protocol(mut self, protocol: OtlpProtocol) -> Self {
        for destination in self.config.otlp.both_mut() {
            destination.protocol = protocol;
        }
        self
    }

    /// Compresses OTLP request bodies of both signals (`OTEL_EXPORTER_OTLP_COMPRESSION`).
    pub fn otlp_compression(mut self, compression: OtlpCompression) -> Self {
        for destination in self.config.otlp.both_mut() {
            destination.compression = Some(compression);
        }
        self
    }

    /// The longest one OTLP request may take (`OTEL_EXPORTER_OTLP_TIMEOUT`).
    pub fn otlp_timeout(mut self, timeout: Duration) -> Self {
        for destination in self.config.otlp.both_mut() {
            destination.timeout = Some(timeout);
        }
        self
    }

    /// Trusts the CA certificates in this PEM file for `https://` OTLP
    /// endpoints, besides the system's and Mozilla's roots
    /// (`OTEL_EXPORTER_OTLP_CERTIFICATE`). Read when the pipeline starts.
    pub fn otlp_certificate(mut self, path: impl Into<PathBuf>) -> Self {
        let file = TlsFile::new("code", path.into());
        for destination in self.config.otlp.both_mut() {
            destination.tls.certificate = Some(file.clone());
        }
        self
    }

    /// Presents this client certificate chain and key (PEM files) to OTLP
    /// endpoints that ask, for mutual TLS (`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`,
    /// `OTEL_EXPORTER_OTLP_CLIENT_KEY`). Read when the pipeline starts.
    pub fn otlp_client_identity(mut self, certificate: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        let (certificate, key) = (
            TlsFile::new("code", certificate.into()),
            TlsFile::new("code", key.into()),
        );
        for destination in self.config.otlp.both_mut() {
            destination.tls.client_certificate = Some(certificate.clone());
            destination.tls.client_key = Some(key.clone());
        }
        self
    }

    /// Adds a resource attribute of the user's (as `OTEL_RESOURCE_ATTRIBUTES`
    /// does); zen's own keys (`service.*`, `telemetry.sdk.*`) keep zen's values.
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        self.config.resource_attributes.retain(|(known, _)| *known != key);
        self.config.resource_attributes.push((key, value.into()));
        self
    }

    /// Sends metric points somewhere else than spans (`OTEL_METRICS_EXPORTER`).
    pub fn metrics_exporter(mut self, exporter: ExporterKind) -> Self {
        self.config.metrics_exporter = Some(exporter);
        self
    }

    /// The spool of undelivered batches (`ZEN_TELEMETRY_SPOOL*`).
    pub fn spool(mut self, spool: SpoolSettings) -> Self {
        self.config.spool = spool;
        self
    }

    /// Adds a header to the `otlp` exporter's requests, of spans and metric
    /// points alike (as `OTEL_EXPORTER_OTLP_HEADERS` does); the name is
    /// lower-cased. A pair that is not a valid HTTP header is ignored.
    pub fn otlp_header(mut self, name: &str, value: impl Into<String>) -> Self {
        let (name, value) = (name.trim().to_ascii_lowercase(), value.into());
        if super::otlp::checked_header(&name, &value).is_ok() {
            for destination in self.config.otlp.both_mut() {
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

    /// Let the `opentelemetry` API change the spans of sync traced calls
    /// (`true`, the default) or show it their span context only (`false`);
    /// see [`Config::mutable_spans`].
    pub fn mutable_spans(mut self, on: bool) -> Self {
        self.config.mutable_spans = on;
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

    /// Metric series continue from run to run (default) or start afresh in
    /// every process; see [`Config::metrics_across_runs`].
    pub fn metrics_across_runs(mut self, on: bool) -> Self {
        self.config.metrics_across_runs = on;
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
