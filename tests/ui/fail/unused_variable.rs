#![deny(unused_variables)]

use zen_telemetry::traced;

#[traced]
fn f() -> u32 {
    let forgotten = 1;
    2
}

fn main() {
    f();
}
