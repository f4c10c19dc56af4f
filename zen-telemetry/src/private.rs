//! Helpers called by code that `#[traced]` generates. Not a public API.
//!
//! The contract with the macro:
//! - A sync fn checks `telemetry_off()` (one relaxed load) and calls its body
//!   directly; otherwise it hands the body to the out-of-line `run_sync`, so
//!   the traced fn itself needs no stack frame for the span.
//! - `SpanGuard::start_if_enabled(&META)` costs one relaxed atomic load when
//!   telemetry is off and allocates nothing when the call is not sampled.
//! - Attribute expressions are evaluated only inside `if guard.is_recording()`.
//! - `guard.run(body)` runs a sync body with the span current; panics are
//!   recorded and resumed unchanged.
//! - `guard.instrument(fut)` does the same for every poll of a future.
//! - `guard.finish(outcome)` sets status and events and ends the span; a guard
//!   dropped unfinished ends its span as cancelled (or panicked).

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::Poll;

use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::{Context, Key, KeyValue, Value};

pub use opentelemetry::trace::SpanKind;

use crate::sampling::{self, UnsampledScope};
use crate::span::ZenSpan;
use crate::{clock, propagation, runtime, scrub, stats};

/// What a traced function is, fixed at compile time.
#[derive(Debug)]
pub struct SpanMeta {
    /// The span name.
    pub name: &'static str,
    /// The span kind.
    pub kind: SpanKind,
}

/// True when telemetry is on (one relaxed atomic load).
#[inline(always)]
pub fn enabled() -> bool {
    runtime::is_on()
}

/// True once telemetry is known to be off (one relaxed atomic load). False
/// before the configuration is loaded: `run_sync` then loads it.
#[inline(always)]
pub fn telemetry_off() -> bool {
    runtime::is_known_off()
}

/// Makes a closure that takes the call's span `FnOnce` at its definition, as
/// [`body_fn`] does.
#[inline(always)]
pub fn body_fn_with_span<R, F: FnOnce(&SpanGuard) -> R>(body: F) -> F {
    body
}

/// A sync traced call whose telemetry is not known to be off: starts the span,
/// runs `body` with it current (the body sets the attributes first when the
/// span is recorded), records `outcome(&result)` or the panic, and ends it.
/// Out of line and generic, so the traced fn's own code is the off check and
/// two calls.
#[inline(never)]
pub fn run_sync<R>(
    meta: &'static SpanMeta,
    body: impl FnOnce(&SpanGuard) -> R,
    outcome: impl FnOnce(&R) -> Outcome,
) -> R {
    let mut guard = SpanGuard::start_if_enabled(meta);
    let State::Recording { cx, .. } = &guard.state else {
        if guard.is_off() {
            return body(&guard);
        }
        let _scope = UnsampledScope::enter();
        return body(&guard);
    };
    let attached = Context::clone(cx).attach();
    let caught = catch_unwind(AssertUnwindSafe(|| body(&guard)));
    drop(attached);
    match caught {
        Ok(result) => {
            guard.finish(outcome(&result));
            result
        }
        Err(payload) => {
            if let State::Recording { cx, finished } = &mut guard.state {
                end_with_panic(cx, finished, Some(&*payload));
            }
            resume_unwind(payload)
        }
    }
}

/// Makes a closure `FnOnce` at its definition, so a body that returns a
/// reborrow of a `&mut` argument compiles as it does without `#[traced]`.
#[inline(always)]
pub fn body_fn<R, F: FnOnce() -> R>(body: F) -> F {
    body
}

/// The span of one traced call.
#[must_use]
pub struct SpanGuard {
    state: State,
}

enum State {
    Off,
    Unsampled,
    // `ManuallyDrop` so `SpanGuard` has no drop glue of its own: the off and
    // unsampled paths then drop it inline instead of calling out.
    Recording { cx: ManuallyDrop<Context>, finished: bool },
}

impl fmt::Debug for SpanGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.state {
            State::Off => "SpanGuard(off)",
            State::Unsampled => "SpanGuard(unsampled)",
            State::Recording { .. } => "SpanGuard(recording)",
        })
    }
}

impl SpanGuard {
    /// The guard of a call made while telemetry is off.
    pub const OFF: SpanGuard = SpanGuard { state: State::Off };

    /// Starts the span when telemetry is on and the call is sampled.
    #[inline(always)]
    pub fn start_if_enabled(meta: &'static SpanMeta) -> SpanGuard {
        if enabled() {
            SpanGuard::start(meta)
        } else {
            SpanGuard { state: State::Off }
        }
    }

