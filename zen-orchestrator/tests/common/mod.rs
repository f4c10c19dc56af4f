//! Helpers shared by zen's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

pub(crate) const ZEN: &str = env!("CARGO_BIN_EXE_zen");
pub(crate) const FAKE_AGENT: &str = env!("CARGO_BIN_EXE_zen-fake-agent");

/// A fresh directory, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("zen-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `config` as `zen.json` and returns its path.
    pub(crate) fn config(&self, config: &Value) -> PathBuf {
        let path = self.path("zen.json");
        std::fs::write(&path, serde_json::to_string_pretty(config).expect("json")).expect("write config");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The example configuration `name` (`demo.json`, `demo-windows.json`).
pub(crate) fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name)
}

pub(crate) fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// `zen` with telemetry off, the fake agent as `claude`, no live table and
/// no stagger. A test that turns telemetry on gets series of the process's
/// own: continued ones would live in the developer's state directory and
/// carry counts from one test run into the next.
pub(crate) fn zen() -> Command {
    let mut command = Command::new(ZEN);
    command
        .env("ZEN_CLAUDE_BIN", FAKE_AGENT)
        .env("ZEN_TELEMETRY_DISABLED", "1")
        .env("ZEN_TELEMETRY_METRICS_ACROSS_RUNS", "off")
        .env("NO_COLOR", "1")
        .env_remove("TRACEPARENT")
        .env_remove("TRACESTATE");
    command
}

/// The command `zen run --config CONFIG` with quick defaults (no live
/// table, no launch delay), for callers that add env or spawn it themselves.
pub(crate) fn run_command(config: &Path) -> Command {
    let mut command = zen();
    command
        .args(["run", "--config"])
        .arg(config)
        .args(["--status-interval", "0", "--startup-delay", "0"]);
    command
}

/// `zen run --config CONFIG` with quick defaults and extra `args`.
pub(crate) fn run_config(config: &Path, args: &[&str]) -> Output {
    run_command(config).args(args).output().expect("run zen")
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(crate) fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// What Ctrl-C does to zen.
#[cfg(unix)]
pub(crate) fn interrupt(child: &std::process::Child) {
    // SAFETY: plain kill(2) of our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
}

/// True when `pid` no longer runs (absent, or a zombie waiting for its parent).
#[cfg(unix)]
pub(crate) fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
    }
}

/// True when `pid` no longer runs (absent, or ended and only still held open).
#[cfg(windows)]
pub(crate) fn is_gone(pid: u32) -> bool {
    use windows_sys::Win32::Foundation::{CloseHandle, WAIT_TIMEOUT};
    use windows_sys::Win32::System::Threading::{OpenProcess, PROCESS_SYNCHRONIZE, WaitForSingleObject};
    // SAFETY: OpenProcess takes integers; a null result (no such process) is checked.
    let process = unsafe { OpenProcess(PROCESS_SYNCHRONIZE, 0, pid) };
    if process.is_null() {
        return true;
    }
    // SAFETY: `process` is a handle we just opened; it is closed once, here.
    unsafe {
        let running = WaitForSingleObject(process, 0) == WAIT_TIMEOUT;
        CloseHandle(process);
        !running
    }
}

/// Waits until every pid is gone, at most `limit`.
pub(crate) fn wait_gone(pids: &[u32], limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if pids.iter().all(|p| is_gone(*p)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    pids.iter().all(|p| is_gone(*p))
}

/// Reads "PID GRANDCHILD_PID" written by the fake agent, waiting for it at most `limit`.
pub(crate) fn wait_pids(path: &Path, limit: Duration) -> Option<(u32, u32)> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(text) = std::fs::read_to_string(path) {
            let mut parts = text.split_whitespace().map(|p| p.parse::<u32>());
            if let (Some(Ok(pid)), Some(Ok(grandchild))) = (parts.next(), parts.next()) {
                return Some((pid, grandchild));
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The report's instance named `name`.
pub(crate) fn instance<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["instances"]
        .as_array()
        .and_then(|list| list.iter().find(|i| i["name"] == name))
        .unwrap_or_else(|| panic!("no instance {name} in {report:#}"))
}
