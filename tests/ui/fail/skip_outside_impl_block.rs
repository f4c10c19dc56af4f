use zen_telemetry::traced;

#[traced(skip)]
fn helper() {}

fn main() {
    helper();
}
