//! Panics, sync and async, are recorded on the span and resumed unchanged.

use std::panic::catch_unwind;

use opentelemetry::Value;
use zen_telemetry::testing::capture;
use zen_telemetry::traced;

use crate::{YieldOnce, find};

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
