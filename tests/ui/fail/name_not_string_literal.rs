use zen_telemetry::traced;

#[traced(42)]
fn f() {}

fn main() {
    f();
}
