use zen_telemetry::traced;

#[traced(attrs(42 = "answer"))]
fn f() {}

fn main() {
    f();
}
