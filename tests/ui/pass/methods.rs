//! Every receiver, `Self` in bodies and in return types.

use std::pin::Pin;
use zen_telemetry::traced;

// `Counter` with `new`, `by_value`, `by_ref`, `by_mut` and `pinned`: shared
// with the behaviour test `tests/traced/shapes.rs`.
include!("../../fixtures/methods.rs");

impl Counter {
    #[traced]
    fn boxed(self: Box<Self>) -> Self {
        *self
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
