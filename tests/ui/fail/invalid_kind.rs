use zen_telemetry::traced;

#[traced(kind = backend)]
fn f() {}

fn main() {
    f();
}
