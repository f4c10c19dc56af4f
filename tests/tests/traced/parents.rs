//! Spans nest: a traced call inside another is its child, across `.await`,
//! threads given the context, spawned tasks, and spans of the OpenTelemetry API.

use std::future::Future;

use opentelemetry::Value;
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use zen_telemetry::testing::{CapturedSpan, capture};
use zen_telemetry::traced;

use crate::{YieldOnce, assert_child_of, find, tokio_runtime};

/// The span name of [`inner_sync`], for the sections that call it too.
pub(crate) const INNER_SYNC: &str = concat!(module_path!(), "::inner_sync");

#[traced]
fn outer_sync() -> u32 {
    inner_sync() + inner_sync()
}

/// A traced leaf: other sections call it to observe which span is current.
#[traced]
pub(crate) fn inner_sync() -> u32 {
    1
}

#[test]
fn nested_sync_calls_are_children() {
    let capture = capture();
    assert_eq!(outer_sync(), 2);
    let spans = capture.spans();
    assert_eq!(spans.len(), 3);
    let outer = find(&spans, concat!(module_path!(), "::outer_sync"));
    assert_eq!(outer.parent_span_id, None);
    for inner in spans.iter().filter(|s| s.name.ends_with("::inner_sync")) {
        assert_child_of(inner, outer);
    }
}

#[traced]
async fn outer_async() -> u32 {
    YieldOnce(false).await;
    let a = inner_async().await;
    tokio::task::yield_now().await;
    a + inner_sync()
}

#[traced]
async fn inner_async() -> u32 {
    YieldOnce(false).await;
    1
}

#[test]
fn nested_async_calls_are_children_with_block_on() {
    let capture = capture();
    // `tokio::task::yield_now` works outside a runtime too (it just wakes).
    assert_eq!(futures::executor::block_on(outer_async()), 2);
    let spans = capture.spans();
    let outer = find(&spans, concat!(module_path!(), "::outer_async"));
    assert_eq!(outer.parent_span_id, None);
    assert_child_of(find(&spans, concat!(module_path!(), "::inner_async")), outer);
    assert_child_of(find(&spans, concat!(module_path!(), "::inner_sync")), outer);
    assert!(outer.is_ok());
}

#[test]
fn nested_async_calls_are_children_on_tokio() {
    let capture = capture();
    let rt = tokio_runtime();
    let handle = rt.spawn(outer_async());
    assert_eq!(rt.block_on(handle).unwrap(), 2);
    drop(rt);
    let spans = capture.spans();
    let outer = find(&spans, concat!(module_path!(), "::outer_async"));
    assert_child_of(find(&spans, concat!(module_path!(), "::inner_async")), outer);
    assert_child_of(find(&spans, concat!(module_path!(), "::inner_sync")), outer);
}

#[traced]
fn makes_direct_span() {
    let tracer = zen_telemetry::tracer_provider().unwrap().tracer("t");
    let span = tracer.start("direct");
    drop(span);
}

#[traced]
async fn makes_direct_span_async() {
    YieldOnce(false).await;
    let tracer = zen_telemetry::tracer_provider().unwrap().tracer("t");
    drop(tracer.start("direct.async"));
}

#[test]
fn otel_api_span_inside_traced_fn_is_a_child() {
    let capture = capture();
    makes_direct_span();
    futures::executor::block_on(makes_direct_span_async());
    let spans = capture.spans();
    assert_child_of(
        find(&spans, "direct"),
        find(&spans, concat!(module_path!(), "::makes_direct_span")),
    );
    assert_child_of(
        find(&spans, "direct.async"),
        find(&spans, concat!(module_path!(), "::makes_direct_span_async")),
    );
}

#[traced]
fn annotates_itself_through_the_otel_api(extra: usize) {
    opentelemetry::trace::get_active_span(|span| {
        span.set_attribute(opentelemetry::KeyValue::new("user.key", 7));
        span.add_event("user.event", vec![opentelemetry::KeyValue::new("n", 1)]);
        let extras: Vec<_> = (0..extra)
            .map(|i| opentelemetry::KeyValue::new(format!("extra.{i}"), true))
            .collect();
        span.add_event("user.extras", extras.clone());
        for attribute in extras {
            span.set_attribute(attribute);
        }
    });
}

