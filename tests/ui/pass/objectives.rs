//! `objective(...)` on fns and impl blocks, with ints or floats, adds no warning.

#![deny(warnings, clippy::all)]

use zen_telemetry::traced;

#[traced(objective(success = 99.9, latency_ms = 250))]
fn both() -> Result<(), String> {
    Ok(())
}

#[traced("checkout.pay", objective(success = 99))]
fn success_only() {}

#[traced(objective(latency_ms = 0.5))]
async fn latency_only() {}

struct Store;

#[traced(objective(success = 99.5))]
impl Store {
    fn get(&self) -> u32 {
        1
    }

    #[traced(objective(latency_ms = 10))]
    fn put(&self) {}
}

fn main() {
    let _ = both();
    success_only();
    drop(latency_only());
    Store.put();
    let _ = Store.get();
}
