//! Span names: `module_path!()::fn_name` by default, or given positionally or
//! with `name =`; and span kinds.

use opentelemetry::Value;
use opentelemetry::trace::SpanKind;
use zen_telemetry::testing::capture;
use zen_telemetry::traced;

use crate::find;

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
    pub(super) fn in_module() {}
}

#[test]
fn default_name_is_module_path_and_fn_name() {
    let capture = capture();
    assert_eq!(default_name("password"), 8);
    nested_module::in_module();
    let spans = capture.spans();
    assert_eq!(spans.len(), 2);
    let span = find(&spans, concat!(module_path!(), "::default_name"));
    assert_eq!(span.name, "traced::names::default_name");
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
