//! A returned `Err` sets the span status to error and records an exception
//! event; `Ok` sets it to ok; other return types (`Option`) are not results.

use opentelemetry::Value;
use opentelemetry::trace::Status;
use zen_telemetry::testing::capture;
use zen_telemetry::traced;

use crate::find;

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

const MISSING_FILE: &str = "/this/path/does/not/exist/zen";

#[traced]
fn io_error() -> std::io::Result<Vec<u8>> {
    std::fs::read(MISSING_FILE)
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
    // The platform's own text ("No such file or directory", "Path not found").
    let expected = std::fs::read(MISSING_FILE).unwrap_err().to_string();
    assert_eq!(io.error(), Some(expected.as_str()), "{:?}", io.status);
    let anyhow = find(&spans, concat!(module_path!(), "::anyhow_error"));
    assert_eq!(anyhow.error(), Some("anyhow failed"));
    assert!(
        find(&spans, concat!(module_path!(), "::none")).is_ok(),
        "Option is not a Result"
    );
}
