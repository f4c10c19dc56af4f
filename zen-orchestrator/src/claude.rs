//! The Claude Code preset: how an instance's prompt becomes a `claude` command line.

use std::path::{Path, PathBuf};

/// Default `--permission-mode`.
pub const DEFAULT_PERMISSION_MODE: &str = "bypassPermissions";
/// Default `--output-format`.
pub const DEFAULT_OUTPUT_FORMAT: &str = "stream-json";

/// What goes on a `claude` command line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Invocation<'a> {
    /// The prompt or slash command (with any `/clear`, `/compact` and pre-commands first).
    pub prompt: &'a str,
    /// `--output-format`.
    pub output_format: &'a str,
    /// `--permission-mode`.
    pub permission_mode: &'a str,
    /// `--allowedTools`.
    pub allowed_tools: &'a [String],
    /// `--session-id`.
    pub session_id: Option<&'a str>,
}

/// `claude -p "<prompt>" --output-format <fmt> --verbose --permission-mode <mode>`, plus
/// `--allowedTools a,b` and `--session-id` when set. Returns the arguments (not the binary).
pub fn arguments(invocation: &Invocation<'_>) -> Vec<String> {
    let mut args = vec![
        "-p".to_owned(),
        invocation.prompt.to_owned(),
        "--output-format".to_owned(),
        invocation.output_format.to_owned(),
        "--verbose".to_owned(),
        "--permission-mode".to_owned(),
        invocation.permission_mode.to_owned(),
    ];
    if !invocation.allowed_tools.is_empty() {
        args.push("--allowedTools".to_owned());
        args.push(invocation.allowed_tools.join(","));
    }
    if let Some(session) = invocation.session_id {
        args.push("--session-id".to_owned());
        args.push(session.to_owned());
    }
    args
}

/// The prompt sent to Claude: `/clear`, `/compact` and `pre_commands` (one per
/// line, in that order) before the command itself.
pub fn compose_prompt(command: &str, clear_history: bool, compact_history: bool, pre_commands: &[String]) -> String {
    let mut lines: Vec<&str> = Vec::new();
    if clear_history {
        lines.push("/clear");
    }
    if compact_history {
        lines.push("/compact");
    }
    lines.extend(pre_commands.iter().map(String::as_str));
    lines.push(command);
    lines.join("\n")
}

/// Why the `claude` binary could not be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound;

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "the Claude Code CLI (`claude`) was not found on PATH: install it \
             (npm install -g @anthropic-ai/claude-code), set ZEN_CLAUDE_BIN to its path, \
             or give the instances a \"program\" to run instead",
        )
    }
}

/// The `claude` binary: `ZEN_CLAUDE_BIN` when set, else the first `claude` on `PATH`.
pub fn resolve_binary() -> Result<PathBuf, NotFound> {
    if let Some(explicit) = std::env::var_os("ZEN_CLAUDE_BIN").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(explicit));
    }
    find_on_path("claude").ok_or(NotFound)
}

/// The first executable file named `name` in `PATH`.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| executable(&dir.join(name)))
}

#[cfg(unix)]
fn executable(path: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let runs = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    runs.then(|| path.to_owned())
}

/// On Windows a program is a file with one of the extensions `cmd` runs
/// (npm installs `claude.cmd`); std's `Command` runs `.cmd` and `.bat` through it.
#[cfg(windows)]
fn executable(path: &Path) -> Option<PathBuf> {
    ["exe", "cmd", "bat", "com"]
        .into_iter()
        .map(|extension| path.with_extension(extension))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_documented_command_line() {
        let tools = vec!["Read".to_owned(), "Bash(git:*)".to_owned()];
        let args = arguments(&Invocation {
            prompt: "/review",
            output_format: DEFAULT_OUTPUT_FORMAT,
            permission_mode: DEFAULT_PERMISSION_MODE,
            allowed_tools: &tools,
            session_id: Some("abc"),
        });
        assert_eq!(
            args,
            [
                "-p",
                "/review",
                "--output-format",
                "stream-json",
                "--verbose",
                "--permission-mode",
                "bypassPermissions",
                "--allowedTools",
                "Read,Bash(git:*)",
                "--session-id",
                "abc"
            ]
        );
        let bare = arguments(&Invocation {
            prompt: "hi",
            output_format: "json",
            permission_mode: "plan",
            ..Default::default()
        });
        assert_eq!(bare.len(), 7);
    }

    #[test]
    fn history_options_come_first() {
        assert_eq!(
            compose_prompt("/go", true, true, &["/prime".to_owned()]),
            "/clear\n/compact\n/prime\n/go"
        );
        assert_eq!(compose_prompt("/go", false, false, &[]), "/go");
    }
}
