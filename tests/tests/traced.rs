//! Behaviour of `#[traced]`, observed through `zen_telemetry::testing`.

use std::future::Future;
use std::panic::catch_unwind;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Poll, Waker};

use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status, Tracer as _, TracerProvider as _};
use zen_telemetry::testing::{CapturedSpan, capture};
use zen_telemetry::{span_attributes, traced};

/// The one span named `name`.
fn find<'a>(spans: &'a [CapturedSpan], name: &str) -> &'a CapturedSpan {
    let mut matching = spans.iter().filter(|s| s.name == name);
    let span = matching.next().unwrap_or_else(|| {
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        panic!("no span named {name:?} in {names:?}")
    });
    assert!(matching.next().is_none(), "several spans named {name:?}");
    span
}

fn assert_child_of(child: &CapturedSpan, parent: &CapturedSpan) {
    assert_eq!(
        child.parent_span_id,
        Some(parent.span_id),
        "{} is not a child of {}",
        child.name,
        parent.name
    );
    assert_eq!(child.trace_id, parent.trace_id);
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Polls `fut` once with a no-op waker.
fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut std::task::Context::from_waker(Waker::noop()))
}

/// A future that is pending on its first poll and ready on the second.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

// ---------------------------------------------------------------- names, kinds

#[traced]
fn default_name(secret: &str) -> usize {
    secret.len()
}

#[traced("custom.positional")]
fn positional_name() {}

#[traced(name = "custom.named")]
fn named_option() {}

mod nested_module {
    use zen_telemetry::traced;

    #[traced]
    pub fn in_module() {}
}

#[test]
fn default_name_is_module_path_and_fn_name() {
    let capture = capture();
    assert_eq!(default_name("password"), 8);
    nested_module::in_module();
    let spans = capture.spans();
    assert_eq!(spans.len(), 2);
    let span = find(&spans, concat!(module_path!(), "::default_name"));
    assert_eq!(span.name, "traced::default_name");
    assert_eq!(span.kind, SpanKind::Internal);
    assert!(span.is_ok());
    assert!(
        span.attributes.is_empty(),
        "arguments are never recorded: {:?}",
        span.attributes
    );
    assert!(span.events.is_empty());
    assert_eq!(span.parent_span_id, None);
    find(&spans, concat!(module_path!(), "::nested_module::in_module"));
}

#[test]
fn explicit_names() {
    let capture = capture();
    positional_name();
    named_option();
    let spans = capture.spans();
    find(&spans, "custom.positional");
    find(&spans, "custom.named");
}

#[traced(kind = internal)]
fn kind_internal() {}
#[traced(kind = server)]
fn kind_server() {}
#[traced(kind = client)]
fn kind_client() {}
#[traced(kind = producer)]
fn kind_producer() {}
#[traced(kind = consumer, "consume", attrs(queue = "jobs"))]
fn kind_consumer() {}

#[test]
fn kinds() {
    let capture = capture();
    kind_internal();
    kind_server();
    kind_client();
    kind_producer();
    kind_consumer();
    let spans = capture.spans();
    let kinds: Vec<SpanKind> = spans.iter().map(|s| s.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            SpanKind::Internal,
            SpanKind::Server,
            SpanKind::Client,
            SpanKind::Producer,
            SpanKind::Consumer
        ]
    );
    assert_eq!(find(&spans, "consume").attribute("queue"), Some(&Value::from("jobs")));
}

// ---------------------------------------------------------------- results

#[traced]
fn parse(s: &str) -> Result<i32, std::num::ParseIntError> {
    let n: i32 = s.parse()?;
    Ok(n * 2)
}

#[derive(Debug)]
struct DebugOnly {
    code: u8,
}

#[traced]
fn debug_error() -> Result<(), DebugOnly> {
    Err(DebugOnly { code: 7 })
}

struct Opaque;

#[traced]
fn opaque_error() -> Result<u8, Opaque> {
    Err(Opaque)
}

type MyResult<T> = Result<T, String>;

#[traced]
fn alias_error() -> MyResult<()> {
    Err("alias failed".to_owned())
}

#[traced]
fn io_error() -> std::io::Result<Vec<u8>> {
    std::fs::read("/this/path/does/not/exist/zen")
}

#[traced]
fn anyhow_error() -> anyhow::Result<u32> {
    anyhow::bail!("anyhow failed")
}

