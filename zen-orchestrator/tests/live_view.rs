//! The live view as a person sees it: `zen run` on the demo inside tmux,
//! the screen read with `capture-pane` at two moments. On a terminal the
//! table is one block redrawn in place; after exit, and after Ctrl-C, the
//! terminal is back in normal mode with its cursor shown.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::TempDir;

const ZEN: &str = env!("CARGO_BIN_EXE_zen");

fn tmux_installed() -> bool {
    zen_tests::os_tool::require("tmux", "tmux", "the live view on a terminal")
}

/// One tmux server of our own (`-L`), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(tag: &str, dir: &Path, zen_args: &str) -> Tmux {
        let tmux = Tmux {
            socket: format!("zen-test-{}-{tag}", std::process::id()),
        };
        let demo = common::example("demo.json");
        let script = format!(
            "cd '{}' && env -u NO_COLOR TERM=xterm-256color ZEN_TELEMETRY_DISABLED=1 '{ZEN}' run --config '{}' \
             --startup-delay 0 -q {zen_args}; echo \"zen-exit=$?\"; sleep 120",
            dir.display(),
            demo.display()
        );
        let out = tmux.run(&["new-session", "-d", "-s", "zen", "-x", "150", "-y", "40", &script]);
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("start tmux")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "zen"]).stdout).into_owned()
    }

    fn display(&self, format: &str) -> String {
        let out = self.run(&["display-message", "-p", "-t", "zen", format]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The screen once `ready` holds, within `limit`.
    fn wait_for(&self, limit: Duration, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(start.elapsed() < limit, "gave up waiting; the screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The live table's lines: from its `zen: N/M done` line to the last budget or row line.
fn table(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .skip_while(|line| !(line.starts_with("zen: ") && line.ends_with(" done")))
        .take_while(|line| !line.trim().is_empty())
        .collect()
}

#[test]
fn the_table_is_redrawn_in_place_and_the_terminal_restored() {
    if !tmux_installed() {
        return;
    }
    let dir = TempDir::new("live-view");
    let tmux = Tmux::start("redraw", &dir.0, "");
    let first = tmux.wait_for(Duration::from_secs(20), |s| s.contains("LAST OUTPUT"));
    let first_table: Vec<String> = table(&first).into_iter().map(str::to_owned).collect();
    assert_eq!(
        first_table.len(),
        1 + 1 + 6,
        "heading, header and the demo's 6 rows:\n{first}"
    );
    let second = tmux.wait_for(Duration::from_secs(20), |s| {
        let now = table(s);
        !now.is_empty() && now != first_table.iter().map(String::as_str).collect::<Vec<_>>()
    });
    let second_table = table(&second);
    if !second.contains("zen-exit=") {
        assert_eq!(
            second.matches("LAST OUTPUT").count(),
            1,
            "one table, redrawn in place:\n{second}"
        );
        assert_eq!(
            second_table.len(),
            first_table.len(),
            "the same lines, other cells:\n{second}"
        );
    }
    let done = tmux.wait_for(Duration::from_secs(30), |s| s.contains("zen-exit="));
    assert!(done.contains("zen-exit=1"), "the demo has failures:\n{done}");
    assert!(done.contains("final status"), "{done}");
    assert!(!done.contains("LAST OUTPUT"), "the live table is gone:\n{done}");
    assert_eq!(tmux.display("#{cursor_flag}"), "1", "the cursor is shown again");
    assert_eq!(tmux.display("#{alternate_on}"), "0", "never left the normal screen");
}

#[test]
fn after_ctrl_c_the_terminal_is_restored() {
    if !tmux_installed() {
        return;
    }
    let dir = TempDir::new("live-view-ctrl-c");
    let tmux = Tmux::start("ctrl-c", &dir.0, "");
    tmux.wait_for(Duration::from_secs(20), |s| s.contains("LAST OUTPUT"));
    assert_eq!(tmux.display("#{cursor_flag}"), "0", "hidden while the table is live");
    let out = tmux.run(&["send-keys", "-t", "zen", "C-c"]);
    assert!(out.status.success());
    let done = tmux.wait_for(Duration::from_secs(20), |s| s.contains("zen-exit="));
    assert!(done.contains("zen-exit=130"), "{done}");
    assert!(done.contains("final status (interrupted)"), "{done}");
    assert_eq!(tmux.display("#{cursor_flag}"), "1", "the cursor is shown again");
}

// The demo's programs are `sh` (Windows runs demo-windows.json in tests/run.rs).
#[cfg(unix)]
#[test]
fn off_a_terminal_the_table_is_periodic_lines() {
    let demo = common::example("demo.json");
    let out = Command::new(ZEN)
        .args(["run", "--config"])
        .arg(&demo)
        .args(["--startup-delay", "0", "--status-interval", "0.5", "-q"])
        .env("ZEN_TELEMETRY_DISABLED", "1")
        .output()
        .expect("run zen");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("zen: status\nINSTANCE "), "{stderr}");
    assert!(!stderr.contains('\x1b'), "no escape codes off a terminal: {stderr:?}");
}
