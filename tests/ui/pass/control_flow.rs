//! Early return, `?`, recursion, nested fns, diverging fns.

use std::num::ParseIntError;
use zen_telemetry::traced;

#[traced]
fn early(n: i32) -> i32 {
    if n < 0 {
        return 0;
    }
    n * 2
}

#[traced]
fn question(s: &str) -> Result<i32, ParseIntError> {
    let n: i32 = s.trim().parse()?;
    Ok(n + 1)
}

#[traced]
fn boxed_error(s: &str) -> Result<i32, Box<dyn std::error::Error>> {
    let n: i32 = s.parse()?;
    if n == 0 {
        return Err("zero".into());
    }
    Ok(n)
}

#[traced]
fn io_result(path: &str) -> std::io::Result<usize> {
    Ok(std::fs::read(path)?.len())
}

#[traced]
fn option(v: &[i32]) -> Option<i32> {
    let first = v.first()?;
    Some(*first)
}

// `factorial` and `with_nested_fns`: shared with the behaviour test
// `tests/traced/shapes.rs`.
include!("../../fixtures/control_flow.rs");

#[traced]
fn diverges(message: &str) -> ! {
    panic!("{message}")
}

#[traced]
async fn async_diverges(message: &str) -> ! {
    panic!("{message}")
}

#[traced]
fn unit_return() {
    if std::env::var_os("NOPE_NOT_SET_ZEN").is_some() {
        return;
    }
}

#[traced]
fn loop_break(limit: u32) -> u32 {
    let mut i = 0;
    loop {
        i += 1;
        if i >= limit {
            break i;
        }
    }
}

fn main() {
    assert_eq!(early(-1), 0);
    assert_eq!(early(2), 4);
    assert_eq!(question(" 41 "), Ok(42));
    assert!(question("x").is_err());
    assert!(boxed_error("0").is_err());
    assert!(io_result("/definitely/not/here").is_err());
    assert_eq!(option(&[3]), Some(3));
    assert_eq!(option(&[]), None);
    assert_eq!(factorial(5), 120);
    assert_eq!(with_nested_fns(1), 4);
    assert!(std::panic::catch_unwind(|| diverges("boom")).is_err());
    assert!(std::panic::catch_unwind(|| futures::executor::block_on(async_diverges("boom"))).is_err());
    unit_return();
    assert_eq!(loop_break(3), 3);
}
