//! Every receiver, `Self` in bodies and in return types.

use std::pin::Pin;
use zen_telemetry::traced;

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
        *self
    }

    #[traced]
    fn pinned(self: Pin<&mut Self>) -> u32 {
        let this = self.get_mut();
        this.n += 1;
        this.n
    }

    #[traced]
    fn uses_self_type(&self) -> Self {
        let copy = Self::clone(self);
        Self { n: copy.n + 1 }
    }

    #[traced(attrs(n = self.n))]
    fn attr_over_self(&self) -> u32 {
        self.n
    }
}

trait Shape {
    fn area(&self) -> f64;

    #[traced]
    fn twice(&self) -> f64 {
        self.area() * 2.0
    }
}

struct Square(f64);

impl Shape for Square {
    #[traced("Square::area")]
    fn area(&self) -> f64 {
        self.0 * self.0
    }
}

fn main() {
    let mut c = Counter::new();
    *c.by_mut() += 1;
    assert_eq!(*c.by_ref(), 2);
    let mut c = Box::new(c).boxed();
    assert_eq!(Pin::new(&mut c).pinned(), 3);
    assert_eq!(c.uses_self_type().n, 4);
    assert_eq!(c.attr_over_self(), 3);
    assert_eq!(c.by_value(), 3);
    assert_eq!(Square(2.0).twice(), 8.0);
}
