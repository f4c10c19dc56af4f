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
//! Nothing happens on the program's start-up path beyond reading the
//! environment; the exporter and its threads start at the first recorded span,
//! and spans still queued are flushed when the program exits, within
//! `ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS`.

#![warn(missing_docs)]

mod clock;
pub mod config;
mod diag;
pub mod exporter;
pub mod gcp;
pub mod propagation;
mod runtime;
mod sampling;
mod scrub;
mod span;
mod stats;
#[cfg(feature = "testing")]
pub mod testing;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// The `opentelemetry` crate this version is built on, for spans made directly
/// with its API (`zen_telemetry::opentelemetry::trace::Tracer`) without a
/// dependency of your own that has to match its version.
pub use opentelemetry;

pub use config::{BatchSettings, Config, ConfigBuilder, ConfigWarning, DisabledBy, ExporterKind};
pub use stats::{Stats, stats};
pub use zen_telemetry_macros::traced;

/// Why [`init_with`] refused a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitError {
    /// A span was already recorded with the previous configuration.
    AlreadyStarted,
}

impl std::fmt::Display for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InitError::AlreadyStarted => {
                f.write_str("telemetry already started; configure it before the first traced call")
            }
        }
    }
}

impl std::error::Error for InitError {}

/// Starts telemetry now rather than at the first recorded span. Idempotent.
pub fn init() {
    if runtime::is_on() {
        runtime::pipeline();
    }
}

/// Replaces the environment's configuration with `config` (code wins over
/// env). Must run before the first recorded span.
///
/// ```
/// let config = zen_telemetry::Config::builder().disabled(true).build();
/// zen_telemetry::init_with(config).unwrap();
/// assert!(!zen_telemetry::is_enabled());
/// ```
pub fn init_with(config: Config) -> Result<(), InitError> {
    runtime::configure(config)?;
    init();
    Ok(())
}

/// True when traced calls may record spans (enabled and with a destination).
pub fn is_enabled() -> bool {
    runtime::is_on()
}

/// The configuration in force.
pub fn config() -> Config {
    runtime::config()
}

/// Flushes recorded spans and stops recording, waiting at most the shutdown
/// timeout. Runs automatically at exit; calling it again does nothing.
pub fn shutdown() {
    runtime::shutdown();
}

/// The tracer provider behind `#[traced]`, for spans made directly with the
/// `opentelemetry` API. `None` while telemetry is off.
pub fn tracer_provider() -> Option<opentelemetry_sdk::trace::SdkTracerProvider> {
    if !runtime::is_on() {
        return None;
    }
    runtime::pipeline().map(|p| p.provider.clone())
}

/// Adds attributes to the current span. Values are evaluated only when the
/// current span is recorded; otherwise this does nothing.
///
/// Keys are identifiers, dotted paths or string literals; values are strings,
/// bools, integers or floats.
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
