//! Unix: the child leads a new process group; the group is signalled as a whole.

use std::io;

use tokio::process::{Child, Command};

pub(super) fn prepare(command: &mut Command) {
    command.process_group(0);
}

#[derive(Debug)]
pub(super) struct Tree {
    pgid: libc::pid_t,
}

impl Tree {
    pub(super) fn adopt(child: &Child) -> io::Result<Tree> {
        let pgid = child
            .id()
            .and_then(|pid| libc::pid_t::try_from(pid).ok())
            .ok_or_else(|| io::Error::other("the child has already been reaped"))?;
        Ok(Tree { pgid })
    }

    pub(super) fn ask_to_stop(&self) {
        self.signal(libc::SIGTERM);
    }

    pub(super) fn kill(&self) {
        self.signal(libc::SIGKILL);
    }

    /// A group that is already gone is fine.
    fn signal(&self, signal: libc::c_int) {
        if self.pgid > 1 {
            // SAFETY: killpg takes two integers and only sends a signal: no memory of
            // ours is read or written, and any error (a group already gone) is only
            // returned. `pgid > 1` because POSIX leaves killpg undefined for 0 and 1.
            unsafe {
                libc::killpg(self.pgid, signal);
            }
        }
    }
}
