//! # zen-telemetry
//!
//! OpenTelemetry tracing for any Rust program with one attribute:
//!
//! ```
//! use zen_telemetry::traced;
//!
//! #[traced]
//! fn load(path: &str) -> std::io::Result<String> {
//!     std::fs::read_to_string(path)
//! }
//! # let _ = load("Cargo.toml");
//! ```
//!
//! Spans go to Google Cloud when a project is known, to an OTLP collector
//! when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, or to a local file or stdout
//! (`ZEN_TELEMETRY_EXPORTER`). With no destination, or with
//! `ZEN_TELEMETRY_DISABLED=1`, nothing is recorded and a traced call costs one
//! relaxed atomic load.
//!
//! **Privacy**: function arguments are never recorded unless you name them in
//! `attrs(...)`. Error and panic texts are cut to 512 characters and scrubbed
//! of tokens, passwords, e-mail addresses and the home directory; with
//! `ZEN_TELEMETRY_ERROR_MESSAGES=false` only the error's type is kept. The resource carries the service name and version and the SDK
//! identity; never host names, user names, paths or process arguments.
//!
//! Every traced call, sampled or not, is also counted and timed
//! (`function.calls`, `function.calls.duration`) and exported with the
//! instruments of [`meter_provider`]; `ZEN_TELEMETRY_METRICS=false` keeps
//! traces only.
//!
//! Nothing happens on the program's start-up path beyond reading the
//! environment; the exporter and its threads start at the first recorded span,
//! and spans still queued are flushed when the program exits, within
//! `ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS`.

#![cfg_attr(docsrs, feature(doc_cfg))]

// Layers, lowest first; each module imports only from the ones above it in
// this list (docs/architecture.md draws the graph, and the test
// `tests/tests/module_graph.rs` checks it):
// leaves (state, diag, clock, calls, stats, scrub, sampling, attr_value)
// < config < exporter < pipeline < propagation, span < __private
// < testing, bench.
mod state;

mod calls;
mod clock;
mod diag;
mod scrub;
mod shard;
mod stats;

pub mod config;
pub mod exporter;
mod sampling;

mod pipeline;

pub mod propagation;
mod span;
#[cfg(feature = "tracing")]
mod tracing_layer;

#[doc(hidden)]
#[path = "private/mod.rs"]
pub mod __private;
mod attr_value;

#[doc(hidden)]
pub mod bench;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

/// The `opentelemetry` crate this version is built on, for spans made directly
/// with its API (`zen_telemetry::opentelemetry::trace::Tracer`) without a
/// dependency of your own that has to match its version.
pub use opentelemetry;

pub use attr_value::AttrValue;
pub use calls::objective::{
    LATENCY_OBJECTIVES_MS, OBJECTIVE_LATENCY_ATTRIBUTE, OBJECTIVE_SUCCESS_ATTRIBUTE, Objective, SUCCESS_OBJECTIVES,
};
pub use calls::{
    BUCKET_BOUNDS_SECONDS, CALLS_METRIC, CallCounts, CallResult, DURATION_METRIC, FUNCTION_ATTRIBUTE, MODULE_ATTRIBUTE,
    RESULT_ATTRIBUTE,
};
pub use config::gcp;
pub use config::{BatchSettings, Config, ConfigBuilder, ConfigWarning, DisabledBy, ExporterKind, SpoolSettings};
pub use exporter::spool::SpoolStatus;
#[cfg(feature = "otlp")]
pub use exporter::{DestinationCheck, check_destinations};
pub use pipeline::InitError;
pub use stats::{Stats, stats};
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub use tracing_layer::tracing_layer;
pub use zen_telemetry_macros::traced;

/// Starts telemetry now rather than at the first recorded span. Idempotent.
pub fn init() {
    pipeline::init();
}

