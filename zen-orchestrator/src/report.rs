//! `--report FILE`: the final table as JSON. The schema is documented in
//! `docs/orchestrator-report.md`; bump [`SCHEMA_VERSION`] on any breaking change.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::budget;
use crate::status::Row;

/// Version of the report's schema.
pub const SCHEMA_VERSION: u32 = 1;

/// What the report is built from.
pub struct RunFacts<'a> {
    /// When the run started.
    pub started_at: SystemTime,
    /// How long it took.
    pub duration: Duration,
    /// `zen`'s exit code.
    pub exit_code: i32,
    /// Whether a signal stopped it.
    pub cancelled: bool,
    /// Budgets in force.
    pub budget: &'a budget::Settings,
    /// Budget warnings and refusals.
    pub budget_warnings: &'a [String],
    /// The instances.
    pub rows: &'a [Row],
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The report document.
pub fn build(facts: &RunFacts<'_>) -> Value {
    let mut totals = json!({
        "input_tokens": 0u64, "output_tokens": 0u64, "cache_read_tokens": 0u64,
        "cache_creation_tokens": 0u64, "total_tokens": 0u64, "tool_calls": 0u64, "cost_usd": 0.0,
    });
    let mut sums = [0u64; 6];
    let mut cost_sum = 0.0;
    let instances: Vec<Value> = facts
        .rows
        .iter()
        .map(|row| {
            let usage = row.accounting.usage();
            let (cost, source) = row.accounting.cost();
            let tool_calls = row.accounting.tool_calls();
            for (sum, value) in sums.iter_mut().zip([
                usage.input,
                usage.output,
                usage.cache_read,
                usage.cache_creation,
                usage.total(),
                tool_calls,
            ]) {
                *sum = sum.saturating_add(value);
            }
            cost_sum += cost;
            json!({
                "name": row.name,
                "status": row.status.as_str(),
                "command": row.command,
                "exit_code": row.exit_code,
                "signal": row.signal,
                "message": row.message,
                "duration_ms": row.elapsed().map(millis),
                "model": row.accounting.model,
                "tokens": {
                    "input": usage.input,
                    "output": usage.output,
                    "cache_read": usage.cache_read,
                    "cache_creation": usage.cache_creation,
                    "total": usage.total(),
                },
                "tools": row.accounting.tools,
                "tool_calls": tool_calls,
                "cost_usd": cost,
                "cost_source": source.as_str(),
                "malformed_lines": row.accounting.malformed_lines,
            })
        })
        .collect();
    let keys = [
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_creation_tokens",
        "total_tokens",
        "tool_calls",
    ];
    for (key, sum) in keys.iter().zip(sums) {
        totals[*key] = json!(sum);
    }
    totals["cost_usd"] = json!(cost_sum);
    let succeeded = facts
        .rows
        .iter()
        .filter(|r| r.status == crate::status::InstanceStatus::Succeeded)
        .count();
    let started_ms = facts.started_at.duration_since(UNIX_EPOCH).map(millis).unwrap_or(0);
    json!({
        "schema_version": SCHEMA_VERSION,
        "zen_version": env!("CARGO_PKG_VERSION"),
        "started_at_unix_ms": started_ms,
        "duration_ms": millis(facts.duration),
        "exit_code": facts.exit_code,
        "cancelled": facts.cancelled,
        "succeeded": succeeded,
        "failed": facts.rows.len() - succeeded,
        "budget": {
            "mode": facts.budget.mode.as_str(),
            "overall_tokens": facts.budget.overall_tokens,
            "overall_cost_usd": facts.budget.overall_cost,
            "command_tokens": facts.budget.command_tokens,
            "command_cost_usd": facts.budget.command_cost,
            "warnings": facts.budget_warnings,
        },
        "totals": totals,
        "instances": instances,
    })
}

/// Writes the report to `path`.
pub fn write(path: &Path, report: &Value) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    text.push('\n');
    std::fs::write(path, text)
}
