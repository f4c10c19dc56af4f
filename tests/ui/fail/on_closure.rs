// A closure in a static: the error names the closure.
use zen_telemetry::traced;

#[traced]
static HANDLER: fn(u32) -> u32 = |n| n + 1;

fn main() {
    let _ = HANDLER(1);
}