    // Out of line: inlining the sampling decision into every traced function
    // grows its frame and prologue, which the disabled path pays for too.
    #[inline(never)]
    fn start(meta: &'static SpanMeta) -> SpanGuard {
        if sampling::in_unsampled_subtree() {
            return SpanGuard {
                state: State::Unsampled,
            };
        }
        let parent_sampled = Context::map_current(|cx| {
            let span = cx.span();
            let sc = span.span_context();
            sc.is_valid().then(|| sc.is_sampled())
        })
        .or_else(propagation::process_parent_sampled);
        let sampled = match parent_sampled {
            Some(sampled) => sampled,
            None => sampling::roll_root(),
        };
        if sampled {
            SpanGuard::start_recording(meta)
        } else {
            SpanGuard {
                state: State::Unsampled,
            }
        }
    }

    #[inline(never)]
    fn start_recording(meta: &'static SpanMeta) -> SpanGuard {
        let Some(pipeline) = runtime::pipeline() else {
            return SpanGuard {
                state: State::Unsampled,
            };
        };
        let mut parent = Context::current();
        // Telemetry's own work (exporting) is never traced.
        if parent.is_telemetry_suppressed() {
            return SpanGuard {
                state: State::Unsampled,
            };
        }
        if !parent.span().span_context().is_valid()
            && let Some(process_parent) = propagation::process_parent()
        {
            parent = process_parent.clone();
        }
        let span = ZenSpan::start(pipeline, meta.name, meta.kind.clone(), &parent);
        stats::add_recorded();
        SpanGuard {
            state: State::Recording {
                cx: ManuallyDrop::new(parent.with_span(span)),
                finished: false,
            },
        }
    }

    /// True when telemetry was off at the call: no span, no sampling.
    #[inline(always)]
    pub fn is_off(&self) -> bool {
        matches!(self.state, State::Off)
    }

    /// True when this call's span is being recorded.
    #[inline(always)]
    pub fn is_recording(&self) -> bool {
        matches!(self.state, State::Recording { .. })
    }

    /// Sets an attribute on the span (call only when recording).
    pub fn set_attribute<V: AttrValue>(&self, key: &'static str, value: V) {
        if let State::Recording { cx, .. } = &self.state {
            cx.span()
                .set_attribute(KeyValue::new(Key::from_static_str(key), value.into_value()));
        }
    }

    /// Runs a sync body with this span current.
    #[inline(always)]
    pub fn run<R>(&mut self, body: impl FnOnce() -> R) -> R {
        match &mut self.state {
            State::Off => body(),
            State::Unsampled => {
                let _scope = UnsampledScope::enter();
                body()
            }
            State::Recording { cx, finished } => run_recording(cx, finished, body),
        }
    }

    /// Wraps a future so this span is current during every poll.
    #[inline(always)]
    pub fn instrument<F: Future>(&mut self, future: F) -> Instrumented<'_, F> {
        Instrumented { guard: self, future }
    }

    /// Records the outcome and ends the span.
    pub fn finish(&mut self, outcome: Outcome) {
        if let State::Recording { cx, finished } = &mut self.state {
            if *finished {
                return;
            }
            *finished = true;
            let span = cx.span();
            match outcome {
                Outcome::Ok => span.set_status(Status::Ok),
                Outcome::Err { type_name, message } => {
                    let message = exportable(message.as_deref());
                    let mut attributes = vec![KeyValue::new("exception.type", type_name)];
                    if let Some(message) = &message {
                        attributes.push(KeyValue::new("exception.message", message.clone()));
                    }
                    span.add_event("exception", attributes);
                    span.set_status(Status::error(message.unwrap_or_default()));
                }
            }
            span.end_with_timestamp(clock::now());
        }
    }
}

/// The recorded path of [`SpanGuard::run`], kept out of the caller so the
/// off and unsampled paths stay a few instructions.
#[inline(never)]
fn run_recording<R>(cx: &Context, finished: &mut bool, body: impl FnOnce() -> R) -> R {
    let attached = cx.clone().attach();
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            drop(attached);
            end_with_panic(cx, finished, Some(&*payload));
            resume_unwind(payload)
        }
    }
}

fn end_with_panic(cx: &Context, finished: &mut bool, payload: Option<&(dyn Any + Send)>) {
    if *finished {
        return;
    }
    *finished = true;
    let message = exportable(payload.and_then(|p| {
        p.downcast_ref::<&str>()
            .copied()
            .or_else(|| p.downcast_ref::<String>().map(String::as_str))
    }));
    let span = cx.span();
    let mut attributes = vec![KeyValue::new("exception.type", "panic")];
    if let Some(message) = &message {
        attributes.push(KeyValue::new("exception.message", message.clone()));
    }
    span.add_event("exception", attributes);
    span.set_status(Status::error(message.unwrap_or_else(|| "panic".to_owned())));
    span.end_with_timestamp(clock::now());
}

