//! Spans recorded through a renamed dependency and through a facade.

use telemetry::opentelemetry::Value;
use telemetry::testing::capture;
use zen_tests_renamed::{facade, renamed};

#[test]
fn renamed_dependency_records_spans() {
    let capture = capture();
    assert_eq!(renamed::parse("7"), Ok(7));
    assert!(renamed::parse("x").is_err());
    assert_eq!(futures::executor::block_on(renamed::double(2)), 4);
    assert_eq!(futures::executor::block_on(renamed::later(2)), 3);
    assert!(std::panic::catch_unwind(|| renamed::fail()).is_err());
    let mut account = renamed::Account(1);
    assert_eq!(futures::executor::block_on(account.deposit(2)), 3);
    assert_eq!(account.balance(), 3);
    let spans = capture.spans();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "zen_tests_renamed::renamed::parse",
            "zen_tests_renamed::renamed::parse",
            "zen_tests_renamed::renamed::double",
            "zen_tests_renamed::renamed::later",
            "zen_tests_renamed::renamed::fail",
            "zen_tests_renamed::renamed::Account::deposit",
            "zen_tests_renamed::renamed::Account::balance",
        ]
    );
    assert_eq!(spans[0].attribute("input.len"), Some(&Value::I64(1)));
    assert!(spans[0].is_ok());
    assert_eq!(spans[1].error(), Some("invalid digit found in string"));
    assert_eq!(spans[2].attribute("n"), Some(&Value::I64(2)));
    assert_eq!(spans[4].error(), Some("failed"));
    assert_eq!(spans[5].kind, telemetry::opentelemetry::trace::SpanKind::Server);
}

#[test]
fn facade_records_spans() {
    let capture = capture();
    assert_eq!(facade::add(1, 2), 3);
    assert_eq!(
        futures::executor::block_on(facade::fetch("")),
        Err("empty key".to_owned())
    );
    assert_eq!(futures::executor::block_on(facade::Cache.get("ab")), Some(2));
    let spans = capture.spans();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["zen_tests_renamed::facade::add", "facade.fetch", "cache.get"]);
    assert_eq!(spans[0].attribute("sum"), Some(&Value::I64(3)));
    assert_eq!(spans[1].error(), Some("empty key"));
}
