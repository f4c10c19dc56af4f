//! The plan as `--dry-run` prints it: every command line, shell-quoted, and
//! the budgets; environment variable names but never their values.

use super::model::Plan;
use crate::budget::Kinds;
use crate::claude;

/// The plan as text, for `--dry-run`. Environment values are not shown.
pub fn describe(plan: &Plan) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "zen: dry run: {} instance(s), at most {} at a time, {}s between launches, in {}\n",
        plan.instances.len(),
        plan.max_parallel,
        plan.startup_delay.as_secs_f64(),
        plan.workspace.display()
    ));
    if plan.claude_missing {
        out.push_str(&format!("zen: warning: {}\n", claude::NotFound));
    }
    let b = &plan.budget;
    if b.any() {
        out.push_str(&format!("budget ({}):", b.mode.as_str()));
        if let Some(tokens) = b.overall_tokens {
            out.push_str(&format!(" overall {tokens} tokens;"));
        }
        if let Some(cost) = b.overall_cost {
            out.push_str(&format!(" overall ${cost:.2};"));
        }
        for (command, tokens) in &b.command_tokens {
            out.push_str(&format!(" {command} {tokens} tokens;"));
        }
        for (command, cost) in &b.command_cost {
            out.push_str(&format!(" {command} ${cost:.2};"));
        }
        match b.kinds {
            Kinds::Tokens => out.push_str(" token budgets only;"),
            Kinds::Cost => out.push_str(" cost budgets only;"),
            Kinds::Mixed => {}
        }
        if let Some(fraction) = b.warn_fraction {
            out.push_str(&format!(" warning at {:.0} %;", fraction * 100.0));
        }
        out.push('\n');
    }
    for (index, spec) in plan.instances.iter().enumerate() {
        out.push_str(&format!("{}. {} ({})", index + 1, spec.name, spec.kind.as_str()));
        if let Some(description) = &spec.description {
            out.push_str(&format!(" - {description}"));
        }
        out.push('\n');
        let mut line = shell_quote(&spec.program.to_string_lossy());
        for arg in &spec.args {
            line.push(' ');
            line.push_str(&shell_quote(arg));
        }
        out.push_str(&format!("   $ {line}\n"));
        let mut facts = Vec::new();
        if let Some(timeout) = spec.timeout {
            facts.push(format!("timeout {:.1}s", timeout.as_secs_f64()));
        }
        if let Some(limit) = spec.token_limit {
            facts.push(format!("max {limit} tokens"));
        }
        if !spec.env.is_empty() {
            let keys: Vec<&str> = spec.env.iter().map(|(k, _)| k.as_str()).collect();
            facts.push(format!("env {}", keys.join(", ")));
        }
        if !facts.is_empty() {
            out.push_str(&format!("   {}\n", facts.join("; ")));
        }
    }
    out.push_str("zen: dry run: nothing was started\n");
    out
}

fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ',' | ':' | '=' | '+'));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::budget::{Mode, Settings};
    use crate::plan::model::InstanceSpec;

    fn plan_with(spec: InstanceSpec, budget: Settings) -> Plan {
        Plan {
            instances: vec![spec],
            max_parallel: 3,
            startup_delay: Duration::from_millis(250),
            workspace: PathBuf::from("/srv/work"),
            budget,
            claude_missing: false,
        }
    }

    fn build_spec() -> InstanceSpec {
        InstanceSpec {
            env: vec![("API_TOKEN".to_owned(), "s3cret".to_owned())],
            timeout: Some(Duration::from_secs(2)),
            token_limit: Some(100),
            description: Some("compiles".to_owned()),
            ..InstanceSpec::test_program("build", "sh", &["-c", "echo 'hi' there"])
        }
    }

    #[test]
    fn the_dry_run_shows_budgets_quoted_commands_and_env_names_only() {
        let budget = Settings {
            mode: Mode::Block,
            overall_tokens: Some(1000),
            overall_cost: Some(2.5),
            command_tokens: BTreeMap::from([("/review".to_owned(), 10)]),
            command_cost: BTreeMap::from([("/review".to_owned(), 0.5)]),
            warn_fraction: Some(0.8),
            kinds: Kinds::Mixed,
        };
        let text = describe(&plan_with(build_spec(), budget));
        assert_eq!(
            text,
            "zen: dry run: 1 instance(s), at most 3 at a time, 0.25s between launches, in /srv/work\n\
             budget (block): overall 1000 tokens; overall $2.50; /review 10 tokens; /review $0.50; warning at 80 %;\n\
             1. build (program) - compiles\n   $ sh -c 'echo '\\''hi'\\'' there'\n\
             \x20  timeout 2.0s; max 100 tokens; env API_TOKEN\n\
             zen: dry run: nothing was started\n"
        );
        assert!(!text.contains("s3cret"));
    }

    #[test]
    fn no_budget_line_without_budgets_and_a_warning_when_claude_is_missing() {
        let mut plan = plan_with(build_spec(), Settings::default());
        plan.claude_missing = true;
        let text = describe(&plan);
        assert!(!text.contains("budget ("), "{text}");
        assert!(
            text.contains(&format!("zen: warning: {}\n", claude::NotFound)),
            "{text}"
        );
    }

    #[test]
    fn shell_quote_leaves_plain_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("a=b,c:d+e/f.g_h-i"), "a=b,c:d+e/f.g_h-i");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("two words"), "'two words'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
    }
}
