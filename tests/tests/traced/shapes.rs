//! Every shape of fn the attribute accepts behaves the same: methods with any
//! receiver, generics and unusual signatures, early returns, recursion and
//! nested fns.
//!
//! Most fixtures here are shared with the compile-pass cases in `ui/pass/`
//! through `include!` (see `fixtures/methods.rs`); this file adds what only the
//! behaviour tests need.

use std::pin::Pin;

use opentelemetry::Value;
use zen_telemetry::testing::{CapturedSpan, capture};
use zen_telemetry::traced;

use crate::{assert_child_of, find};

include!("../../fixtures/methods.rs");

impl Counter {
    #[traced]
    fn boxed(self: Box<Self>) -> Self {
        Self { n: self.n + 10 }
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

include!("../../fixtures/generics.rs");

#[traced]
fn impl_result(fail: bool) -> Result<impl std::fmt::Display, impl std::fmt::Display> {
    if fail { Err("impl failed") } else { Ok(1) }
}

include!("../../fixtures/arguments.rs");

#[traced]
fn destructured((a, b): (i32, i32), Point { x, y }: Point, [head, ..]: [i32; 2]) -> i32 {
    a + b + x + y + head
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

include!("../../fixtures/control_flow.rs");

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
