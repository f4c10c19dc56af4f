//! The span of one traced call: started when the call is sampled, current
//! while its body runs (or its future is polled), ended with the outcome, or
//! as cancelled or panicked when dropped unfinished. Every call made while
//! telemetry is on, sampled or not, is also counted and timed in its call
//! site's metrics (`calls`); a sampled call's span and metrics share the two
//! clock readings.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::Poll;

use opentelemetry::trace::{SpanContext, SpanKind, Status, TraceContextExt};
use opentelemetry::{Context, Key, KeyValue};

use super::outcome::Outcome;
use crate::attr_value::AttrValue;
use crate::calls::objective::Objective;
use crate::calls::{CallResult, CallSite, Exemplar};
use crate::clock::{self, Stamp};
use crate::pipeline;
use crate::sampling::{self, UnsampledScope};
use crate::span::{self, ZenSpan};
use crate::{propagation, scrub, state};

/// What a traced function is, fixed at compile time, and its metrics.
#[derive(Debug)]
pub struct SpanMeta {
    /// The span name.
    pub name: &'static str,
    /// The span kind.
    pub kind: SpanKind,
    /// The function's call counts and durations.
    pub site: CallSite,
}

impl SpanMeta {
    /// The metadata of a traced function named `name` in `module`.
    pub const fn new(name: &'static str, kind: SpanKind, module: &'static str) -> SpanMeta {
        SpanMeta {
            name,
            kind,
            site: CallSite::new(name, module),
        }
    }

    /// With the objectives of `#[traced(objective(...))]`.
    pub const fn with_objective(self, objective: Objective) -> SpanMeta {
        let mut meta = self;
        meta.site.objective = objective;
        meta
    }
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
    outcome: impl for<'a> FnOnce(&'a R) -> Outcome<'a>,
) -> R {
    let mut guard = SpanGuard::start_if_on(meta);
    let State::Recording { cx, .. } = &guard.state else {
        if guard.is_off() {
            return body(&guard);
        }
        let result = {
            let _scope = UnsampledScope::enter();
            body(&guard)
        };
        // A panic in `body` skips this; the guard's drop counts it.
        guard.finish(outcome(&result));
        return result;
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
            if let State::Recording { cx, finished, timing } = &mut guard.state {
                end_with_panic(cx, finished, timing.take(), Some(&*payload));
            }
            resume_unwind(payload)
        }
    }
}

/// Builds the pipeline, and with it the metric export, at a function's first
/// counted call: with a sample rate of 0 no span would ever build it.
#[cold]
#[inline(never)]
fn start_metric_export() {
    pipeline::pipeline();
}

/// The span of one traced call.
#[must_use]
pub struct SpanGuard {
    state: State,
}

enum State {
    Off,
    /// `timing` is `None` when metrics are off or the call was counted.
    Unsampled {
        timing: Option<Timing>,
    },
    // `ManuallyDrop` so `SpanGuard` has no drop glue of its own: the off and
    // unsampled paths then drop it inline instead of calling out.
    Recording {
        cx: ManuallyDrop<Context>,
        finished: bool,
        timing: Option<Timing>,
    },
}

/// A call's start, for its metrics.
#[derive(Clone, Copy)]
struct Timing {
    site: &'static CallSite,
    start: Stamp,
}

impl Timing {
    /// Counts the call as ended now with `result`; returns the end reading.
    #[inline]
    fn record(self, result: CallResult) -> Stamp {
        let end = clock::stamp_after(self.start);
        self.site.record(result, clock::nanos_between(self.start, end));
        end
    }

    /// Counts the recorded call of `span` as ended now with `result`, the
    /// span as its bucket's exemplar; returns the end time.
    #[inline]
    fn record_sampled(self, result: CallResult, span: &SpanContext) -> std::time::SystemTime {
        let end = clock::stamp_after(self.start);
        let time = clock::time_of(end);
        let exemplar = Exemplar {
            trace_id: u128::from_be_bytes(span.trace_id().to_bytes()),
            span_id: u64::from_be_bytes(span.span_id().to_bytes()),
            time_unix_nano: clock::unix_nanos(time),
            nanos: clock::nanos_between(self.start, end),
        };
        self.site.record_sampled(result, &exemplar);
        time
    }
}

impl fmt::Debug for SpanGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.state {
            State::Off => "SpanGuard(off)",
            State::Unsampled { .. } => "SpanGuard(unsampled)",
            State::Recording { .. } => "SpanGuard(recording)",
        })
    }
}

impl SpanGuard {
    /// The guard of a call made while telemetry is off.
    pub const OFF: SpanGuard = SpanGuard { state: State::Off };

    /// Starts the span when telemetry is on and the call is sampled.
    #[inline(always)]
    pub fn start_if_on(meta: &'static SpanMeta) -> SpanGuard {
        if pipeline::is_on() {
            SpanGuard::start(meta)
        } else {
            SpanGuard { state: State::Off }
        }
    }

