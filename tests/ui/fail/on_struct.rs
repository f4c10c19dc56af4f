use zen_telemetry::traced;

#[traced]
struct Config {
    name: String,
}

fn main() {
    let _ = Config { name: String::new() }.name;
}
