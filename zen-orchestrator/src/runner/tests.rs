//! The launch loop in process: budget decisions, cancellation, spawn failures
//! and accounting, with a [`Runner`] over a hand-made plan.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{BudgetSummary, Runner};
use crate::budget::{Mode, Settings};
use crate::plan::{InstanceSpec, Plan};
use crate::signals::Groups;
use crate::status::{Board, Console, InstanceStatus, Row};

/// A path no program lives at: launching it fails without starting anything.
const MISSING_PROGRAM: &str = "/nonexistent/zen-runner-test-program";

fn plan(instances: Vec<InstanceSpec>, budget: Settings) -> Plan {
    Plan {
        instances,
        max_parallel: 2,
        startup_delay: Duration::ZERO,
        workspace: std::env::temp_dir(),
        budget,
        claude_missing: false,
    }
}

struct Outcome {
    cancelled: bool,
    rows: Vec<Row>,
    budget: BudgetSummary,
}

/// Runs `plan` to its end, quietly; `cancelled` is the cancel flag at the start.
async fn run(plan: &Plan, cancelled: bool) -> Outcome {
    let board = Board::new(plan.instances.iter().map(|s| (s.name.clone(), s.command_name.clone())));
    // Kept alive for the whole run: the runner waits on it.
    let (_cancel_tx, cancel_rx) = watch::channel(cancelled);
    let runner = Runner::new(
        plan,
        board.clone(),
        Arc::new(Console::new()),
        cancel_rx,
        Groups::default(),
        crate::options::Echo {
            max_lines: Some(0),
            ..crate::options::Echo::default()
        },
    );
    let cancelled = runner.run().await;
    Outcome {
        cancelled,
        rows: board.snapshot(),
        budget: runner.budget_summary(),
    }
}

fn statuses(rows: &[Row]) -> Vec<InstanceStatus> {
    rows.iter().map(|r| r.status).collect()
}

#[tokio::test]
async fn block_mode_with_a_spent_budget_starts_nothing() {
    let budget = Settings {
        mode: Mode::Block,
        overall_tokens: Some(0),
        ..Settings::default()
    };
    let plan = plan(
        vec![
            InstanceSpec::test_program("a", MISSING_PROGRAM, &[]),
            InstanceSpec::test_program("b", MISSING_PROGRAM, &[]),
        ],
        budget,
    );
    let outcome = run(&plan, false).await;
    assert!(!outcome.cancelled);
    // A launch would have ended in spawn_failed: blocked means never tried.
    assert_eq!(
        statuses(&outcome.rows),
        [InstanceStatus::Blocked, InstanceStatus::Blocked]
    );
    for row in &outcome.rows {
        let message = row.message.as_deref().unwrap_or_default();
        assert!(message.contains("overall token budget would be exceeded"), "{message}");
    }
    assert_eq!(outcome.budget.warnings.len(), 2, "{:?}", outcome.budget.warnings);
    assert!(
        outcome.budget.warnings[0].starts_with("a: "),
        "{:?}",
        outcome.budget.warnings
    );
    assert_eq!((outcome.budget.tokens, outcome.budget.cost_usd), (0, 0.0));
}

#[tokio::test]
async fn warn_mode_warns_and_still_launches() {
    let budget = Settings {
        mode: Mode::Warn,
        overall_tokens: Some(0),
        ..Settings::default()
    };
    let plan = plan(vec![InstanceSpec::test_program("a", MISSING_PROGRAM, &[])], budget);
    let outcome = run(&plan, false).await;
    assert_eq!(statuses(&outcome.rows), [InstanceStatus::SpawnFailed]);
    let message = outcome.rows[0].message.as_deref().unwrap_or_default();
    assert!(
        message.starts_with(&format!("cannot start {MISSING_PROGRAM}: ")),
        "{message}"
    );
    assert_eq!(outcome.budget.warnings.len(), 1, "{:?}", outcome.budget.warnings);
}

#[tokio::test]
async fn a_run_cancelled_before_it_starts_marks_every_instance_not_started() {
    let plan = plan(
        vec![
            InstanceSpec::test_program("a", MISSING_PROGRAM, &[]),
            InstanceSpec::test_program("b", MISSING_PROGRAM, &[]),
        ],
        Settings::default(),
    );
    let outcome = run(&plan, true).await;
    assert!(outcome.cancelled);
    assert_eq!(
        statuses(&outcome.rows),
        [InstanceStatus::Cancelled, InstanceStatus::Cancelled]
    );
    assert!(outcome.rows.iter().all(|r| r.message.as_deref() == Some("not started")));
    assert!(outcome.budget.warnings.is_empty());
}

// `printf` and `sh` (on Windows the fake agent's stream-json is accounted in tests/run.rs).
#[cfg(unix)]
#[tokio::test]
async fn stream_json_output_is_accounted_into_the_budget_summary() {
    let assistant = r#"{"type":"assistant","message":{"id":"msg_1","model":"claude-sonnet-4-5","content":[],"usage":{"input_tokens":1800,"output_tokens":240,"cache_read_input_tokens":12000,"cache_creation_input_tokens":900}}}"#;
    let result = r#"{"type":"result","subtype":"success","is_error":false,"total_cost_usd":0.0128}"#;
    let mut agent = InstanceSpec::test_program("agent", "printf", &["%s\\n", assistant, result]);
    agent.stream_json = true;
    let plan = plan(
        vec![agent, InstanceSpec::test_program("fails", "sh", &["-c", "exit 3"])],
        Settings::default(),
    );
    let outcome = run(&plan, false).await;
    assert_eq!(
        statuses(&outcome.rows),
        [InstanceStatus::Succeeded, InstanceStatus::Failed]
    );
    assert_eq!(outcome.rows[1].exit_code, Some(3));
    assert_eq!(outcome.rows[1].message.as_deref(), Some("exit code 3"));
    assert_eq!(outcome.budget.tokens, 1800 + 240 + 12000 + 900);
    assert!(
        (outcome.budget.cost_usd - 0.0128).abs() < 1e-12,
        "{}",
        outcome.budget.cost_usd
    );
    assert!(outcome.budget.warnings.is_empty());
}
