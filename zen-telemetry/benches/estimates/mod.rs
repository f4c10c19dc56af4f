//! Criterion's estimates, read back for the ratio tables the benches print.

/// Where criterion writes its estimates, in its own order: `CRITERION_HOME`,
/// `CARGO_TARGET_DIR`, the target directory `cargo metadata` names (this
/// workspace's, when run from inside it), else `./target/criterion`.
pub(crate) fn criterion_dir() -> String {
    if let Ok(home) = std::env::var("CRITERION_HOME") {
        return home;
    }
    if let Ok(target) = std::env::var("CARGO_TARGET_DIR") {
        return format!("{target}/criterion");
    }
    let workspace = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let inside = match (std::env::current_dir(), workspace.canonicalize()) {
        (Ok(here), Ok(workspace)) => here.starts_with(workspace),
        _ => false,
    };
    if inside {
        format!("{}/target/criterion", workspace.display())
    } else {
        "target/criterion".to_owned()
    }
}

/// The median of bench `name`, in nanoseconds.
pub(crate) fn median_ns(dir: &str, name: &str) -> Option<f64> {
    let path = format!("{dir}/{name}/new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}