    // Out of line: inlining the sampling decision into every traced function
    // grows its frame and prologue, which the disabled path pays for too.
    #[inline(never)]
    fn start(meta: &'static SpanMeta) -> SpanGuard {
        let timing = state::metrics_on().then(|| {
            if !meta.site.has_recorded() {
                start_metric_export();
            }
            Timing {
                site: &meta.site,
                start: clock::stamp(),
            }
        });
        if sampling::in_unsampled_subtree() {
            return SpanGuard {
                state: State::Unsampled { timing },
            };
        }
        let sampled = Context::map_current(|cx| {
            let span = cx.span();
            let sc = span.span_context();
            sampling::decide(sc.is_valid().then_some(sc))
        });
        if sampled {
            SpanGuard::start_recording(meta, timing)
        } else {
            SpanGuard {
                state: State::Unsampled { timing },
            }
        }
    }

    #[inline(never)]
    fn start_recording(meta: &'static SpanMeta, timing: Option<Timing>) -> SpanGuard {
        let pipeline = pipeline::pipeline();
        // The current context is read in place, not cloned: the span's
        // context is made from it directly.
        let cx = Context::map_current(|current| {
            // Telemetry's own work (exporting) is never traced.
            if current.is_telemetry_suppressed() {
                return None;
            }
            let parent = if current.span().span_context().is_valid() {
                current
            } else {
                propagation::process_parent().unwrap_or(current)
            };
            let start_time = timing.map_or_else(clock::now, |timing| clock::time_of(timing.start));
            let span = ZenSpan::start(pipeline, meta.name, meta.kind.clone(), parent, start_time);
            Some(parent.with_span(span))
        });
        let Some(cx) = cx else {
            return SpanGuard {
                state: State::Unsampled { timing },
            };
        };
        SpanGuard {
            state: State::Recording {
                cx: ManuallyDrop::new(cx),
                finished: false,
                timing,
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

    /// True when [`finish`](Self::finish) has something to record: the span,
    /// or the call's metrics.
    #[inline(always)]
    pub fn wants_outcome(&self) -> bool {
        match self.state {
            State::Off => false,
            State::Unsampled { timing } => timing.is_some(),
            State::Recording { .. } => true,
        }
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
            State::Unsampled { .. } => {
                let _scope = UnsampledScope::enter();
                body()
            }
            State::Recording { cx, finished, timing } => run_recording(cx, finished, *timing, body),
        }
    }

    /// Wraps a future so this span is current during every poll.
    #[inline(always)]
    pub fn instrument<F: Future>(&mut self, future: F) -> Instrumented<'_, F> {
        Instrumented { guard: self, future }
    }

    /// Counts the call and, when recorded, sets the span's status and
    /// events and ends it.
    pub fn finish(&mut self, outcome: Outcome<'_>) {
        let result = match outcome {
            Outcome::Ok => CallResult::Ok,
            Outcome::Err { .. } => CallResult::Error,
        };
        match &mut self.state {
            State::Off => {}
            State::Unsampled { timing } => {
                if let Some(timing) = timing.take() {
                    timing.record(result);
                }
            }
            State::Recording { cx, finished, timing } => {
                if *finished {
                    return;
                }
                *finished = true;
                let end_time = end_time(cx, timing.take(), result);
                end_with_outcome(cx, outcome, end_time);
            }
        }
    }
}

/// Counts a recorded call's metrics, with the span in `cx` as its bucket's
/// exemplar, and gives its span's end time.
#[inline]
fn end_time(cx: &Context, timing: Option<Timing>, result: CallResult) -> std::time::SystemTime {
    match timing {
        Some(timing) => timing.record_sampled(result, cx.span().span_context()),
        None => clock::now(),
    }
}

fn end_with_outcome(cx: &Context, outcome: Outcome<'_>, end_time: std::time::SystemTime) {
    let span = cx.span();
    let status = match outcome {
        Outcome::Ok => Status::Ok,
        Outcome::Err { type_name, error } => {
            let message = exportable(error.format().as_deref());
            let mut attributes = vec![KeyValue::new("exception.type", type_name)];
            if let Some(message) = &message {
                attributes.push(KeyValue::new("exception.message", message.clone()));
            }
            span.add_event("exception", attributes);
            Status::error(message.unwrap_or_default())
        }
    };
    span::end_with_status(&span, status, end_time);
}

/// The recorded path of [`SpanGuard::run`], kept out of the caller so the
/// off and unsampled paths stay a few instructions.
#[inline(never)]
fn run_recording<R>(cx: &Context, finished: &mut bool, timing: Option<Timing>, body: impl FnOnce() -> R) -> R {
    let attached = cx.clone().attach();
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            drop(attached);
            end_with_panic(cx, finished, timing, Some(&*payload));
            resume_unwind(payload)
        }
    }
}

fn end_with_panic(cx: &Context, finished: &mut bool, timing: Option<Timing>, payload: Option<&(dyn Any + Send)>) {
    if *finished {
        return;
    }
    *finished = true;
    let end_time = end_time(cx, timing, CallResult::Panic);
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
    span::end_with_status(
        &span,
        Status::error(message.unwrap_or_else(|| "panic".to_owned())),
        end_time,
    );
}

