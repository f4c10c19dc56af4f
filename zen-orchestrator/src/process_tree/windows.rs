//! Windows: the child is put in a Job Object that kills every process in it
//! when its last handle closes (ours, on drop or if zen dies), and it leads a
//! console process group of its own, which Ctrl-Break asks to stop.
//!
//! A process the child starts before it is assigned to the job (between
//! `CreateProcess` and `AssignProcessToJobObject`, microseconds) escapes the
//! job; std's `Command` has no way to start the child suspended.

use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};

use tokio::process::{Child, Command};
use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, GenerateConsoleCtrlEvent};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation, SetInformationJobObject,
    TerminateJobObject,
};
use windows_sys::Win32::System::Threading::CREATE_NEW_PROCESS_GROUP;

/// The exit code of every process ended by `kill`.
const KILLED_EXIT_CODE: u32 = 1;

pub(super) fn prepare(command: &mut Command) {
    command.creation_flags(CREATE_NEW_PROCESS_GROUP);
}

#[derive(Debug)]
pub(super) struct Tree {
    job: OwnedHandle,
    /// The console process group's id: the child's process id.
    group: u32,
}

impl Tree {
    pub(super) fn adopt(child: &Child) -> io::Result<Tree> {
        let process = child
            .raw_handle()
            .ok_or_else(|| io::Error::other("the child has already been reaped"))?;
        let group = child.id().unwrap_or(0);
        // SAFETY: both arguments may be null (default security, no name); the
        // result is a new handle we own, or null on failure (checked).
        let raw = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if raw.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a valid handle just returned to us and not owned elsewhere.
        let job = unsafe { OwnedHandle::from_raw_handle(raw) };
        // SAFETY: an all-zero JOBOBJECT_EXTENDED_LIMIT_INFORMATION is valid (plain
        // integers and counters: no limits).
        let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        // SAFETY: the pointer and size describe `limits`, which outlives the call;
        // the class says how the job reads it.
        let set = unsafe {
            SetInformationJobObject(
                job.as_raw_handle(),
                JobObjectExtendedLimitInformation,
                std::ptr::from_ref(&limits).cast(),
                size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            )
        };
        if set == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both handles are valid and open: the job is ours, the process
        // handle is the child's, held by `child` for this call.
        if unsafe { AssignProcessToJobObject(job.as_raw_handle(), process) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Tree { job, group })
    }

    pub(super) fn ask_to_stop(&self) {
        if self.group != 0 {
            // SAFETY: takes two integers; a group without our console only fails,
            // and `kill` follows after the grace period.
            unsafe {
                GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, self.group);
            }
        }
    }

    pub(super) fn kill(&self) {
        // SAFETY: the job handle is ours and open for as long as `self` lives; a
        // job whose processes are all gone only returns an error.
        unsafe {
            TerminateJobObject(self.job.as_raw_handle(), KILLED_EXIT_CODE);
        }
    }
}