#[test]
fn otel_api_annotations_reach_the_traced_span_within_limits() {
    let capture = capture();
    capture.set_mutable_spans(true);
    let before = std::time::SystemTime::now();
    annotates_itself_through_the_otel_api(0);
    annotates_itself_through_the_otel_api(200);
    let after = std::time::SystemTime::now();
    let spans = capture.spans();
    let name = concat!(module_path!(), "::annotates_itself_through_the_otel_api");
    let annotated: Vec<&CapturedSpan> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(annotated.len(), 2);
    for span in &annotated {
        assert_eq!(span.attribute("user.key"), Some(&Value::I64(7)));
        assert_eq!(span.event("user.event").map(|e| e.attributes.len()), Some(1));
        assert!(span.is_ok());
        // Span clocks may read the CPU's counter, within microseconds of the wall clock.
        let slack = std::time::Duration::from_millis(1);
        assert!(before - slack <= span.start_time && span.start_time <= span.end_time);
        assert!(span.end_time <= after + slack);
    }
    assert_eq!(annotated[0].attributes.len(), 1);
    assert_eq!(annotated[0].dropped_attributes_count, 0);
    // The SDK's default limit of 128 attributes per span applies.
    assert_eq!(annotated[1].attributes.len(), 128);
    assert_eq!(annotated[1].dropped_attributes_count, 201 - 128);
    let event_size = |span: &CapturedSpan| span.event("user.extras").map(|e| e.attributes.len());
    assert_eq!(event_size(annotated[0]), Some(0));
    assert_eq!(event_size(annotated[1]), Some(128), "128 attributes per event");
}

#[traced]
fn annotates_itself_both_ways() {
    opentelemetry::trace::get_active_span(|span| span.set_attribute(opentelemetry::KeyValue::new("otel.key", 1)));
    zen_telemetry::span_attributes!(zen.key = 2);
}

#[test]
fn with_spans_on_the_stack_the_otel_api_sees_the_span_context_and_span_attributes_reach_the_span() {
    let capture = capture();
    capture.set_mutable_spans(false);
    annotates_itself_both_ways();
    let spans = capture.spans();
    let span = find(&spans, concat!(module_path!(), "::annotates_itself_both_ways"));
    assert_eq!(span.attribute("zen.key"), Some(&Value::I64(2)));
    assert_eq!(
        span.attribute("otel.key"),
        None,
        "the OTel API holds the span context only"
    );
    capture.set_mutable_spans(true);
    annotates_itself_both_ways();
    let spans = capture.spans();
    let mutable: Vec<&CapturedSpan> = spans
        .iter()
        .filter(|s| s.name == concat!(module_path!(), "::annotates_itself_both_ways"))
        .collect();
    assert_eq!(mutable.len(), 2);
    assert!(mutable.iter().any(|s| s.attribute("otel.key") == Some(&Value::I64(1))));
    assert!(mutable.iter().all(|s| s.attribute("zen.key") == Some(&Value::I64(2))));
}

/// The `traceparent` an OTel propagator injects from inside the call.
#[traced]
fn injects_its_traceparent() -> String {
    use opentelemetry::propagation::TextMapPropagator;
    let mut headers = std::collections::HashMap::new();
    opentelemetry_sdk::propagation::TraceContextPropagator::new()
        .inject_context(&opentelemetry::Context::current(), &mut headers);
    headers.remove("traceparent").unwrap_or_default()
}

#[test]
fn a_propagator_and_an_otel_child_inside_a_traced_call_carry_its_ids_with_either_span_path() {
    for mutable in [true, false] {
        let capture = capture();
        capture.set_mutable_spans(mutable);
        let traceparent = injects_its_traceparent();
        makes_direct_span();
        let spans = capture.spans();
        let span = find(&spans, concat!(module_path!(), "::injects_its_traceparent"));
        assert_eq!(
            traceparent,
            format!("00-{}-{}-01", span.trace_id, span.span_id),
            "mutable: {mutable}"
        );
        assert_child_of(
            find(&spans, "direct"),
            find(&spans, concat!(module_path!(), "::makes_direct_span")),
        );
    }
}

#[test]
fn traced_fn_inside_otel_api_span_is_a_child() {
    let capture = capture();
    let tracer = zen_telemetry::tracer_provider().unwrap().tracer("t");
    tracer.in_span("outer", |_cx| inner_sync());
    let spans = capture.spans();
    assert_child_of(
        find(&spans, concat!(module_path!(), "::inner_sync")),
        find(&spans, "outer"),
    );
}

