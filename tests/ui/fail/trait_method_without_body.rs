use zen_telemetry::traced;

trait Service {
    #[traced]
    fn call(&self);
}

fn main() {}
