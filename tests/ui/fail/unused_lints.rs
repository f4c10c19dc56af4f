// Lints of the user's code still fire through #[traced]: unused arguments,
// unneeded `mut`, unused variables in async bodies, dead functions.
#![deny(unused)]

use zen_telemetry::traced;

#[traced]
fn unused_argument(used: u32, forgotten: u32) -> u32 {
    used
}

#[traced]
fn unneeded_mut(mut n: u32) -> u32 {
    n + 1
}

#[traced]
async fn async_unused_variable() -> u32 {
    let forgotten = 1;
    2
}

#[traced]
fn never_called() {}

fn main() {
    unused_argument(1, 2);
    unneeded_mut(1);
    drop(async_unused_variable());
}
