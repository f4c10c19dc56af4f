//! Messages to stderr that are safe before `main` and during exit.
//!
//! Rust's `eprintln!` may panic when stderr is gone or while the process is
//! tearing down; telemetry must never do that, so it writes straight to fd 2
//! on Unix (std's stderr handle on Windows) and ignores failures.

use std::sync::atomic::{AtomicBool, Ordering};

static DEBUG: AtomicBool = AtomicBool::new(false);

pub(crate) fn set_debug(on: bool) {
    DEBUG.store(on, Ordering::Relaxed);
}

pub(crate) fn debug_enabled() -> bool {
    DEBUG.load(Ordering::Relaxed)
}

/// Writes one line to stderr, ignoring any failure.
pub(crate) fn stderr_line(message: &str) {
    let mut line = String::with_capacity(message.len() + 1);
    line.push_str(message);
    line.push('\n');
    write_stderr(line.as_bytes());
}

#[cfg(unix)]
fn write_stderr(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: writes at most `bytes.len()` bytes from a live buffer to fd 2.
        let written = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
        if written <= 0 {
            return;
        }
        bytes = &bytes[written as usize..];
    }
}

/// Through std's handle (`GetStdHandle`), which does not panic from
/// `write_all`: the C runtime's descriptor 2 may not exist in a GUI program.
#[cfg(not(unix))]
fn write_stderr(bytes: &[u8]) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(bytes);
}

/// Writes a line only under `ZEN_TELEMETRY_DEBUG=1`.
pub(crate) fn debug_line(message: impl FnOnce() -> String) {
    if debug_enabled() {
        stderr_line(&format!("zen-telemetry: {}", message()));
    }
}
