//! `zen`: runs many headless agent-CLI instances (Claude Code, or any program)
//! in parallel in one workspace, with budgets, live status and a final report,
//! traced end to end with `#[zen_telemetry::traced]`.
//!
//! Everything but parsing lives in the `zen_orchestrator` library.

use std::process::ExitCode;

use clap::Parser;
use zen_orchestrator::app;
use zen_orchestrator::cli::Cli;

fn main() -> ExitCode {
    let action = Cli::parse().into_action();
    ExitCode::from(app::execute(action))
}
