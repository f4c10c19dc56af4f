//! Configuration: read once when the program loads, overridable in code.
//!
//! Precedence, highest first: values set through [`ConfigBuilder`] in code,
//! `ZEN_*` variables, `OTEL_*` variables, defaults. An invalid value is never
//! fatal: it produces one warning naming the variable, the value and what was
//! expected, and the default is used.
//!
//! - `settings`: the types and their defaults;
//! - `env`: reading one variable, and the warnings;
//! - `load`: the whole configuration from the environment;
//! - `builder`: configuration in code;
//! - `otlp`: the OTLP destinations (endpoint, protocol, headers,
//!   compression, timeout, TLS files), per signal;
//! - `otel`: the other OTel SDK variables (resource, sampler, exporters, limits);
//! - `parent`: the W3C trace context the process was started in;
//! - [`gcp`]: Google Cloud project and credentials detection.

mod builder;
mod env;
pub mod gcp;
mod load;
mod otel;
mod otlp;
mod parent;
mod settings;

pub use builder::ConfigBuilder;
pub use env::ConfigWarning;
pub use otlp::{
    DEFAULT_OTLP_ENDPOINT, DEFAULT_OTLP_HTTP_ENDPOINT, OtlpCompression, OtlpDestination, OtlpProtocol, OtlpSettings,
    TlsFile, TlsFiles,
};
pub(crate) use parent::remote_parent;
pub use settings::{
    BatchSettings, Config, DEFAULT_FILE, DEFAULT_METRIC_EXPORT_INTERVAL, DEFAULT_METRIC_EXPORT_TIMEOUT,
    DEFAULT_SAMPLE_RATE, DEFAULT_SERVICE_NAME, DEFAULT_SHUTDOWN_TIMEOUT, DEFAULT_SPOOL_EXIT_BUDGET,
    DEFAULT_SPOOL_MAX_BYTES, DisabledBy, ExporterKind, MAX_NAME_CHARS, SpanLimits, SpoolSettings,
};
