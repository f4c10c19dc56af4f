//! Where instances run when `--workspace` is not given: the nearest directory,
//! from the current one upward, that holds one of Python Zen's project
//! markers, so `zen` started in `project/src/` runs in `project/`. Without
//! any, the current directory.

use std::path::{Path, PathBuf};

/// Python Zen's markers of a project root.
pub const MARKERS: [&str; 6] = [
    ".git",
    ".claude",
    "package.json",
    "setup.py",
    "pyproject.toml",
    "Cargo.toml",
];

/// The workspace for a run started in `start`, and the marker that chose it.
pub fn detect(start: &Path) -> (PathBuf, Option<&'static str>) {
    for dir in start.ancestors() {
        if let Some(marker) = MARKERS.iter().find(|marker| dir.join(marker).exists()) {
            return (dir.to_path_buf(), Some(marker));
        }
    }
    (start.to_path_buf(), None)
}

/// `--workspace` when given (it must be a directory), else the one
/// [`detect`] finds from the current directory.
pub fn resolve(given: Option<&Path>) -> Result<PathBuf, String> {
    match given {
        Some(dir) if dir.is_dir() => Ok(dir.to_path_buf()),
        Some(dir) => Err(format!("--workspace {}: not a directory", dir.display())),
        None => std::env::current_dir()
            .map(|here| detect(&here).0)
            .map_err(|e| format!("no current directory: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tree(PathBuf);

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn tree(tag: &str) -> Tree {
        let root = std::env::temp_dir().join(format!("zen-workspace-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("project/src/deep")).expect("dirs");
        Tree(root)
    }

    #[test]
    fn a_subdirectory_finds_its_project_root() {
        let tree = tree("root");
        let project = tree.0.join("project");
        std::fs::create_dir(project.join(".claude")).expect(".claude");
        assert_eq!(detect(&project.join("src/deep")), (project.clone(), Some(".claude")));
        assert_eq!(detect(&project), (project, Some(".claude")));
    }

    #[test]
    fn the_nearest_marker_wins() {
        let tree = tree("nearest");
        let project = tree.0.join("project");
        std::fs::create_dir(project.join(".git")).expect(".git");
        std::fs::write(project.join("src/Cargo.toml"), "").expect("Cargo.toml");
        assert_eq!(
            detect(&project.join("src/deep")),
            (project.join("src"), Some("Cargo.toml"))
        );
    }
}
