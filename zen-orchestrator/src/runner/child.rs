//! One child process: the command that starts it, how its end is told, how it
//! is terminated, and how its output is echoed and forwarded for accounting.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Child;
use tokio::sync::mpsc;

use crate::options::{Echo, LogLevel};
use crate::plan::InstanceSpec;
use crate::process_tree::{ProcessTree, ending_signal};
use crate::status::{Console, InstanceStatus, Stream};

/// Time between asking a tree to stop (SIGTERM) and killing it (SIGKILL).
pub(super) const TERMINATE_GRACE: Duration = Duration::from_secs(2);

/// How a child ended, for its status row.
#[derive(Debug, PartialEq)]
pub(super) struct Ended {
    pub(super) status: InstanceStatus,
    pub(super) exit_code: Option<i32>,
    pub(super) signal: Option<i32>,
    pub(super) message: Option<String>,
}

/// The command for `spec`, in `workspace` and a process tree of its own, with
/// piped output. zen's own `TRACEPARENT`/`TRACESTATE` are replaced by the
/// current span's, so the child continues this trace (inside `zen.instance`).
pub(super) fn command(spec: &InstanceSpec, workspace: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(&spec.program);
    command
        .args(&spec.args)
        .current_dir(workspace)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("TRACEPARENT")
        .env_remove("TRACESTATE");
    ProcessTree::prepare(&mut command);
    for (key, value) in &spec.env {
        command.env(key, value);
    }
    for (key, value) in zen_telemetry::propagation::child_env() {
        command.env(key, value);
    }
    command
}

pub(super) fn exit_details(exit: Option<ExitStatus>) -> Ended {
    Ended {
        status: InstanceStatus::Failed,
        exit_code: exit.and_then(|s| s.code()),
        signal: exit.as_ref().and_then(ending_signal),
        message: None,
    }
}

pub(super) fn finished(exit: Option<ExitStatus>, reported_error: Option<bool>) -> Ended {
    let details = exit_details(exit);
    match exit {
        Some(status) if status.success() && reported_error != Some(true) => Ended {
            status: InstanceStatus::Succeeded,
            ..details
        },
        Some(status) if status.success() => Ended {
            message: Some("the agent reported an error".to_owned()),
            ..details
        },
        Some(_) => {
            let message = match (details.exit_code, details.signal) {
                (Some(code), _) => format!("exit code {code}"),
                (None, Some(signal)) => format!("killed by signal {signal}"),
                _ => "failed".to_owned(),
            };
            Ended {
                message: Some(message),
                ..details
            }
        }
        None => Ended {
            message: Some("could not wait for the process".to_owned()),
            ..details
        },
    }
}

/// Asks the whole tree to stop, kills it after the grace period.
pub(super) async fn terminate(child: &mut Child, tree: &ProcessTree) -> Option<ExitStatus> {
    tree.ask_to_stop();
    match tokio::time::timeout(TERMINATE_GRACE, child.wait()).await {
        Ok(Ok(status)) => Some(status),
        _ => {
            tree.kill();
            child.wait().await.ok()
        }
    }
}

/// Echoes a child's lines as they come, prefixed, as `echo` says, and
/// forwards them for accounting.
pub(super) async fn echo_lines(
    stream: impl AsyncRead + Unpin,
    prefix: String,
    to: Stream,
    console: Arc<Console>,
    echo: Echo,
    accounting: Option<mpsc::UnboundedSender<String>>,
    last_line: impl Fn(&str),
) {
    let mut reader = BufReader::new(stream);
    let mut buffer = Vec::new();
    let (mut shown, mut hidden) = (0usize, 0usize);
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&buffer);
                let line = text.trim_end_matches(['\n', '\r']);
                // stream-json is shown as short readable lines, the rest as it is.
                let readable = if accounting.is_some() {
                    crate::accounting::describe_line(line)
                } else {
                    Some(line.to_owned())
                };
                if let Some(readable) = &readable {
                    last_line(readable);
                }
                let echoed = match echo.level {
                    LogLevel::Silent => None,
                    LogLevel::Concise => readable,
                    LogLevel::Detailed => Some(line.to_owned()),
                };
                if let Some(echoed) = echoed {
                    if echo.max_lines.is_some_and(|most| shown >= most) {
                        hidden += 1;
                    } else {
                        shown += 1;
                        console.line(to, &format!("{prefix} {}", cut(&echoed, echo.max_line_length)));
                    }
                }
                if let Some(tx) = &accounting {
                    let _ = tx.send(line.to_owned());
                }
            }
        }
    }
    if hidden > 0 && shown > 0 {
        console.line(
            to,
            &format!("{prefix} ... {hidden} more line(s) not shown (--max-console-lines)"),
        );
    }
}

