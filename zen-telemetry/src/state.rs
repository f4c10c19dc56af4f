//! Whether telemetry is on: the atomics every layer reads, and nothing else.
//!
//! A leaf: it imports nothing from the crate, so the exporter can stop
//! recording (no destination found) and the guard can read the switch without
//! reaching up into the pipeline that owns the configuration.
//!
//! Vocabulary, used everywhere in the crate: telemetry is **on** when traced
//! calls record spans, and **off** otherwise. A user's switch
//! (`ZEN_TELEMETRY_DISABLED`, `Config::disabled`) *disables* it; having no
//! destination, or having shut down, also turns it off.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// What the hot path knows about the switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Switch {
    /// The configuration has not been loaded yet.
    Unknown,
    /// Traced calls record nothing.
    Off,
    /// Traced calls start spans (subject to sampling).
    On,
}

const UNKNOWN: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

/// The only thing a traced call reads before it knows whether to record.
static SWITCH: AtomicU8 = AtomicU8::new(UNKNOWN);
/// Set once by `shutdown`: recording never turns on again.
static SHUT_DOWN: AtomicBool = AtomicBool::new(false);
/// Set when the exporter found no destination after start; keeps recording off.
static NO_DESTINATION: AtomicBool = AtomicBool::new(false);
/// A user's switch disabled telemetry: nothing may turn recording on but
/// an in-memory capture.
static DISABLED: AtomicBool = AtomicBool::new(false);
/// `Config::metrics`: whether calls are counted and timed besides traced.
static METRICS: AtomicBool = AtomicBool::new(true);
/// `Config::error_messages`, read on every recorded failure without a lock.
static ERROR_MESSAGES: AtomicBool = AtomicBool::new(true);
/// `Config::mutable_spans`: whether a sync call's span goes wholly into the
/// `opentelemetry` context, read at every recorded start.
static MUTABLE_SPANS: AtomicBool = AtomicBool::new(true);

/// The switch as it is now (one relaxed load).
#[inline(always)]
pub(crate) fn switch() -> Switch {
    match SWITCH.load(Ordering::Relaxed) {
        ON => Switch::On,
        OFF => Switch::Off,
        _ => Switch::Unknown,
    }
}

/// True only once telemetry is known to be off: one load and one compare.
/// Before the configuration is loaded this is false, and the caller takes its
/// slow path, which loads it.
#[inline(always)]
pub(crate) fn is_known_off() -> bool {
    SWITCH.load(Ordering::Relaxed) == OFF
}

/// Turns recording on or off. Asking for on after a shutdown, or after the
/// exporter found no destination, leaves it off.
pub(crate) fn set_on(on: bool) {
    let on = on && !SHUT_DOWN.load(Ordering::SeqCst) && !NO_DESTINATION.load(Ordering::SeqCst);
    SWITCH.store(if on { ON } else { OFF }, Ordering::SeqCst);
}

/// Turns recording on whatever the destination (testing API, benchmarks);
/// while disabled it stays off: an opt-out is final.
pub(crate) fn force_on() {
    if !DISABLED.load(Ordering::SeqCst) {
        SWITCH.store(ON, Ordering::SeqCst);
    }
}

/// Turns recording on with a pipeline that keeps spans in the process (the
/// testing API's capture, whose exporter the caller made `none`), disabled
/// or not.
#[cfg(feature = "testing")]
pub(crate) fn force_on_in_memory() {
    SWITCH.store(ON, Ordering::SeqCst);
}

/// Whether a switch disabled telemetry. Set with the configuration.
pub(crate) fn set_disabled(disabled: bool) {
    DISABLED.store(disabled, Ordering::SeqCst);
}

/// Turns recording off for good. Returns false if it had already shut down.
pub(crate) fn shut_down() -> bool {
    let first = !SHUT_DOWN.swap(true, Ordering::SeqCst);
    SWITCH.store(OFF, Ordering::SeqCst);
    first
}

/// The exporter found nowhere to send spans (e.g. no Google Cloud project on
/// the metadata server): recording stays off, as if none were configured.
pub(crate) fn no_destination() {
    NO_DESTINATION.store(true, Ordering::SeqCst);
    SWITCH.store(OFF, Ordering::SeqCst);
}

/// True once the exporter found nowhere to send (see [`no_destination`]).
pub(crate) fn has_no_destination() -> bool {
    NO_DESTINATION.load(Ordering::SeqCst)
}

/// Whether failed spans may carry the (scrubbed) error or panic text.
#[inline]
pub(crate) fn error_messages() -> bool {
    ERROR_MESSAGES.load(Ordering::Relaxed)
}

/// Sets whether failed spans may carry error or panic text.
pub(crate) fn set_error_messages(on: bool) {
    ERROR_MESSAGES.store(on, Ordering::Relaxed);
}

/// Whether the `opentelemetry` API may change the spans of sync calls.
#[inline]
pub(crate) fn mutable_spans() -> bool {
    MUTABLE_SPANS.load(Ordering::Relaxed)
}

/// Sets whether the `opentelemetry` API may change the spans of sync calls.
pub(crate) fn set_mutable_spans(on: bool) {
    MUTABLE_SPANS.store(on, Ordering::Relaxed);
}

/// Whether traced calls are counted and timed (one relaxed load).
#[inline(always)]
pub(crate) fn metrics_on() -> bool {
    METRICS.load(Ordering::Relaxed)
}

/// Sets whether traced calls are counted and timed.
pub(crate) fn set_metrics(on: bool) {
    METRICS.store(on, Ordering::Relaxed);
}
