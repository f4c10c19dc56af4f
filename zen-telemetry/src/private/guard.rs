//! The span of one traced call: started when the call is sampled, current
//! while its body runs (or its future is polled), ended with the outcome, or
//! as cancelled or panicked when dropped unfinished. Every call made while
//! telemetry is on, sampled or not, is also counted and timed in its call
//! site's metrics (`calls`); a sampled call's span and metrics share the two
//! clock readings.

use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::Poll;

use opentelemetry::trace::{Span, SpanContext, SpanKind, TraceContextExt};
use opentelemetry::{Context, ContextGuard, Key, KeyValue};

use super::ending::Ending;
use super::outcome::Outcome;
use crate::attr_value::AttrValue;
use crate::calls::objective::Objective;
use crate::calls::{CallResult, CallSite, Exemplar};
use crate::clock::{self, Stamp};
use crate::pipeline;
use crate::sampling::{self, UnsampledScope};
use crate::span::{ZenSpan, local};
use crate::{propagation, state};

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
    let mut guard = SpanGuard::start_if_on_at(meta, Where::Stack);
    match guard.state {
        State::Off => return body(&guard),
        State::Unsampled { .. } => {
            let result = {
                let _scope = UnsampledScope::enter();
                body(&guard)
            };
            // A panic in `body` skips this; the guard's drop counts it.
            guard.finish(outcome(&result));
            return result;
        }
        State::Recording { .. } | State::Local { .. } => {}
    }
    let attached = guard.attach();
    let caught = catch_unwind(AssertUnwindSafe(|| body(&guard)));
    drop(attached);
    match caught {
        Ok(result) => {
            guard.finish(outcome(&result));
            result
        }
        Err(payload) => {
            guard.end_recorded(Ending::panicked(Some(&*payload)));
            resume_unwind(payload)
        }
    }
}

/// Where a sampled call's span lives while the call runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Where {
    /// On this thread's span stack, its span context alone in the
    /// `Context` (`span::local`): sync calls, which end on the thread they
    /// start on, in reverse order, when `ZEN_TELEMETRY_MUTABLE_SPANS` is off.
    Stack,
    /// Wholly in the `Context`, mutable through the `opentelemetry` API:
    /// futures, which move between threads, and every call when
    /// `ZEN_TELEMETRY_MUTABLE_SPANS` is on (the default).
    Context,
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
    /// A span on this thread's stack at `depth`; `cx` holds its span
    /// context until the call attaches it.
    Local {
        depth: local::Depth,
        cx: ManuallyDrop<Option<Context>>,
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
            State::Recording { .. } | State::Local { .. } => "SpanGuard(recording)",
        })
    }
}

impl SpanGuard {
    /// The guard of a call made while telemetry is off.
    pub const OFF: SpanGuard = SpanGuard { state: State::Off };

    /// Starts the span when telemetry is on and the call is sampled, wholly
    /// in the context (the guard may move: a future's).
    #[inline(always)]
    pub fn start_if_on(meta: &'static SpanMeta) -> SpanGuard {
        SpanGuard::start_if_on_at(meta, Where::Context)
    }

    #[inline(always)]
    fn start_if_on_at(meta: &'static SpanMeta, at: Where) -> SpanGuard {
        if pipeline::is_on() {
            SpanGuard::start(meta, at)
        } else {
            SpanGuard { state: State::Off }
        }
    }

