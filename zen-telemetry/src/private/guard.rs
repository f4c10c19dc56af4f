//! The span of one traced call: started when the call is sampled, current
//! while its body runs (or its future is polled), ended with the outcome, or
//! as cancelled or panicked when dropped unfinished.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::Poll;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use opentelemetry::{Context, Key, KeyValue};

use super::outcome::Outcome;
use crate::attr_value::AttrValue;
use crate::pipeline;
use crate::sampling::{self, UnsampledScope};
use crate::span::ZenSpan;
use crate::{clock, propagation, scrub, state, stats};

/// What a traced function is, fixed at compile time.
#[derive(Debug)]
pub struct SpanMeta {
    /// The span name.
    pub name: &'static str,
    /// The span kind.
    pub kind: SpanKind,
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
    let mut guard = SpanGuard::start_if_on(meta);
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
        let pipeline = pipeline::pipeline();
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
    message.filter(|_| state::error_messages()).map(scrub::scrub)
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
        let future = this.future;
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
