//! Generics, where clauses, lifetimes, const generics, impl Trait, reborrows.

use std::fmt::Display;
use zen_telemetry::traced;

// `generic`, `with_where`, `longest`, `const_generic`, `impl_arg`,
// `impl_return`, `first`, `first_shared`: shared with the behaviour test
// `tests/traced/shapes.rs`.
include!("../../fixtures/generics.rs");

#[traced]
fn impl_return_borrowing<'a>(v: &'a [u32]) -> impl Iterator<Item = &'a u32> + 'a {
    v.iter().filter(|x| **x > 1)
}

#[traced]
fn nested_impl(n: u32) -> Box<impl Fn(u32) -> u32> {
    Box::new(move |x| x + n)
}

#[traced]
fn impl_result(ok: bool) -> Result<impl Display, impl std::fmt::Debug> {
    if ok { Ok(1) } else { Err("no") }
}

#[traced]
fn elided(s: &str) -> &str {
    s.trim()
}

struct Wrapper<T> {
    inner: T,
}

impl<T: Clone + Default> Wrapper<T> {
    #[traced]
    fn get(&self) -> T {
        self.inner.clone()
    }

    #[traced]
    fn map<U, F: FnOnce(T) -> U>(self, f: F) -> Wrapper<U> {
        Wrapper { inner: f(self.inner) }
    }

    #[traced]
    fn reset(&mut self) -> &mut T {
        self.inner = T::default();
        &mut self.inner
    }
}

fn main() {
    assert_eq!(generic(&5), 5);
    assert_eq!(with_where(1, "a"), "1a");
    assert_eq!(longest("ab", "c"), "ab");
    assert_eq!(const_generic([1, 2, 3]), 9);
    assert_eq!(impl_arg(vec![1, 2]), 3);
    assert_eq!(impl_return(3).collect::<Vec<_>>(), vec![0, 2, 4]);
    assert_eq!(impl_return_borrowing(&[1, 2, 3]).count(), 2);
    assert_eq!(nested_impl(1)(2), 3);
    assert!(impl_result(true).is_ok());
    assert!(impl_result(false).is_err());
    let mut v = vec![1, 2];
    *first(&mut v) = 7;
    assert_eq!(*first_shared(&v), 7);
    assert_eq!(elided(" x "), "x");
    let mut w = Wrapper { inner: 3u8 };
    assert_eq!(w.get(), 3);
    *w.reset() += 1;
    assert_eq!(w.map(|x| x as u32 * 10).inner, 10);
}
