//! Start-up benchmark baseline: the same program without zen-telemetry.

fn noop() -> u32 {
    std::hint::black_box(1)
}

fn main() {
    std::process::exit(i32::from(noop() != 1));
}