/// `line` cut to `most` characters, the last three `...`.
fn cut(line: &str, most: usize) -> std::borrow::Cow<'_, str> {
    if line.chars().count() <= most {
        return line.into();
    }
    let kept: String = line.chars().take(most.saturating_sub(3)).collect();
    format!("{kept}...").into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn long_lines_are_cut_with_an_ellipsis() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("0123456789abc", 10), "0123456...");
        assert_eq!(cut("ééééé", 4), "é...");
    }
    use std::ffi::OsStr;

    /// A wait status as the kernel reports it: `exit(code)`, or death by `signal`.
    #[cfg(unix)]
    fn exited(code: i32) -> Option<ExitStatus> {
        Some(std::os::unix::process::ExitStatusExt::from_raw(code << 8))
    }

    #[cfg(windows)]
    fn exited(code: i32) -> Option<ExitStatus> {
        Some(std::os::windows::process::ExitStatusExt::from_raw(code as u32))
    }

    #[cfg(unix)]
    fn killed(signal: i32) -> Option<ExitStatus> {
        Some(std::os::unix::process::ExitStatusExt::from_raw(signal))
    }

    #[test]
    fn exit_zero_succeeds_unless_the_agent_reported_an_error() {
        let ok = finished(exited(0), None);
        assert_eq!(
            (ok.status, ok.exit_code, ok.message),
            (InstanceStatus::Succeeded, Some(0), None)
        );
        assert_eq!(finished(exited(0), Some(false)).status, InstanceStatus::Succeeded);
        let reported = finished(exited(0), Some(true));
        assert_eq!(reported.status, InstanceStatus::Failed);
        assert_eq!(reported.message.as_deref(), Some("the agent reported an error"));
    }

    #[test]
    fn failures_say_the_exit_code() {
        let code = finished(exited(3), None);
        assert_eq!(code.status, InstanceStatus::Failed);
        assert_eq!((code.exit_code, code.signal), (Some(3), None));
        assert_eq!(code.message.as_deref(), Some("exit code 3"));
        let lost = finished(None, None);
        assert_eq!(lost.status, InstanceStatus::Failed);
        assert_eq!(lost.message.as_deref(), Some("could not wait for the process"));
    }

    #[cfg(unix)]
    #[test]
    fn a_killed_process_says_the_signal() {
        let signal = finished(killed(libc::SIGKILL), Some(false));
        assert_eq!((signal.exit_code, signal.signal), (None, Some(libc::SIGKILL)));
        assert_eq!(signal.message.as_deref(), Some("killed by signal 9"));
    }

    #[test]
    fn the_command_runs_the_program_in_the_workspace_with_its_environment() {
        let spec = InstanceSpec {
            env: vec![("RUST_LOG".to_owned(), "debug".to_owned())],
            ..InstanceSpec::test_program("lint", "cargo", &["clippy", "--all-targets"])
        };
        let command = command(&spec, Path::new("/srv/project"));
        let command = command.as_std();
        assert_eq!(command.get_program(), "cargo");
        let args: Vec<&OsStr> = command.get_args().collect();
        assert_eq!(args, ["clippy", "--all-targets"]);
        assert_eq!(command.get_current_dir(), Some(Path::new("/srv/project")));
        let env: BTreeMap<&OsStr, Option<&OsStr>> = command.get_envs().collect();
        assert_eq!(env.get(OsStr::new("RUST_LOG")), Some(&Some(OsStr::new("debug"))));
        // zen's own trace context is never inherited as it is: removed, or replaced by the current span's.
        assert!(env.contains_key(OsStr::new("TRACEPARENT")), "{env:?}");
        assert!(env.contains_key(OsStr::new("TRACESTATE")), "{env:?}");
    }
}
