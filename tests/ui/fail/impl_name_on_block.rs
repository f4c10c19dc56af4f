use zen_telemetry::traced;

struct Service;

#[traced("service")]
impl Service {
    fn call(&self) {}
}

fn main() {
    Service.call();
}
