use zen_telemetry::traced;

#[traced(level = "info")]
fn f() {}

fn main() {
    f();
}