#[traced]
fn none() -> Option<u32> {
    None
}

#[test]
fn ok_result_sets_status_ok() {
    let capture = capture();
    assert_eq!(parse("21"), Ok(42));
    let spans = capture.spans();
    let span = find(&spans, concat!(module_path!(), "::parse"));
    assert_eq!(span.status, Status::Ok);
    assert!(span.events.is_empty());
}

#[test]
fn err_result_records_status_and_exception() {
    let capture = capture();
    let err = parse("x").unwrap_err();
    let spans = capture.spans();
    let span = find(&spans, concat!(module_path!(), "::parse"));
    assert_eq!(span.error(), Some(err.to_string().as_str()));
    assert_eq!(span.error(), Some("invalid digit found in string"));
    let event = span.event("exception").expect("exception event");
    let Some(Value::String(ty)) = event.attribute("exception.type") else {
        panic!("{event:?}")
    };
    assert!(ty.as_str().contains("ParseIntError"), "{ty}");
    assert_eq!(
        event.attribute("exception.message"),
        Some(&Value::from("invalid digit found in string"))
    );
}

#[test]
fn err_result_variants() {
    let capture = capture();
    assert_eq!(debug_error().unwrap_err().code, 7);
    assert!(opaque_error().is_err());
    assert!(alias_error().is_err());
    assert!(io_error().is_err());
    assert!(anyhow_error().is_err());
    assert_eq!(none(), None);
    let spans = capture.spans();

    let debug = find(&spans, concat!(module_path!(), "::debug_error"));
    assert_eq!(debug.error(), Some("DebugOnly { code: 7 }"));
    let event = debug.event("exception").unwrap();
    assert!(matches!(event.attribute("exception.type"), Some(Value::String(t)) if t.as_str().ends_with("DebugOnly")));

    let opaque = find(&spans, concat!(module_path!(), "::opaque_error"));
    assert!(opaque.error().is_some());
    let event = opaque.event("exception").unwrap();
    assert!(matches!(event.attribute("exception.type"), Some(Value::String(t)) if t.as_str().ends_with("Opaque")));
    assert_eq!(event.attribute("exception.message"), None);

    assert_eq!(
        find(&spans, concat!(module_path!(), "::alias_error")).error(),
        Some("alias failed")
    );
    let io = find(&spans, concat!(module_path!(), "::io_error"));
    assert!(io.error().unwrap().contains("No such file"), "{:?}", io.status);
    let anyhow = find(&spans, concat!(module_path!(), "::anyhow_error"));
    assert_eq!(anyhow.error(), Some("anyhow failed"));
    assert!(
        find(&spans, concat!(module_path!(), "::none")).is_ok(),
        "Option is not a Result"
    );
}

// ---------------------------------------------------------------- scrubbed messages

const SECRET_MESSAGE: &str = "login failed: password=hunter2 user@example.com";

#[traced]
fn leaks_secrets() -> Result<(), String> {
    Err(SECRET_MESSAGE.to_owned())
}

#[traced]
fn panics_with_secrets() {
    panic!("token=abc123 for user@example.com");
}

#[traced]
fn long_error(len: usize) -> Result<(), String> {
    Err("é".repeat(len))
}

fn exception_attributes(span: &CapturedSpan) -> Vec<(String, Value)> {
    span.event("exception").expect("exception event").attributes.clone()
}

#[test]
fn error_and_panic_messages_are_scrubbed_before_export() {
    let capture = capture();
    assert_eq!(
        leaks_secrets(),
        Err(SECRET_MESSAGE.to_owned()),
        "the caller sees the real error"
    );
    assert!(catch_unwind(panics_with_secrets).is_err());
    assert!(long_error(2000).is_err());
    let spans = capture.spans();

    let span = find(&spans, concat!(module_path!(), "::leaks_secrets"));
    let scrubbed = "login failed: password=[REDACTED] [EMAIL]";
    assert_eq!(span.error(), Some(scrubbed));
    let event = span.event("exception").unwrap();
    assert_eq!(event.attribute("exception.message"), Some(&Value::from(scrubbed)));

    let span = find(&spans, concat!(module_path!(), "::panics_with_secrets"));
    assert_eq!(span.error(), Some("token=[REDACTED] for [EMAIL]"));

    let span = find(&spans, concat!(module_path!(), "::long_error"));
    let Some(Value::String(message)) = span.event("exception").unwrap().attribute("exception.message") else {
        panic!("{span:?}")
    };
    assert_eq!(message.as_str().chars().count(), 512, "cut to 512 characters");
    assert!(message.as_str().ends_with('…'));
    assert_eq!(span.error(), Some(message.as_str()));

    for span in &spans {
        let text = format!("{span:?}");
        assert!(!text.contains("hunter2") && !text.contains("example.com"), "{text}");
    }
}

