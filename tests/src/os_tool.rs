//! Tests that need a tool of the operating system (tmux, Chromium): on a
//! developer's machine without it they are skipped with one plain line
//! saying what was not checked and the command that installs it; under
//! `CI=true`, as `.ci/run` runs them, a missing tool fails the test, so CI
//! never skips them.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// True when `program` is on `PATH`. Otherwise: fails the test under
/// `CI=true`; else says once per test binary that `checks` were skipped and
/// that `apt-get install {package}` brings the tool, and returns false.
pub fn require(program: &str, package: &str, checks: &str) -> bool {
    require_installed_by(program, &format!("apt-get install -y {package}"), checks)
}

/// [`require`], for a tool another package manager brings: `install` is
/// the command that does.
pub fn require_installed_by(program: &str, install: &str, checks: &str) -> bool {
    if on_path(program) {
        return true;
    }
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!("{program} is not installed, and CI must run {checks}: {install}");
    }
    static SAID: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !said.iter().any(|name| name == program) {
        said.push(program.to_owned());
        // Straight to stderr: the test harness hides what passing tests print.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: {checks}: {program} is not installed ({install})"
        );
    }
    false
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| is_executable(&dir.join(program))))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file() || path.with_extension("exe").is_file()
}
