//! Every shape of fn the attribute accepts behaves the same: methods with any
//! receiver, generics and unusual signatures, early returns, recursion and
//! nested fns.

use std::pin::Pin;

use opentelemetry::Value;
use zen_telemetry::testing::{CapturedSpan, capture};
use zen_telemetry::traced;

use crate::{assert_child_of, find};

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
