use zen_telemetry::traced;

struct Service;

#[traced(level = "info")]
impl Service {
    fn call(&self) {}
}

fn main() {
    Service.call();
}
