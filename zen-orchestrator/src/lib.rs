//! The `zen` orchestrator as a library: runs many headless agent-CLI instances
//! (Claude Code, or any program) in parallel in one workspace, with budgets,
//! live status and a final report, traced end to end with
//! `#[zen_telemetry::traced]`.
//!
//! The layers, from the outside in:
//!
//! - [`cli`]: the clap command line, turned into plain [`options`] values;
//! - [`app`]: what each command does, start to exit code (`zen run`'s flow);
//! - [`config`] and [`plan`]: the configuration file and the options resolved
//!   into the exact processes to start;
//! - [`runner`], [`budget`], [`status`], [`accounting`]: running them;
//! - [`report`], [`traces`], [`telemetry_status`]: what is shown afterwards.
//!
//! The `zen` binary is a thin `main` over [`cli::Cli`] and [`app::execute`].

pub mod accounting;
pub mod app;
pub mod budget;
pub mod claude;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod monitoring;
pub mod options;
pub mod plan;
pub mod privacy;
mod process_tree;
pub mod report;
pub mod runner;
pub mod signals;
pub mod start_at;
pub mod status;
pub mod telemetry_status;
pub mod trace_html;
pub mod traces;
pub mod usage_metrics;
pub mod workspace;

pub use options::{Action, RunOptions};
