//! Ctrl-C / SIGTERM, and the process groups of every running child.
//!
//! The first signal stops launches and asks every instance to terminate its
//! process group (SIGTERM, then SIGKILL after a grace period); `zen` then
//! prints the final table, flushes telemetry and exits 130. A second signal
//! kills every group at once and exits 130 immediately.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use crate::status::{Console, Stream};

/// Exit code after Ctrl-C or SIGTERM.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Sends `signal` to process group `pgid`; a group that is already gone is fine.
pub(crate) fn signal_group(pgid: i32, signal: i32) {
    if pgid > 1 {
        // SAFETY: killpg takes two integers and only sends a signal: no memory of
        // ours is read or written, and any error (a group already gone) is only
        // returned. `pgid > 1` because POSIX leaves killpg undefined for 0 and 1.
        unsafe {
            libc::killpg(pgid, signal);
        }
    }
}

/// The process groups of the children now running.
#[derive(Debug, Clone, Default)]
pub struct Groups {
    live: Arc<Mutex<BTreeSet<i32>>>,
}

impl Groups {
    fn lock(&self) -> MutexGuard<'_, BTreeSet<i32>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a group; the guard SIGKILLs it if dropped while still armed.
    pub(crate) fn register(&self, pgid: i32) -> GroupGuard {
        self.lock().insert(pgid);
        GroupGuard {
            groups: self.clone(),
            pgid,
            armed: true,
        }
    }

    /// Sends `signal` to every registered group.
    pub(crate) fn signal_all(&self, signal: i32) {
        for pgid in self.lock().iter() {
            signal_group(*pgid, signal);
        }
    }
}

/// Keeps a process group registered; kills it if the instance is abandoned.
#[derive(Debug)]
pub(crate) struct GroupGuard {
    groups: Groups,
    pgid: i32,
    armed: bool,
}

impl GroupGuard {
    /// The group has been cleaned up: unregister without killing.
    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            signal_group(self.pgid, libc::SIGKILL);
        }
        self.groups.lock().remove(&self.pgid);
    }
}

/// Listens for SIGINT and SIGTERM; the first sets `cancel`, the second kills everything and exits.
pub fn spawn_listener(
    cancel: Arc<watch::Sender<bool>>,
    groups: Groups,
    console: Arc<Console>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(tokio::spawn(async move {
        let mut received = 0;
        loop {
            let name = tokio::select! {
                _ = interrupt.recv() => "SIGINT",
                _ = terminate.recv() => "SIGTERM",
            };
            received += 1;
            if received == 1 {
                console.line(
                    Stream::Stderr,
                    &format!("zen: {name}: no more launches; terminating every instance (again to kill at once)"),
                );
                cancel.send_replace(true);
            } else {
                console.line(Stream::Stderr, &format!("zen: {name} again: killing every instance"));
                groups.signal_all(libc::SIGKILL);
                zen_telemetry::shutdown();
                std::process::exit(EXIT_INTERRUPTED);
            }
        }
    }))
}
