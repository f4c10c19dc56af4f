//! `--list-commands` and `--inspect-command NAME`: the workspace's Claude Code
//! slash commands (`.claude/commands/*.md`, not recursive) and their YAML
//! frontmatter, printed as Python Zen prints them. Unlike Python Zen, a file
//! with Windows line endings has its frontmatter read too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

/// Claude Code's own commands, which have no file.
pub const BUILT_INS: [&str; 3] = ["/clear", "/compact", "/help"];
/// How much of a command's body `--inspect-command` shows.
const PREVIEW_CHARS: usize = 200;
const RULE: &str = "==================================================";

/// One slash command.
#[derive(Debug, Clone, PartialEq)]
pub struct SlashCommand {
    /// `/name`.
    pub name: String,
    /// Its file; `None` for a built-in.
    pub file: Option<PathBuf>,
    /// The frontmatter's keys and values, as text.
    pub frontmatter: BTreeMap<String, String>,
    /// The body after the frontmatter.
    pub body: String,
    /// Why the frontmatter could not be read, when it could not.
    pub problem: Option<String>,
}

/// Every command of `workspace`, built-ins included, sorted by name.
pub fn discover(workspace: &Path) -> Vec<SlashCommand> {
    let mut commands: Vec<SlashCommand> = BUILT_INS
        .iter()
        .map(|name| SlashCommand {
            name: (*name).to_owned(),
            file: None,
            frontmatter: BTreeMap::new(),
            body: String::new(),
            problem: None,
        })
        .collect();
    let dir = workspace.join(".claude").join("commands");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md") && path.is_file())
        .collect();
    files.sort();
    for path in files {
        let Some(stem) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let (frontmatter, body, problem) = split_frontmatter(&text);
        let name = format!("/{stem}");
        commands.retain(|c| c.name != name);
        commands.push(SlashCommand {
            name,
            file: Some(path),
            frontmatter,
            body,
            problem,
        });
    }
    commands.sort_by(|a, b| a.name.cmp(&b.name));
    commands
}

/// The frontmatter between a first line `---` and the next `---`, the body
/// after it, and why the YAML was unreadable, if it was.
fn split_frontmatter(text: &str) -> (BTreeMap<String, String>, String, Option<String>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    if lines.next().map(str::trim_end) != Some("---") {
        return (BTreeMap::new(), text.to_owned(), None);
    }
    let mut yaml = String::new();
    let mut closed = false;
    for line in lines.by_ref() {
        if line.trim_end() == "---" {
            closed = true;
            break;
        }
        yaml.push_str(line);
    }
    if !closed {
        return (
            BTreeMap::new(),
            text.to_owned(),
            Some("the frontmatter has no closing ---".to_owned()),
        );
    }
    let body: String = lines.collect();
    match YamlLoader::load_from_str(&yaml) {
        Ok(documents) => {
            let mut fields = BTreeMap::new();
            if let Some(Yaml::Hash(hash)) = documents.first() {
                for (key, value) in hash {
                    if let Some(key) = scalar(key) {
                        fields.insert(key, scalar(value).unwrap_or_else(|| format!("{value:?}")));
                    }
                }
            }
            (fields, body, None)
        }
        Err(error) => (
            BTreeMap::new(),
            body,
            Some(format!("invalid YAML frontmatter: {error}")),
        ),
    }
}

fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(text) | Yaml::Real(text) => Some(text.clone()),
        Yaml::Integer(number) => Some(number.to_string()),
        Yaml::Boolean(flag) => Some(flag.to_string()),
        Yaml::Array(items) => Some(items.iter().filter_map(scalar).collect::<Vec<_>>().join(", ")),
        Yaml::Null => Some(String::new()),
        _ => None,
    }
}

/// `--list-commands`' text.
pub fn list(commands: &[SlashCommand]) -> String {
    let mut out = format!("Available Slash Commands:\n{RULE}\n");
    for command in commands {
        let description = match &command.file {
            None => "Built-in command",
            Some(_) => command
                .frontmatter
                .get("description")
                .map_or("No description available", String::as_str),
        };
        out.push_str(&format!("{:25} - {description}\n", command.name));
    }
    out
}