#[test]
fn error_messages_off_keeps_only_the_type() {
    let capture = capture();
    capture.set_error_messages(false);
    assert!(leaks_secrets().is_err());
    assert!(catch_unwind(panics_with_secrets).is_err());
    let spans = capture.spans();

    let span = find(&spans, concat!(module_path!(), "::leaks_secrets"));
    assert_eq!(span.error(), Some(""), "failed, without text");
    let attributes = exception_attributes(span);
    assert_eq!(attributes.len(), 1, "{attributes:?}");
    assert_eq!(attributes[0].0, "exception.type");
    assert!(matches!(&attributes[0].1, Value::String(t) if t.as_str().ends_with("String")));

    let span = find(&spans, concat!(module_path!(), "::panics_with_secrets"));
    assert_eq!(span.error(), Some("panic"));
    assert_eq!(
        exception_attributes(span),
        [("exception.type".to_owned(), Value::from("panic"))]
    );
    drop(capture);

    // The next capture has the configured behaviour (messages on) again.
    let capture = zen_telemetry::testing::capture();
    assert!(leaks_secrets().is_err());
    let spans = capture.spans();
    let span = find(&spans, concat!(module_path!(), "::leaks_secrets"));
    assert_eq!(span.error(), Some("login failed: password=[REDACTED] [EMAIL]"));
}

// ---------------------------------------------------------------- panics

#[traced]
fn panics_str() {
    panic!("boom");
}

#[traced]
fn panics_string(n: u32) -> u32 {
    if n > 0 {
        panic!("bad value {n}");
    }
    n
}

#[traced]
fn panics_any() {
    std::panic::panic_any(42_u32);
}

#[traced]
fn never_returns() -> ! {
    panic!("diverged")
}

#[traced]
async fn panics_async() -> u32 {
    YieldOnce(false).await;
    panic!("async boom")
}

#[test]
fn panics_are_recorded_and_resumed_unchanged() {
    let capture = capture();
    let payload = catch_unwind(panics_str).unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    let payload = catch_unwind(|| panics_string(3)).unwrap_err();
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("bad value 3")
    );
    let payload = catch_unwind(panics_any).unwrap_err();
    assert_eq!(payload.downcast_ref::<u32>(), Some(&42));
    let payload = catch_unwind(|| never_returns()).unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"diverged"));

    let spans = capture.spans();
    for (name, message) in [
        (concat!(module_path!(), "::panics_str"), "boom"),
        (concat!(module_path!(), "::panics_string"), "bad value 3"),
        (concat!(module_path!(), "::never_returns"), "diverged"),
    ] {
        let span = find(&spans, name);
        assert_eq!(span.error(), Some(message), "{name}");
        let event = span.event("exception").unwrap();
        assert_eq!(event.attribute("exception.type"), Some(&Value::from("panic")));
        assert_eq!(event.attribute("exception.message"), Some(&Value::from(message)));
    }
    let any = find(&spans, concat!(module_path!(), "::panics_any"));
    assert_eq!(any.error(), Some("panic"));
    assert_eq!(any.event("exception").unwrap().attribute("exception.message"), None);
}

#[test]
fn async_panics_are_recorded() {
    let capture = capture();
    let payload = catch_unwind(|| futures::executor::block_on(panics_async())).unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"async boom"));
    let spans = capture.spans();
    let span = find(&spans, concat!(module_path!(), "::panics_async"));
    assert_eq!(span.error(), Some("async boom"));
    let event = span.event("exception").unwrap();
    assert_eq!(event.attribute("exception.type"), Some(&Value::from("panic")));
    assert_eq!(span.attribute("zen.cancelled"), None);
}