#[traced]
fn spawns_threads() {
    let cx = opentelemetry::Context::current();
    std::thread::spawn(move || {
        let _guard = cx.attach();
        inner_sync();
    })
    .join()
    .unwrap();
    // Without the context, the thread starts a new trace.
    std::thread::spawn(inner_async_blocking).join().unwrap();
}

fn inner_async_blocking() {
    futures::executor::block_on(inner_async());
}

#[test]
fn threads_get_the_parent_when_the_context_is_passed() {
    let capture = capture();
    spawns_threads();
    let spans = capture.spans();
    let outer = find(&spans, concat!(module_path!(), "::spawns_threads"));
    assert_child_of(find(&spans, concat!(module_path!(), "::inner_sync")), outer);
    let detached = find(&spans, concat!(module_path!(), "::inner_async"));
    assert_eq!(detached.parent_span_id, None);
    assert_ne!(detached.trace_id, outer.trace_id);
}

/// A traced fn returning a future; its span starts at the call.
#[traced]
pub(crate) fn future_fn(n: u32) -> impl Future<Output = Result<u32, String>> + Send + 'static {
    let doubled = n * 2;
    async move {
        YieldOnce(false).await;
        tokio::task::yield_now().await;
        if doubled == 0 {
            return Err("zero".to_owned());
        }
        Ok(doubled + inner_sync())
    }
}

#[traced]
async fn spawns_tasks() -> u32 {
    // The span of `future_fn` starts here, at the call, with this span as parent.
    let handle = tokio::spawn(future_fn(2));
    let a = handle.await.unwrap().unwrap();
    let b = tokio::spawn(future_fn(0)).await.unwrap().unwrap_err();
    assert_eq!(b, "zero");
    a
}

#[test]
fn spawned_impl_future_keeps_its_call_time_parent() {
    let capture = capture();
    let rt = tokio_runtime();
    assert_eq!(rt.block_on(spawns_tasks()), 5);
    drop(rt);
    let spans = capture.spans();
    let outer = find(&spans, concat!(module_path!(), "::spawns_tasks"));
    let futures: Vec<&CapturedSpan> = spans.iter().filter(|s| s.name.ends_with("::future_fn")).collect();
    assert_eq!(futures.len(), 2);
    for span in &futures {
        assert_child_of(span, outer);
    }
    let ok = futures.iter().find(|s| s.is_ok()).expect("an Ok future_fn span");
    let err = futures.iter().find(|s| !s.is_ok()).expect("an Err future_fn span");
    assert_eq!(err.error(), Some("zero"));
    // The body ran with the future's span current.
    let inner = find(&spans, concat!(module_path!(), "::inner_sync"));
    assert_child_of(inner, ok);
}

#[traced]
async fn async_leaf(n: u32) -> u32 {
    tokio::task::yield_now().await;
    n + 1
}

#[test]
fn spawned_async_fn_keeps_its_call_time_parent() {
    let capture = capture();
    let rt = tokio_runtime();
    let tracer = zen_telemetry::tracer_provider().unwrap().tracer("t");
    // Called inside `caller`, spawned and polled only on a worker thread.
    let handle = tracer.in_span("caller", |_cx| rt.spawn(async_leaf(1)));
    assert_eq!(rt.block_on(handle).unwrap(), 2);
    let fut = tracer.in_span("caller2", |_cx| async_leaf(5));
    let joined = std::thread::spawn(move || futures::executor::block_on(fut))
        .join()
        .unwrap();
    assert_eq!(joined, 6);
    drop(rt);
    let spans = capture.spans();
    let leaves: Vec<&CapturedSpan> = spans.iter().filter(|s| s.name.ends_with("::async_leaf")).collect();
    assert_eq!(leaves.len(), 2);
    assert_child_of(leaves[0], find(&spans, "caller"));
    assert_child_of(leaves[1], find(&spans, "caller2"));
}

#[test]
fn impl_future_span_starts_at_call_time() {
    let capture = capture();
    let fut = {
        let tracer = zen_telemetry::tracer_provider().unwrap().tracer("t");
        tracer.in_span("caller", |_cx| future_fn(1))
    };
    // Polled outside the caller's span: the parent is still the caller.
    assert_eq!(futures::executor::block_on(fut), Ok(3));
    let spans = capture.spans();
    assert_child_of(
        find(&spans, concat!(module_path!(), "::future_fn")),
        find(&spans, "caller"),
    );
}
