use zen_telemetry::traced;

#[traced("first", name = "second")]
fn f() {}

fn main() {
    f();
}
