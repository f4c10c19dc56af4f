//! Destructured and `mut` arguments, `unsafe fn`, `extern "C" fn`.

use zen_telemetry::traced;

// `Point`, `mutable`, `read_raw`, `c_add`: shared with the behaviour test
// `tests/traced/shapes.rs`.
include!("../../fixtures/arguments.rs");

#[traced]
fn destructured((a, b): (i32, i32), Point { x, y }: Point, [first, ..]: [u8; 3]) -> i32 {
    a + b + x + y + i32::from(first)
}

#[traced]
fn ignored(_: u32, _unused: &str) {}

#[traced]
unsafe extern "C" fn unsafe_c(ptr: *const i32) -> i32 {
    unsafe { ptr.read() }
}

fn main() {
    assert_eq!(destructured((1, 2), Point { x: 3, y: 4 }, [5, 0, 0]), 15);
    assert_eq!(mutable(1, vec![1]), 3);
    ignored(1, "x");
    let n = 4;
    assert_eq!(unsafe { read_raw(&n) }, 4);
    assert_eq!(c_add(1, 2), 3);
    let f: extern "C" fn(i32, i32) -> i32 = c_add;
    assert_eq!(f(2, 2), 4);
    assert_eq!(unsafe { unsafe_c(&7) }, 7);
}
