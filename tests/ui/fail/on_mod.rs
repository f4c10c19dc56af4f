use zen_telemetry::traced;

#[traced]
mod jobs {
    pub fn run() {}
}

fn main() {
    jobs::run();
}
