//! Configuration errors: the file, the line and column, the key.

mod common;

use common::*;

fn run_text(dir: &TempDir, name: &str, source: &str) -> (Option<i32>, String, String) {
    let path = dir.path(name);
    std::fs::write(&path, source).unwrap();
    let out = zen()
        .args(["run", "--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    (out.status.code(), text(&out.stderr), path.display().to_string())
}

#[test]
fn missing_file() {
    let dir = TempDir::new("missing");
    let path = dir.path("nope.json");
    let out = zen()
        .args(["run", "--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "zen: error: {}: cannot read the configuration file",
            path.display()
        )),
        "{stderr}"
    );
}

#[test]
fn invalid_json_with_line_and_column() {
    let dir = TempDir::new("badjson");
    let (code, stderr, path) = run_text(
        &dir,
        "bad.json",
        "{\n  \"instances\": [\n    {\"command\": \"/x\",}\n  ]\n}\n",
    );
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(&format!("{path}:3:22: invalid JSON: trailing comma")),
        "{stderr}"
    );
}

#[test]
fn unknown_key_is_named_with_its_file_line_and_column() {
    let dir = TempDir::new("unknown");
    let source = "{\n  \"// comment\": \"fine\",\n  \"instances\": [\n    {\"name\": \"a\", \"command\": \"/x\", \"// note\": 1},\n    {\"name\": \"b\", \"comand\": \"/y\"}\n  ]\n}\n";
    let (code, stderr, path) = run_text(&dir, "typo.json", source);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(&format!("{path}:5:19: unknown key \"comand\" in instances[1]")),
        "{stderr}"
    );
    assert!(stderr.contains("`command`"), "the expected keys are listed: {stderr}");
}

#[test]
fn unknown_budget_key() {
    let dir = TempDir::new("unknown-budget");
    let source = "{\"instances\": [{\"command\": \"/x\"}],\n \"budget\": {\"overal_budget\": 5}}";
    let (code, stderr, path) = run_text(&dir, "typo.json", source);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(&format!("{path}:2:13: unknown key \"overal_budget\" in budget")),
        "{stderr}"
    );
}

#[test]
fn neither_command_nor_prompt() {
    let dir = TempDir::new("neither");
    let (code, stderr, path) = run_text(&dir, "empty.json", "{\"instances\": [\n  {\"name\": \"idle\"}\n]}");
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(&format!(
            "{path}:2:3: instances[0] (\"idle\"): needs \"command\" or \"prompt\""
        )),
        "{stderr}"
    );
}

#[test]
fn wrong_value_type_points_at_the_instance() {
    let dir = TempDir::new("type");
    let (code, stderr, path) = run_text(
        &dir,
        "type.json",
        "{\"instances\": [\n  {\"command\": \"/x\", \"timeout_secs\": \"soon\"}\n]}",
    );
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(&format!("{path}:2:3: in instances[0]: invalid type")),
        "{stderr}"
    );
}

#[test]
fn nothing_to_run() {
    let out = zen().arg("run").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nothing to run"), "{}", text(&out.stderr));
}
