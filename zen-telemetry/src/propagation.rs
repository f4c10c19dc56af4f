//! W3C trace context across processes.
//!
//! A process started with `TRACEPARENT` (and optionally `TRACESTATE`) in its
//! environment continues that trace: its root spans become children of the
//! remote parent. [`child_env`] gives the variables to pass to a child so it
//! continues the current trace. Malformed values are ignored, never fatal.

use std::collections::HashMap;
use std::sync::OnceLock;

use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::propagation::TraceContextPropagator;

use crate::{pipeline, sampling};

/// Parses a W3C `traceparent` (and `tracestate`) into a context whose span is
/// the remote parent. `None` when `traceparent` is malformed.
///
/// ```
/// let cx = zen_telemetry::propagation::extract(
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
///     Some("vendor=value"),
/// );
/// assert!(cx.is_some());
/// assert!(zen_telemetry::propagation::extract("garbage", None).is_none());
/// ```
pub fn extract(traceparent: &str, tracestate: Option<&str>) -> Option<Context> {
    crate::config::remote_parent(traceparent, tracestate).map(|parent| Context::new().with_remote_span_context(parent))
}

/// The `traceparent` and `tracestate` values of a context, if it has a span.
pub fn inject(cx: &Context) -> Option<(String, Option<String>)> {
    let mut carrier: HashMap<String, String> = HashMap::new();
    TraceContextPropagator::new().inject_context(cx, &mut carrier);
    let traceparent = carrier.remove("traceparent")?;
    let tracestate = carrier.remove("tracestate").filter(|s| !s.is_empty());
    Some((traceparent, tracestate))
}

/// Environment variables (`TRACEPARENT`, `TRACESTATE`) that make a child
/// process continue the current trace. Empty when there is nothing to continue.
///
/// Inside a call that was not sampled, the child gets a `traceparent` with the
/// sampled flag off, so it does not record either.
pub fn child_env() -> Vec<(&'static str, String)> {
    current_pair(["TRACEPARENT", "TRACESTATE"])
}

/// The W3C headers (`traceparent`, and `tracestate` when there is one) that
/// make an outgoing request continue the current trace; empty when there is
/// nothing to continue. Unsampled calls pass on the unsampled flag, as
/// [`child_env`] does.
///
/// ```
/// let mut request = Vec::new();
/// for (name, value) in zen_telemetry::propagation::headers() {
///     request.push(format!("{name}: {value}"));
/// }
/// ```
pub fn headers() -> Vec<(&'static str, String)> {
    current_pair(["traceparent", "tracestate"])
}

/// The caller's context from a request's W3C headers, read through `header`
/// (a header name, lower case, to its value); `None` without a valid
/// `traceparent`. Run the handler inside it and its `#[traced]` span is the
/// caller's child:
///
/// ```
/// use zen_telemetry::opentelemetry::context::FutureExt;
///
/// # async fn handle() {}
/// # async fn serve(incoming: &std::collections::HashMap<&str, &str>) {
/// let caller = zen_telemetry::propagation::from_headers(|name| incoming.get(name).copied());
/// match caller {
///     Some(cx) => handle().with_context(cx).await,
///     None => handle().await,
/// }
/// # }
/// ```
pub fn from_headers<'a>(header: impl Fn(&str) -> Option<&'a str>) -> Option<Context> {
    extract(header("traceparent")?, header("tracestate"))
}

/// The current trace's `traceparent` and `tracestate` under `names`.
fn current_pair(names: [&'static str; 2]) -> Vec<(&'static str, String)> {
    if !pipeline::is_on() {
        return Vec::new();
    }
    let current = Context::current();
    let injected = if current.span().span_context().is_valid() {
        inject(&current)
    } else if sampling::in_unsampled_subtree() {
        inject(&unsampled_context())
    } else {
        process_parent().and_then(inject)
    };
    let Some((traceparent, tracestate)) = injected else {
        return Vec::new();
    };
    let mut pair = vec![(names[0], traceparent)];
    if let Some(state) = tracestate {
        pair.push((names[1], state));
    }
    pair
}

fn unsampled_context() -> Context {
    let span_context = SpanContext::new(
        TraceId::from(sampling::random_u128()),
        SpanId::from(sampling::random_u64()),
        TraceFlags::default(),
        false,
        TraceState::default(),
    );
    Context::new().with_remote_span_context(span_context)
}

/// The remote parent given to this process through `TRACEPARENT` (read
/// with the configuration), as a context to start spans in.
pub(crate) fn process_parent() -> Option<&'static Context> {
    static PARENT: OnceLock<Option<Context>> = OnceLock::new();
    PARENT
        .get_or_init(|| {
            sampling::process_parent().map(|parent| Context::new().with_remote_span_context(parent.clone()))
        })
        .as_ref()
}
