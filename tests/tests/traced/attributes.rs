//! `attrs(...)` and `span_attributes!`: values and keys as written, evaluated
//! only when the span is recorded.

use std::sync::atomic::{AtomicUsize, Ordering};

use opentelemetry::Value;
use zen_telemetry::testing::capture;
use zen_telemetry::{span_attributes, traced};

use crate::find;

#[traced(attrs(operation = "main_loop", retries = 3, dry = false, ratio = 0.25, "literal.key" = "v"))]
fn literal_attrs() {}

#[traced(attrs(zen.instance.name = name, batch.size = items.len(), batch.sum = items.iter().sum::<u64>(),
    name.owned = name.to_uppercase(), big = u64::MAX, small = -5_i8, single = 1.5_f32, r#type = "raw"))]
fn expression_attrs(name: &str, items: &[u64]) -> usize {
    items.len()
}

#[test]
fn attribute_values() {
    let capture = capture();
    literal_attrs();
    expression_attrs("zen-1", &[1, 2, 3]);
    let spans = capture.spans();
    let span = find(&spans, concat!(module_path!(), "::literal_attrs"));
    assert_eq!(span.attribute("operation"), Some(&Value::from("main_loop")));
    assert_eq!(span.attribute("retries"), Some(&Value::I64(3)));
    assert_eq!(span.attribute("dry"), Some(&Value::Bool(false)));
    assert_eq!(span.attribute("ratio"), Some(&Value::F64(0.25)));
    assert_eq!(span.attribute("literal.key"), Some(&Value::from("v")));

    let span = find(&spans, concat!(module_path!(), "::expression_attrs"));
    assert_eq!(span.attribute("zen.instance.name"), Some(&Value::from("zen-1")));
    assert_eq!(span.attribute("batch.size"), Some(&Value::I64(3)));
    assert_eq!(span.attribute("batch.sum"), Some(&Value::I64(6)));
    assert_eq!(span.attribute("name.owned"), Some(&Value::from("ZEN-1")));
    assert_eq!(span.attribute("big"), Some(&Value::from(u64::MAX.to_string())));
    assert_eq!(span.attribute("small"), Some(&Value::I64(-5)));
    assert_eq!(span.attribute("single"), Some(&Value::F64(1.5)));
    assert_eq!(span.attribute("type"), Some(&Value::from("raw")));
    let keys: Vec<&str> = span.attributes.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "zen.instance.name",
            "batch.size",
            "batch.sum",
            "name.owned",
            "big",
            "small",
            "single",
            "type"
        ]
    );
}

static ATTR_EVALUATIONS: AtomicUsize = AtomicUsize::new(0);

fn counted(value: i64) -> i64 {
    ATTR_EVALUATIONS.fetch_add(1, Ordering::SeqCst);
    value
}

#[traced(attrs(counted = counted(n)))]
fn with_counted_attr(n: i64) -> i64 {
    n
}

#[traced(attrs(counted = counted(n)))]
async fn async_with_counted_attr(n: i64) -> i64 {
    n
}

#[test]
fn attrs_are_not_evaluated_when_off_or_unsampled() {
    let capture = capture();
    ATTR_EVALUATIONS.store(0, Ordering::SeqCst);

    capture.set_on(false);
    assert_eq!(with_counted_attr(1), 1);
    assert_eq!(futures::executor::block_on(async_with_counted_attr(2)), 2);
    assert_eq!(ATTR_EVALUATIONS.load(Ordering::SeqCst), 0);
    assert!(capture.spans().is_empty());

    capture.set_on(true);
    capture.set_sample_rate(0.0);
    assert_eq!(with_counted_attr(3), 3);
    assert_eq!(futures::executor::block_on(async_with_counted_attr(4)), 4);
    assert_eq!(ATTR_EVALUATIONS.load(Ordering::SeqCst), 0);
    assert!(capture.spans().is_empty());

    capture.set_sample_rate(1.0);
    assert_eq!(with_counted_attr(5), 5);
    assert_eq!(futures::executor::block_on(async_with_counted_attr(6)), 6);
    assert_eq!(ATTR_EVALUATIONS.load(Ordering::SeqCst), 2);
    let spans = capture.spans();
    assert_eq!(
        find(&spans, concat!(module_path!(), "::with_counted_attr")).attribute("counted"),
        Some(&Value::I64(5))
    );
    assert_eq!(
        find(&spans, concat!(module_path!(), "::async_with_counted_attr")).attribute("counted"),
        Some(&Value::I64(6))
    );
}

static SPAN_ATTRIBUTE_EVALUATIONS: AtomicUsize = AtomicUsize::new(0);

fn counted_len(items: &[u32]) -> usize {
    SPAN_ATTRIBUTE_EVALUATIONS.fetch_add(1, Ordering::SeqCst);
    items.len()
}

#[traced]
fn uses_span_attributes(items: &[u32]) -> u32 {
    span_attributes!(batch.size = counted_len(items), "retry" = false, label = "x");
    items.iter().sum()
}

#[test]
fn span_attributes_macro() {
    let capture = capture();
    SPAN_ATTRIBUTE_EVALUATIONS.store(0, Ordering::SeqCst);
    assert_eq!(uses_span_attributes(&[1, 2]), 3);
    let spans = capture.spans();
    let span = find(&spans, concat!(module_path!(), "::uses_span_attributes"));
    assert_eq!(span.attribute("batch.size"), Some(&Value::I64(2)));
    assert_eq!(span.attribute("retry"), Some(&Value::Bool(false)));
    assert_eq!(span.attribute("label"), Some(&Value::from("x")));
    assert_eq!(SPAN_ATTRIBUTE_EVALUATIONS.load(Ordering::SeqCst), 1);

    capture.reset();
    capture.set_on(false);
    assert_eq!(uses_span_attributes(&[1]), 1);
    capture.set_on(true);
    capture.set_sample_rate(0.0);
    assert_eq!(uses_span_attributes(&[1]), 1);
    // Outside any span: nothing recorded, nothing evaluated.
    capture.set_sample_rate(1.0);
    span_attributes!(outside = counted_len(&[]));
    assert_eq!(SPAN_ATTRIBUTE_EVALUATIONS.load(Ordering::SeqCst), 1);
    assert!(capture.spans().is_empty());
}
