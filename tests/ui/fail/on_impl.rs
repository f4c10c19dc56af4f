use zen_telemetry::traced;

struct Service;

#[traced]
impl Service {
    fn call(&self) {}
}

fn main() {
    Service.call();
}