/// The text an error or panic may carry out of the process: scrubbed and
/// bounded, or nothing when error messages are turned off. The status
/// description uses the same text, so it never carries more than the event.
fn exportable(message: Option<&str>) -> Option<String> {
    message.filter(|_| runtime::error_messages()).map(scrub::scrub)
}

impl SpanGuard {
    /// Ends an unfinished span (cancelled or panicked) and releases the context.
    #[inline(never)]
    fn release(&mut self) {
        if let State::Recording { cx, finished } = &mut self.state {
            if !*finished {
                if std::thread::panicking() {
                    end_with_panic(cx, finished, None);
                } else {
                    *finished = true;
                    let span = cx.span();
                    span.set_attribute(KeyValue::new("zen.cancelled", true));
                    span.end_with_timestamp(clock::now());
                }
            }
            // SAFETY: dropped exactly once, here, and `self` is being dropped.
            unsafe { ManuallyDrop::drop(cx) };
        }
    }
}

impl Drop for SpanGuard {
    // Inlined so the off and unsampled paths compile to one compare here.
    #[inline(always)]
    fn drop(&mut self) {
        if let State::Recording { .. } = self.state {
            self.release();
        }
    }
}

/// A future polled with its span current; see [`SpanGuard::instrument`].
pub struct Instrumented<'a, F> {
    guard: &'a mut SpanGuard,
    future: F,
}

impl<F: Future> Future for Instrumented<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, task: &mut std::task::Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of
        // `self`, and `Instrumented` has no `Drop` impl nor `Unpin` impl of its own.
        let this = unsafe { self.get_unchecked_mut() };
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        match &mut this.guard.state {
            State::Off => future.poll(task),
            State::Unsampled => {
                let _scope = UnsampledScope::enter();
                future.poll(task)
            }
            State::Recording { cx, finished } => {
                let attached = Context::clone(cx).attach();
                match catch_unwind(AssertUnwindSafe(|| future.poll(task))) {
                    Ok(poll) => poll,
                    Err(payload) => {
                        drop(attached);
                        end_with_panic(cx, finished, Some(&*payload));
                        resume_unwind(payload)
                    }
                }
            }
        }
    }
}

/// How a traced call ended.
#[derive(Debug)]
pub enum Outcome {
    /// Returned normally (or `Ok`).
    Ok,
    /// Returned `Err`.
    Err {
        /// The error's type name.
        type_name: &'static str,
        /// The error's `Display` (or `Debug`) text.
        message: Option<String>,
    },
}

/// Wraps a reference to a return value for outcome detection by type.
pub struct Wrap<'a, T: ?Sized>(pub &'a T);

// `Copy` so the by-value `NotResult` impl (the last autoderef step) can take
// `Wrap` out of the `&&&Wrap` receiver.
impl<T: ?Sized> Clone for Wrap<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: ?Sized> Copy for Wrap<'_, T> {}

/// Outcome detection by autoref specialisation: `(&&&Wrap(&value)).__zen_outcome()`
/// picks the most specific impl, so any `Result` (aliases included) is seen.
pub mod outcome {
    use super::{Outcome, Wrap};
    use std::fmt::{Debug, Display};

    /// `Result<T, E>` with `E: Display`.
    pub trait ErrDisplay {
        /// The outcome.
        fn __zen_outcome(self) -> Outcome;
    }
    /// `Result<T, E>` with `E: Debug`.
    pub trait ErrDebug {
        /// The outcome.
        fn __zen_outcome(self) -> Outcome;
    }
    /// Any other `Result<T, E>`.
    pub trait ErrOpaque {
        /// The outcome.
        fn __zen_outcome(self) -> Outcome;
    }
    /// Anything that is not a `Result`.
    pub trait NotResult {
        /// The outcome.
        fn __zen_outcome(self) -> Outcome;
    }

    impl<T, E: Display> ErrDisplay for &&&Wrap<'_, Result<T, E>> {
        fn __zen_outcome(self) -> Outcome {
            match self.0 {
                Ok(_) => Outcome::Ok,
                Err(e) => Outcome::Err {
                    type_name: std::any::type_name::<E>(),
                    message: Some(e.to_string()),
                },
            }
        }
    }
    impl<T, E: Debug> ErrDebug for &&Wrap<'_, Result<T, E>> {
        fn __zen_outcome(self) -> Outcome {
            match self.0 {
                Ok(_) => Outcome::Ok,
                Err(e) => Outcome::Err {
                    type_name: std::any::type_name::<E>(),
                    message: Some(format!("{e:?}")),
                },
            }
        }
    }
    impl<T, E> ErrOpaque for &Wrap<'_, Result<T, E>> {
        fn __zen_outcome(self) -> Outcome {
            match self.0 {
                Ok(_) => Outcome::Ok,
                Err(_) => Outcome::Err {
                    type_name: std::any::type_name::<E>(),
                    message: None,
                },
            }
        }
    }
    impl<T: ?Sized> NotResult for Wrap<'_, T> {
        fn __zen_outcome(self) -> Outcome {
            Outcome::Ok
        }
    }
}

