use zen_telemetry::traced;

#[traced(name = load_config)]
fn f() {}

fn main() {
    f();
}