/// `--inspect-command NAME`'s text (`NAME` with or without `/`, arguments
/// ignored); `None` when there is no such file.
pub fn inspect(commands: &[SlashCommand], name: &str) -> Option<String> {
    let bare = name
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_start_matches('/');
    let command = commands
        .iter()
        .find(|c| c.file.is_some() && c.name.trim_start_matches('/') == bare)?;
    let mut out = format!("Command: {name}\n{RULE}\n");
    if let Some(file) = &command.file {
        out.push_str(&format!("File: {}\n", file.display()));
    }
    if let Some(problem) = &command.problem {
        out.push_str(&format!("Warning: {problem}\n"));
    }
    if !command.frontmatter.is_empty() {
        out.push_str("Configuration:\n");
        for (key, value) in &command.frontmatter {
            out.push_str(&format!("  {key}: {value}\n"));
        }
    }
    let preview: String = command.body.chars().take(PREVIEW_CHARS).collect();
    let more = if command.body.chars().count() > PREVIEW_CHARS {
        "..."
    } else {
        ""
    };
    out.push_str(&format!("\nContent Preview:\n{preview}{more}\n"));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Workspace(PathBuf);

    impl Drop for Workspace {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn workspace(tag: &str, files: &[(&str, &str)]) -> Workspace {
        let root = std::env::temp_dir().join(format!("zen-commands-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = root.join(".claude/commands");
        std::fs::create_dir_all(dir.join("nested")).expect("dirs");
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("write");
        }
        Workspace(root)
    }

    #[test]
    fn commands_are_listed_with_their_descriptions_and_the_built_ins() {
        let ws = workspace(
            "list",
            &[
                (
                    "review.md",
                    "---\ndescription: Review the diff\nallowed-tools: [Read, Grep]\n---\nReview $ARGUMENTS\n",
                ),
                ("plain.md", "No frontmatter here."),
                ("windows.md", "---\r\ndescription: \"CRLF lines\"\r\n---\r\nbody\r\n"),
                ("notes.txt", "not a command"),
            ],
        );
        let commands = discover(&ws.0);
        let names: Vec<&str> = commands.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["/clear", "/compact", "/help", "/plain", "/review", "/windows"]);
        assert_eq!(
            list(&commands),
            format!(
                "Available Slash Commands:\n{RULE}\n\
                 /clear                    - Built-in command\n\
                 /compact                  - Built-in command\n\
                 /help                     - Built-in command\n\
                 /plain                    - No description available\n\
                 /review                   - Review the diff\n\
                 /windows                  - CRLF lines\n"
            )
        );
    }

    #[test]
    fn inspect_shows_every_key_and_a_preview() {
        let long_body = "x".repeat(300);
        let ws = workspace(
            "inspect",
            &[
                (
                    "review.md",
                    "---\ndescription: Review\nmodel: opus\n---\nReview $ARGUMENTS\n",
                ),
                ("long.md", &format!("---\ndescription: [unclosed\n---\n{long_body}")),
            ],
        );
        let commands = discover(&ws.0);
        let text = inspect(&commands, "/review src --strict").expect("found");
        assert!(text.starts_with("Command: /review src --strict\n"), "{text}");
        assert!(
            text.contains("Configuration:\n  description: Review\n  model: opus\n"),
            "{text}"
        );
        assert!(text.ends_with("\nContent Preview:\nReview $ARGUMENTS\n\n"), "{text}");
        let long = inspect(&commands, "long").expect("found without the slash");
        assert!(long.contains("Warning: invalid YAML frontmatter"), "{long}");
        assert!(long.contains(&format!("{}...", "x".repeat(200))), "{long}");
        assert_eq!(inspect(&commands, "/help"), None, "built-ins have no file");
        assert_eq!(inspect(&commands, "/nope"), None);
    }
}