/// The text an error or panic may carry out of the process: scrubbed and
/// bounded, or nothing when error messages are turned off. The status
/// description uses the same text, so it never carries more than the event.
fn exportable(message: Option<&str>) -> Option<String> {
    message.filter(|_| state::error_messages()).map(scrub::scrub)
}

impl SpanGuard {
    /// Ends an unfinished call (cancelled or panicked): counts it, ends its
    /// span and releases the context.
    #[inline(never)]
    fn release(&mut self) {
        let unwinding = std::thread::panicking();
        match &mut self.state {
            State::Off => {}
            State::Unsampled { timing } => {
                if let Some(timing) = timing.take() {
                    timing.record(if unwinding {
                        CallResult::Panic
                    } else {
                        CallResult::Cancelled
                    });
                }
            }
            State::Recording { cx, finished, timing } => {
                if !*finished {
                    if unwinding {
                        end_with_panic(cx, finished, timing.take(), None);
                    } else {
                        *finished = true;
                        let end_time = end_time(cx, timing.take(), CallResult::Cancelled);
                        let span = cx.span();
                        span.set_attribute(KeyValue::new("zen.cancelled", true));
                        span.end_with_timestamp(end_time);
                    }
                }
                // SAFETY: dropped exactly once, here, and `self` is being dropped.
                unsafe { ManuallyDrop::drop(cx) };
            }
        }
    }
}

impl Drop for SpanGuard {
    // Inlined so the off path, and an unsampled call already counted,
    // compile to a compare here.
    #[inline(always)]
    fn drop(&mut self) {
        match self.state {
            State::Off | State::Unsampled { timing: None } => {}
            _ => self.release(),
        }
    }
}

pin_project_lite::pin_project! {
    /// A future polled with its span current; see [`SpanGuard::instrument`].
    pub struct Instrumented<'a, F> {
        guard: &'a mut SpanGuard,
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for Instrumented<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, task: &mut std::task::Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        this.guard.poll_current(this.future, task)
    }
}

impl SpanGuard {
    /// Polls `future` once with this span current; a panic is recorded and
    /// resumed.
    #[inline(always)]
    fn poll_current<F: Future>(&mut self, future: Pin<&mut F>, task: &mut std::task::Context<'_>) -> Poll<F::Output> {
        match &mut self.state {
            State::Off => future.poll(task),
            State::Unsampled { timing } => {
                let _scope = UnsampledScope::enter();
                if timing.is_none() {
                    return future.poll(task);
                }
                // Caught here, not left to the guard's drop: a runtime that
                // catches a task's panic drops the future after unwinding,
                // when the drop could no longer tell a panic from a cancel.
                match catch_unwind(AssertUnwindSafe(|| future.poll(task))) {
                    Ok(poll) => poll,
                    Err(payload) => {
                        if let Some(timing) = timing.take() {
                            timing.record(CallResult::Panic);
                        }
                        resume_unwind(payload)
                    }
                }
            }
            State::Recording { cx, finished, timing } => {
                let attached = Context::clone(cx).attach();
                match catch_unwind(AssertUnwindSafe(|| future.poll(task))) {
                    Ok(poll) => poll,
                    Err(payload) => {
                        drop(attached);
                        end_with_panic(cx, finished, timing.take(), Some(&*payload));
                        resume_unwind(payload)
                    }
                }
            }
        }
    }
}

/// The future of a traced async call, whose span `guard` has started:
/// polls `future` with the span current and records `outcome` of its output.
/// One future around the body, not an `async` block around an instrumented
/// one, so a call made while telemetry is off costs a compare per poll.
#[inline(always)]
pub fn trace_future<F, O>(guard: SpanGuard, future: F, outcome: O) -> Traced<F, O>
where
    F: Future,
    O: for<'a> Fn(&'a F::Output) -> Outcome<'a>,
{
    Traced { future, guard, outcome }
}

pin_project_lite::pin_project! {
    /// See [`trace_future`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Traced<F, O> {
        // Before the guard: a future dropped unfinished drops its body
        // first, then ends the span as cancelled.
        #[pin]
        future: F,
        guard: SpanGuard,
        outcome: O,
    }
}

impl<F, O> Future for Traced<F, O>
where
    F: Future,
    O: for<'a> Fn(&'a F::Output) -> Outcome<'a>,
{
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, task: &mut std::task::Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if this.guard.is_off() {
            return this.future.poll(task);
        }
        poll_counted(this.guard, this.future, task, this.outcome)
    }
}

/// A poll of a [`Traced`] future whose call is counted or recorded. Out of
/// line so the poll of a call made while telemetry is off stays small
/// enough for its caller to inline, and the future is not copied to be
/// polled.
#[inline(never)]
fn poll_counted<F, O>(
    guard: &mut SpanGuard,
    future: Pin<&mut F>,
    task: &mut std::task::Context<'_>,
    outcome: &O,
) -> Poll<F::Output>
where
    F: Future,
    O: for<'a> Fn(&'a F::Output) -> Outcome<'a>,
{
    let poll = guard.poll_current(future, task);
    if let Poll::Ready(output) = &poll
        && guard.wants_outcome()
    {
        guard.finish(outcome(output));
    }
    poll
}