/// A value that can be a span attribute.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a span attribute value",
    label = "not a string, bool, integer or float",
    note = "span attributes take &str, String, bool, integers and floats: convert with `.to_string()`, `as i64` or `as f64`"
)]
pub trait AttrValue {
    /// The OpenTelemetry value.
    fn into_value(self) -> Value;
}

impl AttrValue for &str {
    fn into_value(self) -> Value {
        Value::from(self.to_owned())
    }
}
impl AttrValue for String {
    fn into_value(self) -> Value {
        Value::from(self)
    }
}
impl AttrValue for &String {
    fn into_value(self) -> Value {
        Value::from(self.clone())
    }
}
impl AttrValue for Cow<'static, str> {
    fn into_value(self) -> Value {
        Value::from(self)
    }
}
impl AttrValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}
impl AttrValue for &bool {
    fn into_value(self) -> Value {
        Value::Bool(*self)
    }
}

macro_rules! small_ints {
    ($($t:ty),*) => {$(
        impl AttrValue for $t {
            fn into_value(self) -> Value { Value::I64(i64::from(self)) }
        }
        impl AttrValue for &$t {
            fn into_value(self) -> Value { Value::I64(i64::from(*self)) }
        }
    )*};
}
small_ints!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! wide_ints {
    ($($t:ty),*) => {$(
        impl AttrValue for $t {
            fn into_value(self) -> Value {
                // Values beyond i64 keep their exact digits as text.
                i64::try_from(self).map(Value::I64).unwrap_or_else(|_| Value::from(self.to_string()))
            }
        }
        impl AttrValue for &$t {
            fn into_value(self) -> Value { (*self).into_value() }
        }
    )*};
}
wide_ints!(u64, usize, isize, i128, u128);

impl AttrValue for f64 {
    fn into_value(self) -> Value {
        Value::F64(self)
    }
}
impl AttrValue for &f64 {
    fn into_value(self) -> Value {
        Value::F64(*self)
    }
}
impl AttrValue for f32 {
    fn into_value(self) -> Value {
        Value::F64(f64::from(self))
    }
}
impl AttrValue for &f32 {
    fn into_value(self) -> Value {
        Value::F64(f64::from(*self))
    }
}

/// True when the current span is recorded (for `span_attributes!`).
#[inline]
pub fn current_span_is_recording() -> bool {
    enabled() && Context::map_current(|cx| cx.span().is_recording())
}

/// Sets an attribute on the current span (for `span_attributes!`).
pub fn current_span_set_attribute<V: AttrValue>(key: &'static str, value: V) {
    Context::map_current(|cx| {
        cx.span()
            .set_attribute(KeyValue::new(Key::from_static_str(key), value.into_value()));
    });
}

/// [`scrub::scrub`] for tests that feed it arbitrary text. Not for applications.
pub fn scrub_message(message: &str) -> String {
    scrub::scrub(message)
}

/// Switches used by the overhead benchmark to compare configurations in one
/// process. Not for applications.
pub mod bench_control {
    /// Turns recording on (`Some(true)`), off, or back to the configuration (`None`).
    pub fn set_enabled(on: Option<bool>) {
        crate::runtime::force_state(on);
    }

    /// Sets the root sampling rate.
    pub fn set_sample_rate(rate: f64) {
        crate::sampling::set_rate(rate);
    }

    /// `init_with`, exporting through `exporter` (behind the usual batch
    /// processor and counters) instead of the configured one, so a benchmark
    /// can give zen and its anchors the same exporter.
    pub fn init_with_exporter<E>(config: crate::Config, exporter: E) -> Result<(), crate::InitError>
    where
        E: opentelemetry_sdk::trace::SpanExporter + 'static,
    {
        crate::runtime::override_processor(Box::new(move |config: &crate::Config| {
            crate::exporter::CountingBatchProcessor::new(crate::exporter::Counted(exporter), &config.batch)
        }))?;
        crate::init_with(config)
    }
}

// ---- Added for #13 (`#[traced]` on every edition); owned by the macro crate. ----

/// Implemented by every type. `#[traced]` turns `async fn f(..) -> R` into
/// `fn f(..) -> impl Future<Output = R> + Captures<(&'a (), ..)> + Captures<Self>`
/// so that, on editions before 2024, the return captures every lifetime of
/// the arguments (and of `Self`) as the `async fn` did.
pub trait Captures<T: ?Sized> {}

impl<T: ?Sized, U: ?Sized> Captures<T> for U {}
