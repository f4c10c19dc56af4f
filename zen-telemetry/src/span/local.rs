//! The spans of sync traced calls, recorded on this thread's stack when
//! `ZEN_TELEMETRY_MUTABLE_SPANS=false`.
//!
//! A sync call's span lives from its start to its end on one thread, and
//! the spans of nested calls end in the reverse order they start, so they
//! are kept in a thread-local `Vec`: starting one is a push, ending it a pop,
//! with no `Box`, `Arc` or lock for the span itself and no atomic
//! read-modify-write on the calling thread. What the `opentelemetry` API
//! sees as the current span is its [`SpanContext`] alone, put into the
//! `Context` once per span (one `Arc`): propagators inject it, and spans of
//! the SDK tracer and of `tracing_layer()` parent to it. Mutating that span
//! through the `opentelemetry` API (`get_active_span(|s| s.set_attribute(..))`)
//! does nothing; `span_attributes!` reaches the stack instead. By default
//! (`ZEN_TELEMETRY_MUTABLE_SPANS=true`) the whole span goes into the context,
//! the path async calls always take, as their futures move between threads:
//! the interleaved A/B of the overhead bench has not yet measured this path
//! faster.

use std::borrow::Cow;
use std::cell::RefCell;

use std::time::SystemTime;

use opentelemetry::trace::{Span as _, SpanContext, SpanId, SpanKind, SpanRef, TraceContextExt};
use opentelemetry::{Context, KeyValue};

use super::ZenSpan;
use crate::pipeline::Pipeline;

thread_local! {
    static STACK: RefCell<Vec<ZenSpan>> = const { RefCell::new(Vec::new()) };
}

/// Where a span sits on its thread's stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Depth(usize);

/// Starts a span (as [`ZenSpan::start`]) in a new slot on top of this
/// thread's stack, built there rather than moved in; gives its place and
/// `parent` with its span context as the current span. `None` when the stack cannot take it: gone (a call from a
/// thread-local destructor) or in use (a call from inside [`with`]).
pub(crate) fn start(
    pipeline: &'static Pipeline,
    name: &'static str,
    kind: &SpanKind,
    parent: &Context,
    start_time: SystemTime,
) -> Option<(Depth, Context)> {
    STACK
        .try_with(|stack| {
            let mut stack = stack.try_borrow_mut().ok()?;
            let depth = stack.len();
            stack.push(ZenSpan::start(pipeline, name, kind.clone(), parent, start_time));
            // Local, not remote: OTel children record a local parent.
            let cx = parent.with_remote_span_context(stack.get(depth)?.span_context.clone());
            Some((Depth(depth), cx))
        })
        .ok()
        .flatten()
}

/// Runs `f` on the span at `depth`, if it is still there. `f` must not
/// start or end a span of this thread (the stack is borrowed meanwhile).
pub(crate) fn with<R>(depth: Depth, f: impl FnOnce(&mut ZenSpan) -> R) -> Option<R> {
    STACK
        .try_with(|stack| stack.try_borrow_mut().ok()?.get_mut(depth.0).map(f))
        .ok()
        .flatten()
}

/// Runs `f` on the span at `depth`, which `f` ends, in place, then takes
/// it off the stack with any left above it (which end, as dropped spans
/// do). `None` when the span is not there.
pub(crate) fn end<R>(depth: Depth, f: impl FnOnce(&mut ZenSpan) -> R) -> Option<R> {
    STACK
        .try_with(|stack| {
            let mut stack = stack.try_borrow_mut().ok()?;
            let ended = stack.get_mut(depth.0).map(f);
            stack.truncate(depth.0);
            ended
        })
        .ok()
        .flatten()
}

/// Runs `f` on this thread's innermost span when it is the one `current`
/// names (the `opentelemetry` API's current span); as in [`with`], `f` must
/// not start or end a span.
pub(crate) fn with_current<R>(current: &SpanContext, f: impl FnOnce(&mut ZenSpan) -> R) -> Option<R> {
    if current.span_id() == SpanId::INVALID {
        return None;
    }
    STACK
        .try_with(|stack| {
            stack
                .try_borrow_mut()
                .ok()?
                .last_mut()
                .filter(|span| span.span_context.span_id() == current.span_id())
                .map(f)
        })
        .ok()
        .flatten()
}

/// What code inside a traced call may add to its span.
pub(crate) trait Annotate {
    fn attribute(&mut self, attribute: KeyValue);
    // Events come from `tracing_layer`, which the `tracing` feature builds.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    fn event(&mut self, name: Cow<'static, str>, attributes: Vec<KeyValue>);
}

impl Annotate for SpanRef<'_> {
    fn attribute(&mut self, attribute: KeyValue) {
        self.set_attribute(attribute);
    }
    fn event(&mut self, name: Cow<'static, str>, attributes: Vec<KeyValue>) {
        self.add_event(name, attributes);
    }
}

impl Annotate for ZenSpan {
    fn attribute(&mut self, attribute: KeyValue) {
        self.set_attribute(attribute);
    }
    fn event(&mut self, name: Cow<'static, str>, attributes: Vec<KeyValue>) {
        self.add_event(name, attributes);
    }
}

/// True when the current span is recorded: a span in the `opentelemetry`
/// context, or the one on this thread's stack whose span context it holds.
pub(crate) fn current_is_recording() -> bool {
    Context::map_current(|cx| {
        let span = cx.span();
        span.is_recording() || with_current(span.span_context(), |_| ()).is_some()
    })
}

/// Runs `annotate` on the current span when it is recorded (see
/// [`current_is_recording`]).
pub(crate) fn annotate_current(annotate: impl FnOnce(&mut dyn Annotate)) {
    Context::map_current(|cx| {
        let mut span = cx.span();
        if span.is_recording() {
            annotate(&mut span);
        } else {
            with_current(span.span_context(), |span| annotate(span));
        }
    });
}
