use zen_telemetry::traced;

#[traced(attrs(user.id, retries = 3))]
fn f() {}

fn main() {
    f();
}