// ---------------------------------------------------------------- attributes

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

    capture.set_enabled(false);
    assert_eq!(with_counted_attr(1), 1);
    assert_eq!(futures::executor::block_on(async_with_counted_attr(2)), 2);
    assert_eq!(ATTR_EVALUATIONS.load(Ordering::SeqCst), 0);
    assert!(capture.spans().is_empty());

    capture.set_enabled(true);
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
    capture.set_enabled(false);
    assert_eq!(uses_span_attributes(&[1]), 1);
    capture.set_enabled(true);
    capture.set_sample_rate(0.0);
    assert_eq!(uses_span_attributes(&[1]), 1);
    // Outside any span: nothing recorded, nothing evaluated.
    capture.set_sample_rate(1.0);
    span_attributes!(outside = counted_len(&[]));
    assert_eq!(SPAN_ATTRIBUTE_EVALUATIONS.load(Ordering::SeqCst), 1);
    assert!(capture.spans().is_empty());
}

// ---------------------------------------------------------------- parents

#[traced]
fn outer_sync() -> u32 {
    inner_sync() + inner_sync()
}

#[traced]
fn inner_sync() -> u32 {
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

#[traced]
fn future_fn(n: u32) -> impl Future<Output = Result<u32, String>> + Send + 'static {
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

// ---------------------------------------------------------------- cancellation

#[traced]
async fn slow_async() -> u32 {
    YieldOnce(false).await;
    1
}

#[test]
fn dropped_futures_end_their_span_as_cancelled() {
    let capture = capture();
    {
        let mut fut = pin!(slow_async());
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    {
        let mut fut = pin!(future_fn(1));
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    // Spans start at the call, so dropping a future unpolled cancels it too.
    drop(future_fn(2));
    drop(slow_async());
    let spans = capture.spans();
    assert_eq!(spans.len(), 4, "{spans:#?}");
    for span in &spans {
        assert_eq!(
            span.attribute("zen.cancelled"),
            Some(&Value::Bool(true)),
            "{}",
            span.name
        );
        assert_eq!(span.status, Status::Unset);
    }
    capture.reset();
    assert_eq!(futures::executor::block_on(slow_async()), 1);
    let spans = capture.spans();
    assert_eq!(spans[0].attribute("zen.cancelled"), None);
    assert!(spans[0].is_ok());
}

// ---------------------------------------------------------------- shapes

#[derive(Debug, Clone, PartialEq)]
struct Counter {
    n: u32,
}

impl Counter {
    #[traced("Counter::new")]
    fn new() -> Self {
        Self { n: 0 }
    }

    #[traced]
    fn by_value(self) -> u32 {
        self.n
    }

    #[traced]
    fn by_ref(&self) -> &u32 {
        &self.n
    }

    #[traced]
    fn by_mut(&mut self) -> &mut u32 {
        self.n += 1;
        &mut self.n
    }

    #[traced]
    fn boxed(self: Box<Self>) -> Self {
        Self { n: self.n + 10 }
    }

    #[traced]
    fn pinned(self: Pin<&mut Self>) -> u32 {
        let this = self.get_mut();
        this.n += 1;
        this.n
    }

    #[traced(attrs(counter.n = self.n))]
    fn incremented(&self) -> Self {
        Self::clone(self).with(1)
    }

    fn with(mut self, add: u32) -> Self {
        self.n += add;
        self
    }
}

#[test]
fn methods_with_every_receiver() {
    let capture = capture();
    let mut c = Counter::new();
    *c.by_mut() += 1;
    assert_eq!(*c.by_ref(), 2);
    let mut c = Box::new(c).boxed();
    assert_eq!(Pin::new(&mut c).pinned(), 13);
    let c = c.incremented();
    assert_eq!(c.by_value(), 14);
    let spans = capture.spans();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    let expected = [
        "Counter::new",
        concat!(module_path!(), "::by_mut"),
        concat!(module_path!(), "::by_ref"),
        concat!(module_path!(), "::boxed"),
        concat!(module_path!(), "::pinned"),
        concat!(module_path!(), "::incremented"),
        concat!(module_path!(), "::by_value"),
    ];
    assert_eq!(names, expected);
    let incremented = find(&spans, concat!(module_path!(), "::incremented"));
    assert_eq!(incremented.attribute("counter.n"), Some(&Value::I64(13)));
}

#[traced]
fn generic<T: Clone + std::fmt::Debug>(value: &T) -> T {
    value.clone()
}

#[traced]
fn with_where<T, U>(a: T, b: &U) -> String
where
    T: std::fmt::Display,
    U: std::fmt::Display + ?Sized,
{
    format!("{a}{b}")
}

#[traced]
fn longest<'a, 'b: 'a>(a: &'a str, b: &'b str) -> &'a str {
    if a.len() >= b.len() { a } else { b }
}

#[traced]
fn const_generic<const N: usize>(values: [u32; N]) -> u32 {
    values.iter().sum::<u32>() + N as u32
}

#[traced]
fn impl_arg(items: impl IntoIterator<Item = u32>) -> u32 {
    items.into_iter().sum()
}

#[traced]
fn impl_return(n: u32) -> impl Iterator<Item = u32> {
    (0..n).map(|i| i * 2)
}

#[traced]
fn impl_result(fail: bool) -> Result<impl std::fmt::Display, impl std::fmt::Display> {
    if fail { Err("impl failed") } else { Ok(1) }
}

#[traced]
#[allow(clippy::ptr_arg)] // the shape under test: a reborrow of a `&mut` argument
fn first(v: &mut Vec<i32>) -> &mut i32 {
    &mut v[0]
}

#[traced]
fn first_shared(v: &[i32]) -> &i32 {
    &v[0]
}

struct Point {
    x: i32,
    y: i32,
}

#[traced]
fn destructured((a, b): (i32, i32), Point { x, y }: Point, [head, ..]: [i32; 2]) -> i32 {
    a + b + x + y + head
}

#[traced]
fn mutable(mut n: u32, mut v: Vec<u32>) -> u32 {
    n += 1;
    v.push(n);
    v.iter().sum()
}

#[traced]
unsafe fn read_raw(ptr: *const u32) -> u32 {
    // SAFETY: the caller passes a valid pointer.
    unsafe { *ptr }
}

#[traced]
extern "C" fn c_add(a: i32, b: i32) -> i32 {
    a + b
}

#[test]
fn generic_and_unusual_signatures() {
    let capture = capture();
    assert_eq!(generic(&"x"), "x");
    assert_eq!(generic(&5u8), 5);
    assert_eq!(with_where(1, "a"), "1a");
    assert_eq!(longest("ab", "c"), "ab");
    assert_eq!(const_generic([1, 2, 3]), 9);
    assert_eq!(impl_arg([1, 2]), 3);
    assert_eq!(impl_return(3).collect::<Vec<_>>(), [0, 2, 4]);
    assert_eq!(impl_result(false).ok().unwrap().to_string(), "1");
    assert_eq!(impl_result(true).err().unwrap().to_string(), "impl failed");
    let mut v = vec![1, 2];
    *first(&mut v) = 7;
    assert_eq!(*first_shared(&v), 7);
    assert_eq!(destructured((1, 2), Point { x: 3, y: 4 }, [5, 6]), 15);
    assert_eq!(mutable(1, vec![1]), 3);
    let n = 4;
    // SAFETY: `&n` is valid.
    assert_eq!(unsafe { read_raw(&n) }, 4);
    let f: extern "C" fn(i32, i32) -> i32 = c_add;
    assert_eq!(f(1, 2), 3);

    let spans = capture.spans();
    let count = |name: &str| spans.iter().filter(|s| s.name == name).count();
    assert_eq!(count(concat!(module_path!(), "::generic")), 2);
    for name in [
        concat!(module_path!(), "::with_where"),
        concat!(module_path!(), "::longest"),
        concat!(module_path!(), "::const_generic"),
        concat!(module_path!(), "::impl_arg"),
        concat!(module_path!(), "::impl_return"),
        concat!(module_path!(), "::first"),
        concat!(module_path!(), "::first_shared"),
        concat!(module_path!(), "::destructured"),
        concat!(module_path!(), "::mutable"),
        concat!(module_path!(), "::read_raw"),
        concat!(module_path!(), "::c_add"),
    ] {
        assert!(find(&spans, name).is_ok(), "{name}");
    }
    let impl_results: Vec<&CapturedSpan> = spans.iter().filter(|s| s.name.ends_with("::impl_result")).collect();
    assert!(impl_results[0].is_ok());
    assert_eq!(impl_results[1].error(), Some("impl failed"));
}

#[traced]
fn early_return(n: i32) -> Result<i32, String> {
    if n < 0 {
        return Err(format!("negative: {n}"));
    }
    if n == 0 {
        return Ok(0);
    }
    let parsed: i32 = n
        .to_string()
        .parse()
        .map_err(|e: std::num::ParseIntError| e.to_string())?;
    Ok(parsed)
}

#[traced]
fn question_mark(s: &str) -> Result<i32, std::num::ParseIntError> {
    let n: i32 = s.parse()?;
    Ok(n)
}

#[traced]
fn factorial(n: u64) -> u64 {
    if n == 0 { 1 } else { n * factorial(n - 1) }
}

#[traced]
fn with_nested_fns(n: u32) -> u32 {
    fn plain_helper(n: u32) -> u32 {
        n + 1
    }
    #[traced]
    fn traced_helper(n: u32) -> u32 {
        n * 2
    }
    traced_helper(plain_helper(n))
}

#[test]
fn control_flow_recursion_and_nested_fns() {
    let capture = capture();
    assert_eq!(early_return(-1), Err("negative: -1".to_owned()));
    assert_eq!(early_return(0), Ok(0));
    assert_eq!(early_return(5), Ok(5));
    assert!(question_mark("nope").is_err());
    assert_eq!(factorial(3), 6);
    assert_eq!(with_nested_fns(1), 4);
    let spans = capture.spans();

    let early: Vec<&CapturedSpan> = spans.iter().filter(|s| s.name.ends_with("::early_return")).collect();
    assert_eq!(early[0].error(), Some("negative: -1"));
    assert!(early[1].is_ok() && early[2].is_ok());
    assert!(
        find(&spans, concat!(module_path!(), "::question_mark"))
            .error()
            .is_some()
    );

    // Spans end innermost first: factorial(0), (1), (2), (3).
    let fact: Vec<&CapturedSpan> = spans.iter().filter(|s| s.name.ends_with("::factorial")).collect();
    assert_eq!(fact.len(), 4);
    for pair in fact.windows(2) {
        assert_child_of(pair[0], pair[1]);
    }
    assert_eq!(fact[3].parent_span_id, None);

    let outer = find(&spans, concat!(module_path!(), "::with_nested_fns"));
    // A nested fn is named after the module it is in (`module_path!()`).
    assert_child_of(find(&spans, concat!(module_path!(), "::traced_helper")), outer);
}

// ---------------------------------------------------------------- async shapes

trait Service {
    async fn call(&self, n: u32) -> Result<u32, String>;

    #[traced]
    async fn default_method(&self) -> u32 {
        self.call(1).await.unwrap_or(0)
    }
}

struct Native;

impl Service for Native {
    #[traced("Native::call")]
    async fn call(&self, n: u32) -> Result<u32, String> {
        YieldOnce(false).await;
        if n == 0 {
            Err("native zero".to_owned())
        } else {
            Ok(n * 10)
        }
    }
}

#[async_trait::async_trait]
trait Dynamic: Send + Sync {
    async fn run(&self, input: &str) -> Result<usize, String>;

    #[traced("Dynamic::provided")]
    async fn provided(&self) -> usize {
        self.run("abc").await.unwrap_or(0)
    }
}

struct Impl {
    offset: usize,
}

#[async_trait::async_trait]
impl Dynamic for Impl {
    #[traced(attrs(input.len = input.len()))]
    async fn run(&self, input: &str) -> Result<usize, String> {
        tokio::task::yield_now().await;
        if input.is_empty() {
            return Err("empty input".into());
        }
        Ok(input.len() + self.offset + inner_sync() as usize)
    }
}

#[test]
fn async_fn_in_traits_native() {
    let capture = capture();
    futures::executor::block_on(async {
        assert_eq!(Native.default_method().await, 10);
        assert_eq!(Native.call(0).await, Err("native zero".to_owned()));
    });
    let spans = capture.spans();
    let calls: Vec<&CapturedSpan> = spans.iter().filter(|s| s.name == "Native::call").collect();
    let default = find(&spans, concat!(module_path!(), "::default_method"));
    assert_child_of(calls[0], default);
    assert!(calls[0].is_ok());
    assert_eq!(calls[1].error(), Some("native zero"));
    assert_eq!(calls[1].parent_span_id, None);
}

#[test]
fn async_trait_methods() {
    let capture = capture();
    let rt = tokio_runtime();
    let service: std::sync::Arc<dyn Dynamic> = std::sync::Arc::new(Impl { offset: 1 });
    let spawned = service.clone();
    let (a, b, c) = rt.block_on(async move {
        let a = tokio::spawn(async move { spawned.run("ab").await }).await.unwrap();
        (a, service.run("").await, service.provided().await)
    });
    drop(rt);
    assert_eq!(a, Ok(4));
    assert_eq!(b, Err("empty input".to_owned()));
    assert_eq!(c, 5);
    let spans = capture.spans();
    let runs: Vec<&CapturedSpan> = spans.iter().filter(|s| s.name.ends_with("::run")).collect();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0].attribute("input.len"), Some(&Value::I64(2)));
    assert!(runs[0].is_ok());
    assert_eq!(runs[1].error(), Some("empty input"));
    let provided = find(&spans, "Dynamic::provided");
    assert_child_of(runs[2], provided);
    let inner: Vec<&CapturedSpan> = spans.iter().filter(|s| s.name.ends_with("::inner_sync")).collect();
    assert_child_of(inner[0], runs[0]);
}

#[traced]
fn boxed_future(n: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async move {
        YieldOnce(false).await;
        n + inner_sync()
    })
}

