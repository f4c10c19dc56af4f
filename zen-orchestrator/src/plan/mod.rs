//! The run plan: the configuration file and the command line, resolved into
//! the exact processes to start.

mod describe;
mod model;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::budget::{self, Mode};
use crate::config::{self, FileConfig, InstanceConfig};
use crate::error::ZenError;
use crate::options::RunOptions;
use crate::workspace;
use crate::{claude, privacy};

pub use describe::describe;
pub use model::{DEFAULT_MAX_PARALLEL, InstanceSpec, Kind, Plan};

/// Builds the plan from the run options (and their configuration file).
pub fn build(args: &RunOptions) -> Result<Plan, ZenError> {
    let file = match (&args.config, &args.prompt) {
        (Some(_), Some(_)) => {
            return Err(ZenError::Usage(
                "give either --config FILE or a prompt, not both".to_owned(),
            ));
        }
        (Some(path), None) => config::load(path)?,
        (None, Some(prompt)) => FileConfig {
            instances: vec![InstanceConfig {
                name: Some(args.direct.name.clone().unwrap_or_else(|| direct_name(prompt))),
                command: Some(prompt.clone()),
                description: args.direct.description.clone(),
                session_id: args.direct.session_id.clone(),
                clear_history: args.direct.clear_history,
                compact_history: args.direct.compact_history,
                ..InstanceConfig::default()
            }],
            ..FileConfig::default()
        },
        (None, None) => {
            return Err(ZenError::Usage(
                "nothing to run: give --config FILE or a prompt/slash command (see zen run --help)".to_owned(),
            ));
        }
    };

    let workspace = workspace::resolve(args.workspace.as_deref()).map_err(ZenError::Usage)?;

    let needs_claude = file.instances.iter().any(|i| i.program.is_none());
    let claude_bin = if needs_claude {
        match claude::resolve_binary() {
            Ok(bin) => Some(bin),
            Err(e) if !args.dry_run => return Err(ZenError::Usage(e.to_string())),
            Err(_) => None,
        }
    } else {
        None
    };

    let default_timeout = match args.timeout {
        Some(secs) if !(secs.is_finite() && secs > 0.0) => {
            return Err(ZenError::Usage(
                "--timeout must be a positive number of seconds".to_owned(),
            ));
        }
        Some(secs) => Some(Duration::from_secs_f64(secs)),
        None => None,
    };
    let mut instances = Vec::with_capacity(file.instances.len());
    let mut used_names = BTreeMap::new();
    for (index, instance) in file.instances.iter().enumerate() {
        let mut spec = prepare_instance(instance, index, claude_bin.as_deref(), default_timeout);
        // Unnamed instances get `instance-N`; keep names unique.
        let count = used_names.entry(spec.name.clone()).or_insert(0usize);
        *count += 1;
        if *count > 1 {
            spec.name = format!("{}-{}", spec.name, count);
        }
        instances.push(spec);
    }

    let max_parallel = args.max_parallel.or(file.max_parallel).unwrap_or(DEFAULT_MAX_PARALLEL);
    if max_parallel == 0 {
        return Err(ZenError::Usage("--max-parallel must be at least 1".to_owned()));
    }
    let startup_delay = duration_arg("--startup-delay", args.startup_delay)?;
    Ok(Plan {
        instances,
        max_parallel,
        startup_delay,
        workspace,
        budget: budget_settings(args, &file.budget)?,
        claude_missing: needs_claude && claude_bin.is_none(),
    })
}

fn duration_arg(flag: &str, secs: f64) -> Result<Duration, ZenError> {
    if secs.is_finite() && secs >= 0.0 {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err(ZenError::Usage(format!(
            "{flag} must be a number of seconds, 0 or more"
        )))
    }
}

fn direct_name(prompt: &str) -> String {
    match privacy::slash_command_name(prompt) {
        Some(command) => command.trim_start_matches('/').replace(['/', ':'], "-"),
        None => "prompt".to_owned(),
    }
}

