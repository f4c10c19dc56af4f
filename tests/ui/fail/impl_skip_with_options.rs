use zen_telemetry::traced;

struct Service;

#[traced]
impl Service {
    #[traced(skip, kind = client)]
    fn call(&self) {}
}

fn main() {
    Service.call();
}
