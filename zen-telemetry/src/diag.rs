//! Messages to stderr that are safe before `main` and during exit.
//!
//! Rust's `eprintln!` may panic when stderr is gone or while the process is
//! tearing down; telemetry must never do that, so it writes straight to fd 2
//! and ignores failures.

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
    let mut bytes = line.as_bytes();
    while !bytes.is_empty() {
        // The count's type is `size_t` on Unix, `unsigned int` on Windows.
        let chunk = bytes.len().min(i32::MAX as usize);
        // SAFETY: writes `chunk` (at most `bytes.len()`) bytes from a live
        // buffer to fd 2; `chunk` fits either count type.
        let written = unsafe { libc::write(2, bytes.as_ptr().cast(), chunk as _) };
        if written <= 0 {
            return;
        }
        bytes = &bytes[written as usize..];
    }
}

/// Writes a line only under `ZEN_TELEMETRY_DEBUG=1`.
pub(crate) fn debug_line(message: impl FnOnce() -> String) {
    if debug_enabled() {
        stderr_line(&format!("zen-telemetry: {}", message()));
    }
}
