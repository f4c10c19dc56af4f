//! Helpers called by code that `#[traced]` generates. Not a public API.
//!
//! The contract with the macro:
//! - A sync fn checks `telemetry_off()` (one relaxed load) and calls its body
//!   directly; otherwise it hands the body to the out-of-line `run_sync`, so
//!   the traced fn itself needs no stack frame for the span.
//! - `SpanGuard::start_if_on(&META)` costs one relaxed atomic load when
//!   telemetry is off and allocates nothing when the call is not sampled.
//! - Attribute expressions are evaluated only inside `if guard.is_recording()`.
//! - `guard.run(body)` runs a sync body with the span current; panics are
//!   recorded and resumed unchanged.
//! - `guard.instrument(fut)` does the same for every poll of a future;
//!   `trace_future(guard, fut, outcome)` also records the outcome, and is
//!   what an `async fn` (or a `-> impl Future` tail) returns.
//! - `guard.finish(outcome)`, called when `guard.wants_outcome()`, counts the
//!   call in its site's metrics and, when recorded, sets status and events and
//!   ends the span; a guard dropped unfinished counts and ends it as
//!   cancelled (or panicked).

mod ending;
mod guard;
pub mod outcome;

use opentelemetry::{Key, KeyValue};

use crate::span::local;
use crate::{pipeline, state};

pub use opentelemetry::trace::SpanKind;

pub use crate::attr_value::AttrValue;
pub use crate::calls::CallSite;
pub use crate::calls::objective::Objective;
pub use guard::{Instrumented, SpanGuard, SpanMeta, Traced, run_sync, trace_future};
pub use outcome::{ErrorText, Outcome, Wrap};

/// True once telemetry is known to be off (one relaxed atomic load). False
/// before the configuration is loaded: `run_sync` then loads it.
#[inline(always)]
pub fn telemetry_off() -> bool {
    state::is_known_off()
}

/// Makes a closure that takes the call's span `FnOnce` at its definition, as
/// [`body_fn`] does.
#[inline(always)]
pub fn body_fn_with_span<R, F: FnOnce(&SpanGuard) -> R>(body: F) -> F {
    body
}

/// Makes a closure `FnOnce` at its definition, so a body that returns a
/// reborrow of a `&mut` argument compiles as it does without `#[traced]`.
#[inline(always)]
pub fn body_fn<R, F: FnOnce() -> R>(body: F) -> F {
    body
}

/// True when the current span is recorded (for `span_attributes!`): a span
/// in the context, or the one on this thread's stack whose span context the
/// context holds.
#[inline]
pub fn current_span_is_recording() -> bool {
    pipeline::is_on() && local::current_is_recording()
}

/// Sets an attribute on the current span (for `span_attributes!`).
pub fn current_span_set_attribute<V: AttrValue>(key: &'static str, value: V) {
    let attribute = KeyValue::new(Key::from_static_str(key), value.into_value());
    local::annotate_current(|span| span.attribute(attribute));
}

/// Implemented by every type. `#[traced]` turns `async fn f(..) -> R` into
/// `fn f(..) -> impl Future<Output = R> + Captures<(&'a (), ..)> + Captures<Self>`
/// so that, on editions before 2024, the return captures every lifetime of
/// the arguments (and of `Self`) as the `async fn` did.
pub trait Captures<T: ?Sized> {}

impl<T: ?Sized, U: ?Sized> Captures<T> for U {}
