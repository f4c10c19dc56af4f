//! A traced fn adds no warning of its own.

#![deny(warnings, clippy::all)]
#![deny(unused)]

use std::future::Future;
use zen_telemetry::traced;

#[traced(attrs(n = n))]
fn sync(n: u32) -> u32 {
    n
}

#[traced]
fn unit() {}

#[traced]
fn fallible(s: &str) -> Result<u32, std::num::ParseIntError> {
    s.parse()
}

#[traced]
async fn asynchronous(n: u32) -> u32 {
    n
}

#[traced]
fn future(n: u32) -> impl Future<Output = u32> {
    async move { n }
}

#[traced]
fn diverge() -> ! {
    panic!("never")
}

#[traced]
fn mutates(mut v: Vec<u32>) -> Vec<u32> {
    v.push(1);
    v
}

#[traced]
fn reborrow(v: &mut [u32]) -> &mut u32 {
    &mut v[0]
}

#[traced]
fn one_line(n: u32) -> u32 { n + 1 }

#[traced]
async fn one_line_async(n: u32) -> u32 { n + 1 }

#[traced]
fn one_line_future(n: u32) -> impl Future<Output = u32> { async move { n + 1 } }

#[traced]
fn empty() {}

struct S(u32);

impl S {
    #[traced]
    fn get(&self) -> u32 {
        self.0
    }

    #[traced]
    fn set(&mut self, v: u32) {
        self.0 = v;
    }
}

fn main() {
    assert_eq!(sync(1), 1);
    unit();
    assert!(fallible("1").is_ok());
    assert_eq!(futures::executor::block_on(asynchronous(2)), 2);
    assert_eq!(futures::executor::block_on(future(3)), 3);
    if std::env::var_os("ZEN_NEVER_SET_THIS").is_some() {
        diverge();
    }
    assert_eq!(mutates(Vec::new()), vec![1]);
    assert_eq!(one_line(1), 2);
    assert_eq!(futures::executor::block_on(one_line_async(1)), 2);
    assert_eq!(futures::executor::block_on(one_line_future(1)), 2);
    empty();
    let mut v = [5];
    *reborrow(&mut v) += 1;
    let mut s = S(v[0]);
    s.set(s.get() + 1);
    assert_eq!(s.get(), 7);
}
