use zen_telemetry::traced;

#[traced("")]
fn f() {}

fn main() {
    f();
}
