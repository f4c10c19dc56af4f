use zen_telemetry::traced;

#[traced(objective(success = 99.8))]
fn f() {}

#[traced(objective(latency_ms = 300))]
fn g() {}

fn main() {
    f();
    g();
}
