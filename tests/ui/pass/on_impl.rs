//! `#[traced]` on impl blocks: inherent and trait impls, generic, with
//! lifetimes, options on the block, per-method overrides and skips.

#![deny(warnings)]

use std::fmt;
use zen_telemetry::traced;

struct Service;

#[traced]
impl Service {
    fn call(&self) {}

    async fn call_async(&self, input: &str) -> usize {
        input.len()
    }

    fn new() -> Self {
        Service
    }

    #[traced(skip)]
    fn untraced(&self) {}

    #[traced("service.named", kind = server)]
    fn named(&self) {}

    const fn constant() -> u32 {
        1
    }
}

struct Wrapper<'a, T>(&'a T);

#[traced(kind = client, prefix = "wrapper.", attrs(component = "wrapper"))]
impl<'a, T: fmt::Debug + Sync> Wrapper<'a, T> {
    fn get(&self) -> &'a T {
        self.0
    }

    async fn show(self, extra: &str) -> String {
        format!("{:?}{extra}", self.0)
    }
}

#[traced]
impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("service")
    }
}

trait Shape {
    fn area(&self) -> f64;
    async fn scaled(&self, by: f64) -> f64;
}

#[traced(kind = internal)]
impl Shape for Service {
    fn area(&self) -> f64 {
        1.0
    }

    async fn scaled(&self, by: f64) -> f64 {
        self.area() * by
    }
}

fn main() {
    let service = Service::new();
    service.call();
    service.untraced();
    service.named();
    assert_eq!(Service::constant(), 1);
    assert_eq!(service.to_string(), "service");
    assert_eq!(futures::executor::block_on(service.call_async("ab")), 2);
    assert_eq!(futures::executor::block_on(service.scaled(2.0)), 2.0);
    let n = 3;
    let wrapper = Wrapper(&n);
    assert_eq!(*wrapper.get(), 3);
    assert_eq!(futures::executor::block_on(wrapper.show("!")), "3!");
}
