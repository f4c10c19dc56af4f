use zen_telemetry::traced;

#[traced(attrs = "retries")]
fn f() {}

fn main() {
    f();
}
