//! `zen_telemetry::tracing_layer()`: `tracing` spans and events in zen's
//! traces, both ways round, under zen's sampler and opt-out.

use tracing_subscriber::layer::SubscriberExt;
use zen_telemetry::testing::{CapturedSpan, capture, span_named};
use zen_telemetry::traced;

/// Runs `body` with a subscriber holding only zen's layer, installed for
/// this thread only (a library never sets the global subscriber).
fn with_zen_layer(body: impl FnOnce()) {
    let subscriber = tracing_subscriber::registry().with(zen_telemetry::tracing_layer());
    tracing::subscriber::with_default(subscriber, body);
}

#[traced("interop.load")]
fn load(rows: u32) -> u32 {
    let _fetch = tracing::info_span!("fetch", rows).entered();
    tracing::info!(rows, "fetched");
    rows
}

#[traced("interop.check")]
fn check() {
    // No tracing span here: the event goes on the traced span.
    tracing::error!(code = 7, "check failed for user@example.com");
}

#[traced("interop.inner")]
fn inner() {}

#[test]
fn tracing_spans_and_events_inside_a_traced_call_are_its_children() {
    let captured = capture();
    with_zen_layer(|| {
        load(3);
        check();
    });
    let spans = captured.spans();
    let load = span_named(&spans, "interop.load");
    let fetch = span_named(&spans, "fetch");
    assert!(fetch.is_child_of(load), "{fetch:?}");
    assert_eq!(fetch.attribute("rows").map(ToString::to_string).as_deref(), Some("3"));
    assert!(fetch.events.iter().any(|e| e.name == "fetched"), "{:?}", fetch.events);
    assert!(
        fetch.attribute("code.filepath").is_none(),
        "no source paths leave the machine"
    );

    let check = span_named(&spans, "interop.check");
    let event = &check.events[0];
    assert_eq!(event.name, "check failed for [EMAIL]", "scrubbed: {event:?}");
    assert_eq!(
        event.attribute("level").map(ToString::to_string).as_deref(),
        Some("ERROR")
    );
    assert_eq!(event.attribute("code").map(ToString::to_string).as_deref(), Some("7"));
    assert!(check.is_ok(), "the call's own result decides its status");

    // On a tracing span, error! marks it failed (tracing-opentelemetry's rule).
    let captured_again = {
        drop(captured);
        capture()
    };
    with_zen_layer(|| {
        tracing::info_span!("step").in_scope(|| tracing::error!("broke"));
    });
    let spans = captured_again.spans();
    assert!(span_named(&spans, "step").error().is_some(), "{spans:?}");
}

#[test]
fn with_spans_on_the_stack_tracing_spans_and_events_still_reach_the_traced_call() {
    let captured = capture();
    captured.set_mutable_spans(false);
    with_zen_layer(|| {
        load(3);
        check();
    });
    let spans = captured.spans();
    assert!(span_named(&spans, "fetch").is_child_of(span_named(&spans, "interop.load")));
    let check = span_named(&spans, "interop.check");
    assert_eq!(check.events.len(), 1, "{check:?}");
    assert_eq!(check.events[0].name, "check failed for [EMAIL]");
}

#[test]
fn a_traced_call_inside_a_tracing_span_is_its_child() {
    let captured = capture();
    with_zen_layer(|| {
        let request = tracing::info_span!("request");
        request.in_scope(inner);
    });
    let spans = captured.spans();
    let request = span_named(&spans, "request");
    let inner = span_named(&spans, "interop.inner");
    assert!(inner.is_child_of(request), "{inner:?}");
    assert_eq!(request.parent_span_id, None);
}

#[test]
fn an_unsampled_traced_root_keeps_its_tracing_spans_unsampled() {
    let captured = capture();
    captured.set_sample_rate(0.0);
    with_zen_layer(|| {
        load(1);
    });
    let names: Vec<String> = captured.spans().iter().map(|s: &CapturedSpan| s.name.clone()).collect();
    assert!(names.is_empty(), "{names:?}");
    captured.set_sample_rate(1.0);
    with_zen_layer(|| {
        load(1);
    });
    assert_eq!(
        captured.spans().len(),
        2,
        "sampled again: the traced call and its tracing span"
    );
}

#[test]
fn the_opt_out_covers_tracing_spans() {
    let captured = capture();
    captured.set_on(false);
    assert!(zen_telemetry::tracing_layer::<tracing_subscriber::Registry>().is_none());
    with_zen_layer(|| {
        tracing::info_span!("ignored").in_scope(|| tracing::info!("nothing"));
        load(2);
    });
    assert!(captured.spans().is_empty(), "{:?}", captured.spans());
}
