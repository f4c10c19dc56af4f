use zen_telemetry::traced;

#[traced]
async fn name() -> String {
    "static str"
}

fn main() {
    drop(name());
}
