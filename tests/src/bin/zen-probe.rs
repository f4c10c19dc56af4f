//! A small program that links zen-telemetry, for tests that need a real
//! process: start-up, opt-out, exporters and the flush at exit.
//!
//! Usage: `zen-probe calls N` | `zen-probe spans N` | `zen-probe exit N` |
//! `zen-probe fail N` (each root also calls `probe.fail`, which returns an
//! error whose text holds secrets)

use zen_telemetry::traced;

#[traced("probe.child", attrs(probe.index = index))]
fn child(index: u64) -> u64 {
    index.wrapping_mul(3)
}

#[traced("probe.root", attrs(probe.kind = "root"))]
fn root(index: u64) -> u64 {
    child(index) + 1
}

/// The message carries what the scrubber must remove.
const FAIL_MESSAGE: &str = "login failed: password=hunter2 user@example.com";

#[traced("probe.fail")]
fn fail() -> Result<(), String> {
    Err(FAIL_MESSAGE.to_owned())
}

fn dir_entries(path: &str) -> Vec<String> {
    let mut entries: Vec<String> = std::fs::read_dir(path)
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| {
                    std::fs::read_link(e.path())
                        .ok()
                        .map(|t| t.display().to_string())
                        .or_else(|| Some(e.file_name().to_string_lossy().into_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    entries.sort();
    entries
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "calls".to_owned());
    let count: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);

    let threads_before = dir_entries("/proc/self/task").len();
    let fds_before = dir_entries("/proc/self/fd");
    let mut sum = 0u64;
    for i in 0..count {
        sum = sum.wrapping_add(root(i));
        if mode == "fail" {
            let _ = fail();
        }
    }
    let threads_after = dir_entries("/proc/self/task").len();
    let fds_after = dir_entries("/proc/self/fd");
    let stats = zen_telemetry::stats();
    let report = serde_json::json!({
        "mode": mode,
        "sum": sum,
        "enabled": zen_telemetry::is_enabled(),
        "threads_before": threads_before,
        "threads_after": threads_after,
        // read_dir itself holds one fd while listing; both lists include it.
        "fds_before": fds_before,
        "fds_after": fds_after,
        "recorded": stats.spans_recorded,
    });
    println!("{report}");
    if mode == "exit" {
        std::process::exit(0);
    }
}