#[traced]
fn borrowing_future(s: &str) -> impl Future<Output = usize> + '_ {
    async { s.len() }
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[test]
fn future_returning_fns() {
    let capture = capture();
    assert_eq!(futures::executor::block_on(assert_send(boxed_future(1))), 2);
    assert_eq!(futures::executor::block_on(borrowing_future("abc")), 3);
    assert_eq!(futures::executor::block_on(assert_send(slow_async())), 1);
    let spans = capture.spans();
    let boxed = find(&spans, concat!(module_path!(), "::boxed_future"));
    assert_child_of(find(&spans, concat!(module_path!(), "::inner_sync")), boxed);
    assert!(find(&spans, concat!(module_path!(), "::borrowing_future")).is_ok());
}

// ---------------------------------------------------------------- hygiene

#[allow(dead_code)]
mod hygiene {
    use zen_telemetry::traced;

    pub struct Span;
    pub struct Context;
    pub struct Ok;
    pub struct Err;
    pub enum Option {
        Some,
        None,
    }
    pub type Result<T> = ::std::result::Result<T, String>;

    #[traced]
    pub fn shadowed(fail: bool) -> Result<Option> {
        let _ = (Span, Context, Ok, Err);
        if fail {
            ::std::result::Result::Err("shadowed failure".to_owned())
        } else {
            ::std::result::Result::Ok(Option::Some)
        }
    }

