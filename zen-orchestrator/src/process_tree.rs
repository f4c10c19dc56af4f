//! A child process and everything it starts, stopped as one: a process group
//! on Unix, a Job Object on Windows. Nothing an instance starts outlives it.

use std::io;
use std::process::ExitStatus;

use tokio::process::{Child, Command};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as sys;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as sys;

/// The tree rooted at one child.
#[derive(Debug)]
pub(crate) struct ProcessTree(sys::Tree);

impl ProcessTree {
    /// Makes `command` start a tree of its own, apart from zen's terminal
    /// signals (Ctrl-C reaches zen, which then stops each tree itself).
    pub(crate) fn prepare(command: &mut Command) {
        sys::prepare(command);
    }

    /// The tree of a child just spawned from a prepared command.
    pub(crate) fn adopt(child: &Child) -> io::Result<ProcessTree> {
        sys::Tree::adopt(child).map(ProcessTree)
    }

    /// Asks every process of the tree to stop (SIGTERM; Ctrl-Break on Windows).
    pub(crate) fn ask_to_stop(&self) {
        self.0.ask_to_stop();
    }

    /// Ends every process of the tree at once (SIGKILL; TerminateJobObject).
    pub(crate) fn kill(&self) {
        self.0.kill();
    }
}

/// The signal that ended a process, where the platform has signals.
pub(crate) fn ending_signal(status: &ExitStatus) -> Option<i32> {
    #[cfg(unix)]
    {
        std::os::unix::process::ExitStatusExt::signal(status)
    }
    #[cfg(not(unix))]
    {
        let _ = status;
        None
    }
}
