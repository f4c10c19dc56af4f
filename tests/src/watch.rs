//! Which files a process opens, seen from outside it through Linux's
//! inotify: a watch on a directory reports every open of the directory or of
//! a file in it, whoever opens it, with no tracer attached to the process.
//! The events are queued by the kernel when the open happens, so once the
//! process has exited, reading the queue tells everything it opened.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Watches directories for opens (and executions) of what they hold.
#[derive(Debug)]
pub struct OpenWatch {
    fd: OwnedFd,
    /// Each watch descriptor with its directory.
    dirs: Vec<(i32, PathBuf)>,
}

impl OpenWatch {
    /// Watches each of `dirs` (which must exist).
    pub fn new(dirs: &[&Path]) -> io::Result<OpenWatch> {
        // SAFETY: inotify_init1 takes flags only; a non-negative result is a
        // new descriptor that we own from here on.
        let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut watch = OpenWatch { fd, dirs: Vec::new() };
        for dir in dirs {
            let path = CString::new(dir.as_os_str().as_bytes()).map_err(io::Error::other)?;
            // SAFETY: `path` is a NUL-terminated string that outlives the call.
            let wd = unsafe {
                libc::inotify_add_watch(watch.fd.as_raw_fd(), path.as_ptr(), libc::IN_OPEN | libc::IN_ACCESS)
            };
            if wd < 0 {
                return Err(io::Error::last_os_error());
            }
            watch.dirs.push((wd, dir.to_path_buf()));
        }
        Ok(watch)
    }

    /// Everything opened or read in the watched directories since the last
    /// call (a directory's own path when it was listed), oldest first.
    pub fn opened(&self) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        let mut buffer = [0u8; 8192];
        loop {
            // SAFETY: reads at most `buffer.len()` bytes into a live buffer.
            let read = unsafe { libc::read(self.fd.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len()) };
            let Ok(read) = usize::try_from(read) else {
                break; // EAGAIN: nothing more is queued.
            };
            if read == 0 {
                break;
            }
            let mut at = 0;
            let header = std::mem::size_of::<libc::inotify_event>();
            while at + header <= read {
                // SAFETY: the kernel wrote a whole event header at `at`;
                // read_unaligned copes with the byte buffer's alignment.
                let event: libc::inotify_event = unsafe { std::ptr::read_unaligned(buffer.as_ptr().add(at).cast()) };
                let name_bytes = &buffer[at + header..(at + header + event.len as usize).min(read)];
                let name = name_bytes.split(|b| *b == 0).next().unwrap_or_default();
                if let Some((_, dir)) = self.dirs.iter().find(|(wd, _)| *wd == event.wd) {
                    paths.push(if name.is_empty() {
                        dir.clone()
                    } else {
                        dir.join(std::ffi::OsStr::from_bytes(name))
                    });
                }
                at += header + event.len as usize;
            }
        }
        paths
    }
}
