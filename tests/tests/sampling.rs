//! Sampling: the root ratio is within statistical bounds and children follow
//! their parent's decision, in-process through the testing API.

use std::collections::HashSet;

use zen_telemetry::traced;

#[traced("sampling.child")]
fn child() -> u32 {
    1
}

#[traced("sampling.root")]
fn root() -> u32 {
    child() + child()
}

#[test]
fn ratio_of_recorded_roots_is_within_bounds_and_children_follow() {
    let capture = zen_telemetry::testing::capture();
    capture.set_sample_rate(0.1);
    const ROOTS: usize = 20_000;
    for _ in 0..ROOTS {
        assert_eq!(root(), 2);
    }
    let spans = capture.spans();
    let roots: Vec<_> = spans.iter().filter(|s| s.name == "sampling.root").collect();
    let children: Vec<_> = spans.iter().filter(|s| s.name == "sampling.child").collect();
    let fraction = roots.len() as f64 / ROOTS as f64;
    assert!((0.08..=0.12).contains(&fraction), "recorded fraction {fraction}");
    // Every recorded root has both children, and no child is recorded
    // without its root: children follow the parent's decision.
    assert_eq!(children.len(), roots.len() * 2);
    let root_ids: HashSet<_> = roots.iter().map(|r| r.span_id).collect();
    for child in &children {
        let parent = child.parent_span_id.expect("a child is never a root");
        assert!(root_ids.contains(&parent));
    }
    for root in &roots {
        assert_eq!(root.parent_span_id, None);
    }
}

#[test]
fn rate_zero_records_nothing_and_rate_one_records_everything() {
    let capture = zen_telemetry::testing::capture();
    capture.set_sample_rate(0.0);
    for _ in 0..1000 {
        root();
    }
    assert!(capture.spans().is_empty());
    capture.set_sample_rate(1.0);
    for _ in 0..100 {
        root();
    }
    assert_eq!(capture.spans().len(), 300);
}

#[test]
fn trace_ids_differ_between_roots_and_are_valid() {
    let capture = zen_telemetry::testing::capture();
    for _ in 0..200 {
        root();
    }
    let spans = capture.spans();
    let traces: HashSet<_> = spans
        .iter()
        .filter(|s| s.name == "sampling.root")
        .map(|s| s.trace_id)
        .collect();
    assert_eq!(traces.len(), 200);
    for span in &spans {
        assert_ne!(span.trace_id, opentelemetry::trace::TraceId::INVALID);
        assert_ne!(span.span_id, opentelemetry::trace::SpanId::INVALID);
    }
}
