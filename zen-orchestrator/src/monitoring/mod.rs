//! `zen telemetry monitoring`: a Cloud Monitoring dashboard, alert policies
//! and a Prometheus rules file for any service that uses zen-telemetry,
//! generated from its per-function metrics, and applied with `--apply`.
//!
//! [`promql`] builds every query from the exporters' own names; [`alerts`]
//! defines the alerts once, and [`policies`] and [`rules`] spell them for
//! Cloud Monitoring and Prometheus; [`apply`] reconciles them with a project
//! through the Monitoring REST API (`api.rs`).

pub mod alerts;
mod api;
pub mod apply;
pub mod dashboard;
mod generate;
pub mod labels;
pub mod objectives;
pub mod policies;
pub mod promql;
pub mod rules;

pub use self::generate::{ApplyTarget, DEFAULT_ENDPOINT, Generated, MonitoringOptions, generate};

/// Runs the command; returns the exit code.
pub fn run(options: &MonitoringOptions) -> u8 {
    let generated = match generate(options) {
        Ok(generated) => generated,
        Err(message) => {
            eprintln!("zen: error: {message}");
            return 2;
        }
    };
    for note in &generated.notes {
        eprintln!("zen: note: {note}");
    }
    if let Err(message) = write_files(options, &generated) {
        eprintln!("zen: error: {message}");
        return 1;
    }
    match &options.apply {
        None => 0,
        Some(target) => match apply::apply(target, &generated) {
            Ok(report) => {
                print!("{report}");
                0
            }
            Err(message) => {
                eprintln!("zen: error: {message}");
                1
            }
        },
    }
}

fn write_files(options: &MonitoringOptions, generated: &Generated) -> Result<(), String> {
    let out = &options.out;
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    for (name, contents) in generated.files() {
        let path = out.join(&name);
        std::fs::write(&path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
