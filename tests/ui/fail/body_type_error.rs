use zen_telemetry::traced;

#[traced]
fn count(items: &[u32]) -> u32 {
    items.len()
}

fn main() {
    count(&[1]);
}
