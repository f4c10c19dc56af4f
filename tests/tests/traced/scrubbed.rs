//! Error and panic messages are scrubbed of secrets and cut to length before
//! export, or left out entirely when error messages are off.

use std::panic::catch_unwind;

use opentelemetry::Value;
use zen_telemetry::testing::{CapturedSpan, capture};
use zen_telemetry::traced;

use crate::find;

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