    // Out of line: inlining the sampling decision into every traced function
    // grows its frame and prologue, which the disabled path pays for too.
    #[inline(never)]
    fn start(meta: &'static SpanMeta, at: Where) -> SpanGuard {
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
            SpanGuard::start_recording(meta, timing, at)
        } else {
            SpanGuard {
                state: State::Unsampled { timing },
            }
        }
    }

    #[inline(never)]
    fn start_recording(meta: &'static SpanMeta, timing: Option<Timing>, at: Where) -> SpanGuard {
        let pipeline = pipeline::pipeline();
        let at = if state::mutable_spans() { Where::Context } else { at };
        // The current context is read in place, not cloned: the span's
        // context is made from it directly.
        let started = Context::map_current(|current| {
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
            if at == Where::Stack
                && let Some((depth, cx)) = local::start(pipeline, meta.name, &meta.kind, parent, start_time)
            {
                return Some(State::Local {
                    depth,
                    cx: ManuallyDrop::new(Some(cx)),
                    finished: false,
                    timing,
                });
            }
            let span = ZenSpan::start(pipeline, meta.name, meta.kind.clone(), parent, start_time);
            Some(recording(parent.with_span(span), timing))
        });
        SpanGuard {
            state: started.unwrap_or(State::Unsampled { timing }),
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
        matches!(self.state, State::Recording { .. } | State::Local { .. })
    }

    /// True when [`finish`](Self::finish) has something to record: the span,
    /// or the call's metrics.
    #[inline(always)]
    pub fn wants_outcome(&self) -> bool {
        match self.state {
            State::Off => false,
            State::Unsampled { timing } => timing.is_some(),
            State::Recording { .. } | State::Local { .. } => true,
        }
    }

    /// Sets an attribute on the span (call only when recording).
    pub fn set_attribute<V: AttrValue>(&self, key: &'static str, value: V) {
        let attribute = || KeyValue::new(Key::from_static_str(key), value.into_value());
        match &self.state {
            State::Recording { cx, .. } => cx.span().set_attribute(attribute()),
            State::Local { depth, .. } => {
                let attribute = attribute();
                local::with(*depth, |span| span.set_attribute(attribute));
            }
            State::Off | State::Unsampled { .. } => {}
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
            State::Recording { .. } | State::Local { .. } => self.run_recording(body),
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
        match &mut self.state {
            State::Off => {}
            State::Unsampled { timing } => {
                if let Some(timing) = timing.take() {
                    timing.record(match outcome {
                        Outcome::Ok => CallResult::Ok,
                        Outcome::Err { .. } => CallResult::Error,
                    });
                }
            }
            State::Recording { .. } | State::Local { .. } => self.end_recorded(Ending::of(outcome)),
        }
    }

    /// Counts a recorded call, with its span as its bucket's exemplar, and
    /// ends the span, once.
    fn end_recorded(&mut self, ending: Ending) {
        match &mut self.state {
            State::Off | State::Unsampled { .. } => {}
            State::Recording { cx, finished, timing } => {
                if std::mem::replace(finished, true) {
                    return;
                }
                let span = cx.span();
                let end_time = end_time(span.span_context(), timing.take(), ending.result);
                ending.apply_in_context(&span, end_time);
            }
            State::Local {
                depth,
                finished,
                timing,
                ..
            } => {
                if std::mem::replace(finished, true) {
                    return;
                }
                let result = ending.result;
                let ended = local::end(*depth, |span| {
                    let end_time = end_time(span.span_context(), timing.take(), result);
                    ending.apply(span, end_time);
                });
                if ended.is_none()
                    && let Some(timing) = timing.take()
                {
                    timing.record(result);
                }
            }
        }
    }

    /// The recorded path of [`SpanGuard::run`], kept out of the caller so the
    /// off and unsampled paths stay a few instructions.
    #[inline(never)]
    fn run_recording<R>(&mut self, body: impl FnOnce() -> R) -> R {
        let Some(attached) = self.attach() else {
            return body();
        };
        match catch_unwind(AssertUnwindSafe(body)) {
            Ok(value) => value,
            Err(payload) => {
                drop(attached);
                self.end_recorded(Ending::panicked(Some(&*payload)));
                resume_unwind(payload)
            }
        }
    }
}

impl SpanGuard {
    /// Makes this call's span current until the returned guard drops;
    /// `None` when it is not recorded. A stack span's context is moved in,
    /// not cloned: it is needed only while attached.
    fn attach(&mut self) -> Option<ContextGuard> {
        match &mut self.state {
            State::Recording { cx, .. } => Some(Context::clone(cx).attach()),
            State::Local { cx, .. } => Some(
                ManuallyDrop::into_inner(std::mem::take(cx))
                    .unwrap_or_default()
                    .attach(),
            ),
            State::Off | State::Unsampled { .. } => None,
        }
    }
}

/// A recorded call's state, wholly in `cx`.
fn recording(cx: Context, timing: Option<Timing>) -> State {
    State::Recording {
        cx: ManuallyDrop::new(cx),
        finished: false,
        timing,
    }
}

/// Counts a recorded call's metrics, with `span` as its bucket's exemplar,
/// and gives its span's end time.
#[inline]
fn end_time(span: &SpanContext, timing: Option<Timing>, result: CallResult) -> std::time::SystemTime {
    match timing {
        Some(timing) => timing.record_sampled(result, span),
        None => clock::now(),
    }
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
            State::Recording { .. } | State::Local { .. } => {
                self.end_recorded(if unwinding {
                    Ending::panicked(None)
                } else {
                    Ending::cancelled()
                });
                match &mut self.state {
                    // SAFETY: dropped exactly once, here, and `self` is being dropped.
                    State::Recording { cx, .. } => unsafe { ManuallyDrop::drop(cx) },
                    // SAFETY: dropped exactly once, here, and `self` is being dropped.
                    State::Local { cx, .. } => unsafe { ManuallyDrop::drop(cx) },
                    State::Off | State::Unsampled { .. } => {}
                }
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
            State::Recording { cx, .. } => {
                let attached = Context::clone(cx).attach();
                match catch_unwind(AssertUnwindSafe(|| future.poll(task))) {
                    Ok(poll) => poll,
                    Err(payload) => {
                        drop(attached);
                        self.end_recorded(Ending::panicked(Some(&*payload)));
                        resume_unwind(payload)
                    }
                }
            }
            // A future's guard is never on the stack: `start_if_on` puts
            // its span in the context.
            State::Local { .. } => future.poll(task),
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
