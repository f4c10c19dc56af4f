//! Ctrl-C / SIGTERM, and the process trees of every running child.
//!
//! The first signal stops launches and asks every instance to terminate its
//! process tree (SIGTERM or Ctrl-Break, then SIGKILL or TerminateJobObject
//! after a grace period); `zen` then prints the final table, flushes telemetry
//! and exits 130. A second signal kills every tree at once and exits 130
//! immediately.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use crate::process_tree::ProcessTree;
use crate::status::{Console, Stream};

/// Exit code after Ctrl-C or SIGTERM.
pub const EXIT_INTERRUPTED: i32 = 130;

/// The process trees of the children now running.
#[derive(Debug, Clone, Default)]
pub struct Groups {
    live: Arc<Mutex<Vec<Arc<ProcessTree>>>>,
}

impl Groups {
    fn lock(&self) -> MutexGuard<'_, Vec<Arc<ProcessTree>>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a tree; the guard kills it if dropped while still armed.
    pub(crate) fn register(&self, tree: Arc<ProcessTree>) -> GroupGuard {
        self.lock().push(tree.clone());
        GroupGuard {
            groups: self.clone(),
            tree,
            armed: true,
        }
    }

    /// Kills every registered tree at once.
    pub(crate) fn kill_all(&self) {
        for tree in self.lock().iter() {
            tree.kill();
        }
    }
}

/// Keeps a process tree registered; kills it if the instance is abandoned.
#[derive(Debug)]
pub(crate) struct GroupGuard {
    groups: Groups,
    tree: Arc<ProcessTree>,
    armed: bool,
}

impl GroupGuard {
    /// The tree has been cleaned up: unregister without killing.
    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            self.tree.kill();
        }
        self.groups.lock().retain(|tree| !Arc::ptr_eq(tree, &self.tree));
    }
}

/// Listens for SIGINT and SIGTERM (Ctrl-C and Ctrl-Break on Windows); the
/// first sets `cancel`, the second kills everything and exits.
pub fn spawn_listener(
    cancel: Arc<watch::Sender<bool>>,
    groups: Groups,
    console: Arc<Console>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let mut signals = Signals::listen()?;
    Ok(tokio::spawn(async move {
        let mut received = 0;
        loop {
            let name = signals.next().await;
            received += 1;
            if received == 1 {
                console.line(
                    Stream::Stderr,
                    &format!("zen: {name}: no more launches; terminating every instance (again to kill at once)"),
                );
                cancel.send_replace(true);
            } else {
                console.line(Stream::Stderr, &format!("zen: {name} again: killing every instance"));
                groups.kill_all();
                zen_telemetry::shutdown();
                std::process::exit(EXIT_INTERRUPTED);
            }
        }
    }))
}

#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn listen() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

#[cfg(windows)]
struct Signals {
    ctrl_c: tokio::signal::windows::CtrlC,
    ctrl_break: tokio::signal::windows::CtrlBreak,
}

#[cfg(windows)]
impl Signals {
    fn listen() -> std::io::Result<Signals> {
        Ok(Signals {
            ctrl_c: tokio::signal::windows::ctrl_c()?,
            ctrl_break: tokio::signal::windows::ctrl_break()?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.ctrl_c.recv() => "Ctrl-C",
            _ = self.ctrl_break.recv() => "Ctrl-Break",
        }
    }
}