/// Replaces the environment's configuration with `config` (code wins over
/// env). Must run before the first recorded span.
///
/// ```
/// let config = zen_telemetry::Config::builder().disabled(true).build();
/// zen_telemetry::init_with(config).unwrap();
/// assert!(!zen_telemetry::is_on());
/// ```
pub fn init_with(config: Config) -> Result<(), InitError> {
    pipeline::init_with(config)
}

/// True when telemetry is on: traced calls record spans (subject to
/// sampling). Off when disabled, with no destination, or after shutdown.
pub fn is_on() -> bool {
    pipeline::is_on()
}

/// The configuration in force.
pub fn config() -> Config {
    pipeline::config()
}

/// What waits in the on-disk spool for `config`'s destinations: batches a
/// process could not deliver before it exited, which the next process with
/// the same destination sends. Reads the directories; makes nothing.
pub fn spool_status(config: &Config) -> Vec<SpoolStatus> {
    exporter::spool::status(config)
}

/// Flushes recorded spans and stops recording, waiting at most the shutdown
/// timeout. Runs automatically at exit; calling it again does nothing.
pub fn shutdown() {
    pipeline::shutdown();
}

/// The tracer provider behind `#[traced]`, for spans made directly with the
/// `opentelemetry` API. `None` while telemetry is off.
pub fn tracer_provider() -> Option<opentelemetry_sdk::trace::SdkTracerProvider> {
    if !pipeline::is_on() {
        return None;
    }
    Some(pipeline::pipeline().provider.clone())
}

/// The meter provider behind the per-function metrics, for instruments of
/// your own: they are exported with them, to the same destination, and the
/// same switches turn them off. `None` while telemetry is off or with
/// `ZEN_TELEMETRY_METRICS=false`.
///
/// ```
/// use zen_telemetry::opentelemetry::metrics::MeterProvider;
///
/// if let Some(provider) = zen_telemetry::meter_provider() {
///     let orders = provider.meter("shop").u64_counter("orders").build();
///     orders.add(1, &[]);
/// }
/// ```
pub fn meter_provider() -> Option<opentelemetry_sdk::metrics::SdkMeterProvider> {
    if !pipeline::is_on() {
        return None;
    }
    pipeline::pipeline().meter_provider.clone()
}

/// Adds attributes to the current span. Values are evaluated only when the
/// current span is recorded; otherwise this does nothing.
///
/// Keys are identifiers, dotted paths or string literals; values are strings,
/// bools, integers or floats.
///
/// It reaches the span wherever it is. With `ZEN_TELEMETRY_MUTABLE_SPANS=false`
/// ([`ConfigBuilder::mutable_spans`]) the OpenTelemetry context holds only a
/// sync call's span *context* (its ids and flags): children, propagators and
/// `tracing` spans still see it, but
/// `opentelemetry::trace::get_active_span(|span| span.set_attribute(..))`
/// changes nothing, and this macro is the way to annotate the span.
///
/// ```
/// use zen_telemetry::{span_attributes, traced};
///
/// #[traced]
/// fn process(items: &[u32]) {
///     span_attributes!(batch.size = items.len(), "retry" = false);
/// }
/// process(&[1, 2, 3]);
/// ```
#[macro_export]
macro_rules! span_attributes {
    ($($rest:tt)*) => {
        if $crate::__private::current_span_is_recording() {
            $crate::__span_attributes_set!($($rest)*);
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __span_attributes_set {
    () => {};
    ($key:literal = $value:expr $(, $($rest:tt)*)?) => {
        $crate::__private::current_span_set_attribute($key, $value);
        $($crate::__span_attributes_set!($($rest)*);)?
    };
    ($first:ident $(. $more:ident)* = $value:expr $(, $($rest:tt)*)?) => {
        $crate::__private::current_span_set_attribute(
            ::core::concat!(::core::stringify!($first) $(, ".", ::core::stringify!($more))*),
            $value,
        );
        $($crate::__span_attributes_set!($($rest)*);)?
    };
}
