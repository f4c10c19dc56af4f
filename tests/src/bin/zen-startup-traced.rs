//! Start-up benchmark subject: one traced call, linking zen-telemetry.

#[zen_telemetry::traced]
fn noop() -> u32 {
    std::hint::black_box(1)
}

fn main() {
    std::process::exit(i32::from(noop() != 1));
}
