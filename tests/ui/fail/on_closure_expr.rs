// Attributes on expressions are unstable: rustc reports that first, then
// #[traced] adds its own error on the closure.
use zen_telemetry::traced;

fn main() {
    let f = #[traced] |n: u32| n + 1;
    let _ = f(1);
}
