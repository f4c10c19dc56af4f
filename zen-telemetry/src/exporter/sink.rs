//! Where a signal's data goes: the one selection of the span and the
//! metric threads.

use std::path::PathBuf;
#[cfg(feature = "otlp")]
use std::sync::Arc;

#[cfg(feature = "otlp")]
use super::destination::Destination;
#[cfg(feature = "gcp")]
use super::gcp;
use super::spool::Signal;
use crate::config::{Config, ExporterKind};

/// Where one signal's data goes.
#[derive(Debug)]
pub(crate) enum Sink {
    /// Nowhere.
    None,
    /// One line per span or point on standard output.
    Stdout,
    /// JSON lines in this file.
    File(PathBuf),
    /// An OTLP destination; `google`: Google's Telemetry API, whose limits apply.
    #[cfg(feature = "otlp")]
    Network {
        destination: Arc<Destination>,
        google: bool,
    },
}

/// Where `signal` goes with exporter `kind` (resolved): the one selection
/// for the span and the metric threads.
pub(crate) fn sink(config: &Config, kind: ExporterKind, signal: Signal) -> Result<Sink, String> {
    #[cfg(feature = "otlp")]
    let (otlp, timeout) = match signal {
        Signal::Traces => (&config.otlp.traces, config.batch.export_timeout),
        Signal::Metrics => (&config.otlp.metrics, config.metric_export_timeout),
    };
    Ok(match kind {
        ExporterKind::None | ExporterKind::Auto => Sink::None,
        ExporterKind::Stdout => Sink::Stdout,
        ExporterKind::File => Sink::File(match signal {
            Signal::Traces => config.file_path.clone(),
            Signal::Metrics => config.metrics_file(),
        }),
        #[cfg(feature = "otlp")]
        ExporterKind::Otlp => Sink::Network {
            destination: Arc::new(Destination::otlp(otlp, timeout, &config.spool)?),
            google: false,
        },
        #[cfg(feature = "gcp")]
        ExporterKind::Gcp => Sink::Network {
            destination: Arc::new(Destination::google(
                gcp::session(&config.gcp)?,
                config.gcp.project.as_ref().map(|project| project.id.as_str()),
                // Unset, Google gets gzip: its path crosses the internet, and a
                // batch of zen's spans shrinks to 35-39% (README "Export throughput").
                otlp.compression.unwrap_or(crate::config::OtlpCompression::Gzip),
                timeout,
                &config.spool,
            )?),
            google: true,
        },
        #[cfg(not(feature = "otlp"))]
        ExporterKind::Otlp => return Err(missing_feature("otlp")),
        #[cfg(not(feature = "gcp"))]
        ExporterKind::Gcp => return Err(missing_feature("gcp")),
    })
}

/// Why an exporter chosen by configuration cannot start in this build.
#[cfg(any(not(feature = "otlp"), not(feature = "gcp")))]
pub(crate) fn missing_feature(feature: &str) -> String {
    format!("zen-telemetry was built without its `{feature}` feature (enable it in Cargo.toml)")
}