fn budget_settings(args: &RunOptions, file: &config::BudgetConfig) -> Result<budget::Settings, ZenError> {
    let mode = match (args.budget_mode, file.enforcement_mode.as_deref()) {
        (Some(mode), _) => mode,
        (None, Some("block")) => Mode::Block,
        _ => Mode::Warn,
    };
    let mut command_tokens = file.command_budgets.clone();
    for entry in &args.command_budget {
        let Some((command, tokens)) = entry.split_once('=') else {
            return Err(ZenError::Usage(format!(
                "--command-budget {entry:?}: expected /command=TOKENS"
            )));
        };
        let tokens: u64 = tokens.trim().parse().map_err(|_| {
            ZenError::Usage(format!(
                "--command-budget {entry:?}: {tokens:?} is not a whole number of tokens"
            ))
        })?;
        command_tokens.insert(command.trim().to_owned(), tokens);
    }
    let mut command_cost = file.command_cost_budgets.clone();
    for entry in &args.command_cost_budget {
        let Some((command, usd)) = entry.split_once('=') else {
            return Err(ZenError::Usage(format!(
                "--command-cost-budget {entry:?}: expected /command=USD"
            )));
        };
        let usd: f64 = usd
            .trim()
            .parse()
            .ok()
            .filter(|usd: &f64| usd.is_finite() && *usd >= 0.0)
            .ok_or_else(|| {
                ZenError::Usage(format!(
                    "--command-cost-budget {entry:?}: {usd:?} is not a number of USD, 0 or more"
                ))
            })?;
        command_cost.insert(command.trim().to_owned(), usd);
    }
    if let Some(cost) = args.overall_cost_budget
        && !(cost.is_finite() && cost >= 0.0)
    {
        return Err(ZenError::Usage(
            "--overall-cost-budget must be a number of USD, 0 or more".to_owned(),
        ));
    }
    let warn_fraction = match args.budget_warning_at {
        Some(percent) if !(percent.is_finite() && (0.0..=100.0).contains(&percent)) => {
            return Err(ZenError::Usage(format!(
                "--budget-warning-at {percent}: expected a percentage from 0 to 100 (100: no early warning)"
            )));
        }
        Some(percent) if percent >= 100.0 => None,
        Some(percent) => Some(percent / 100.0),
        None => Some(budget::DEFAULT_WARN_FRACTION),
    };
    let kinds = args
        .budget_parameter_type
        .or_else(|| file.budget_type.as_deref().and_then(budget::Kinds::parse))
        .unwrap_or(budget::Kinds::Mixed);
    Ok(budget::Settings {
        kinds,
        mode,
        overall_tokens: args.overall_token_budget.or(file.overall_budget),
        overall_cost: args.overall_cost_budget.or(file.overall_cost_budget),
        command_tokens,
        command_cost,
        warn_fraction,
    })
}

/// Turns one configured instance into the command to run: plain computation,
/// so it is held to objectives (zen's alerts watch them).
#[zen_telemetry::traced(
    "zen.command",
    attrs(zen.instance.index = index),
    objective(success = 99.9, latency_ms = 10)
)]
fn prepare_instance(
    instance: &InstanceConfig,
    index: usize,
    claude_bin: Option<&Path>,
    default_timeout: Option<Duration>,
) -> InstanceSpec {
    let name = instance
        .name
        .clone()
        .unwrap_or_else(|| format!("instance-{}", index + 1));
    let text = instance.command.as_deref().or(instance.prompt.as_deref());
    let command_name = text.and_then(privacy::slash_command_name);
    let timeout = instance.timeout_secs.map(Duration::from_secs_f64).or(default_timeout);
    let env = instance.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let session_hash = instance.session_id.as_deref().map(privacy::short_hash);
    let output_format = instance.output_format.as_deref();
    let spec = match &instance.program {
        Some(program) => InstanceSpec {
            name,
            kind: Kind::Program,
            program: PathBuf::from(program),
            args: instance.args.clone(),
            env,
            timeout,
            command_name,
            token_limit: instance.max_tokens_per_command,
            stream_json: output_format == Some("stream-json"),
            session_hash,
            description: instance.description.clone(),
            permission_mode: None,
        },
        None => {
            let prompt = claude::compose_prompt(
                text.unwrap_or_default(),
                instance.clear_history,
                instance.compact_history,
                &instance.pre_commands,
            );
            let output_format = output_format.unwrap_or(claude::DEFAULT_OUTPUT_FORMAT);
            let permission_mode = instance
                .permission_mode
                .as_deref()
                .unwrap_or(claude::DEFAULT_PERMISSION_MODE);
            let args = claude::arguments(&claude::Invocation {
                prompt: &prompt,
                output_format,
                permission_mode,
                allowed_tools: instance.allowed_tools.as_deref().unwrap_or_default(),
                session_id: instance.session_id.as_deref(),
            });
            InstanceSpec {
                name,
                kind: Kind::Claude,
                program: claude_bin.map_or_else(|| PathBuf::from("claude"), Path::to_owned),
                args,
                env,
                timeout,
                command_name,
                token_limit: instance.max_tokens_per_command,
                stream_json: matches!(output_format, "stream-json" | "json"),
                session_hash,
                description: instance.description.clone(),
                permission_mode: Some(permission_mode.to_owned()),
            }
        }
    };
    if let Some(command) = &spec.command_name {
        zen_telemetry::span_attributes!(zen.command.name = command.as_str());
    }
    zen_telemetry::span_attributes!(
        zen.instance.name = spec.name.as_str(),
        zen.instance.kind = spec.kind.as_str()
    );
    spec
}