    #[traced]
    pub async fn shadowed_async() -> Result<Option> {
        ::std::result::Result::Ok(Option::None)
    }
}

#[test]
fn user_items_named_like_std_items() {
    let capture = capture();
    assert!(hygiene::shadowed(false).is_ok());
    assert!(hygiene::shadowed(true).is_err());
    assert!(futures::executor::block_on(hygiene::shadowed_async()).is_ok());
    let spans = capture.spans();
    let shadowed: Vec<&CapturedSpan> = spans.iter().filter(|s| s.name.ends_with("hygiene::shadowed")).collect();
    assert!(shadowed[0].is_ok());
    assert_eq!(shadowed[1].error(), Some("shadowed failure"));
    assert!(find(&spans, concat!(module_path!(), "::hygiene::shadowed_async")).is_ok());
}

// ---------------------------------------------------------------- async argument lifetimes

struct DropFlag(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[traced]
async fn holds_unused_guard(_guard: DropFlag, (a, _): (u32, DropFlag), _: DropFlag) -> u32 {
    YieldOnce(false).await;
    a
}

#[test]
fn async_fn_arguments_live_as_long_as_the_future() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let capture = capture();
    let flags: Vec<Arc<AtomicBool>> = (0..3).map(|_| Arc::new(AtomicBool::new(false))).collect();
    let mut fut = Box::pin(holds_unused_guard(
        DropFlag(flags[0].clone()),
        (7, DropFlag(flags[1].clone())),
        DropFlag(flags[2].clone()),
    ));
    assert!(poll_once(fut.as_mut()).is_pending());
    for flag in &flags {
        assert!(
            !flag.load(Ordering::SeqCst),
            "an argument was dropped before the future ended"
        );
    }
    assert_eq!(futures::executor::block_on(fut), 7);
    for flag in &flags {
        assert!(flag.load(Ordering::SeqCst));
    }
    assert!(capture.spans()[0].is_ok());
}
