//! What a plan is: the instances to start and how to run them.

use std::path::PathBuf;
use std::time::Duration;

use crate::budget;

/// Default concurrency cap.
pub const DEFAULT_MAX_PARALLEL: usize = 4;

/// What kind of process an instance runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Claude Code, through the preset.
    Claude,
    /// Any program (`program` + `args`).
    Program,
}

impl Kind {
    /// `claude` or `program`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Claude => "claude",
            Kind::Program => "program",
        }
    }
}

/// One process to start.
#[derive(Debug, Clone)]
pub struct InstanceSpec {
    /// Unique name.
    pub name: String,
    /// Claude or another program.
    pub kind: Kind,
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// Per-instance timeout.
    pub timeout: Option<Duration>,
    /// Slash command name (never the arguments).
    pub command_name: Option<String>,
    /// `max_tokens_per_command`.
    pub token_limit: Option<u64>,
    /// Whether stdout is stream-json to account.
    pub stream_json: bool,
    /// Truncated SHA-256 of the session id.
    pub session_hash: Option<String>,
    /// From the configuration.
    pub description: Option<String>,
    /// Claude Code's `--permission-mode` (Claude instances only).
    pub permission_mode: Option<String>,
}

impl InstanceSpec {
    /// What the budget tracker needs.
    pub fn subject(&self) -> budget::Subject {
        budget::Subject {
            name: self.name.clone(),
            command: self.command_name.clone(),
            token_limit: self.token_limit,
        }
    }

    /// A `program` instance running `program args`, nothing else set (unit tests' plans).
    #[cfg(test)]
    pub(crate) fn test_program(name: &str, program: &str, args: &[&str]) -> InstanceSpec {
        InstanceSpec {
            name: name.to_owned(),
            kind: Kind::Program,
            program: PathBuf::from(program),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: Vec::new(),
            timeout: None,
            command_name: None,
            token_limit: None,
            stream_json: false,
            session_hash: None,
            description: None,
            permission_mode: None,
        }
    }
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The instances, in launch order.
    pub instances: Vec<InstanceSpec>,
    /// Concurrency cap.
    pub max_parallel: usize,
    /// Delay between two launches.
    pub startup_delay: Duration,
    /// Working directory of every child.
    pub workspace: PathBuf,
    /// Budgets.
    pub budget: budget::Settings,
    /// `None` when the `claude` binary is needed but missing (dry runs only).
    pub claude_missing: bool,
}
