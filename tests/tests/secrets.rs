//! No credential is ever committed: every file tracked by git is scanned for
//! private keys (PEM blocks, service-account JSON) and OAuth refresh tokens.
//!
//! The needles are assembled at run time so this file does not match itself.

use std::path::{Path, PathBuf};
use std::process::Command;

use zen_tests::TempDir;

/// What was found, and where.
#[derive(Debug, PartialEq)]
struct Finding {
    path: PathBuf,
    line: usize,
    what: &'static str,
}

/// The findings in one file's text.
fn scan_text(path: &Path, text: &str) -> Vec<Finding> {
    let begin = ["BEG", "IN"].concat();
    let private_key = ["PRIVATE", " KEY"].concat();
    let json_keys: [(String, &'static str); 2] = [
        (["\"private", "_key\""].concat(), "a \"private_key\" JSON field"),
        (["\"refresh", "_token\""].concat(), "a \"refresh_token\" JSON field"),
    ];
    let mut findings = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut found = |what| {
            findings.push(Finding {
                path: path.to_owned(),
                line: index + 1,
                what,
            })
        };
        if let Some(at) = line.find(&begin)
            && line[at..].contains(&private_key)
        {
            found("a PEM private key block");
        }
        for (key, what) in &json_keys {
            // Spaces between the key and its colon still make it the same field.
            let is_field = line
                .match_indices(key.as_str())
                .any(|(at, _)| line[at + key.len()..].trim_start().starts_with(':'));
            if is_field {
                found(what);
            }
        }
    }
    findings
}

/// The findings in one file; unreadable files are reported, not skipped.
fn scan_file(path: &Path) -> Result<Vec<Finding>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(scan_text(path, &String::from_utf8_lossy(&bytes)))
}

/// Files tracked by git under `root`, or why they could not be listed.
fn tracked_files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let output = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "git ls-files failed in {}: {}",
            root.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(output
        .stdout
        .split(|&b| b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| root.join(String::from_utf8_lossy(name).as_ref()))
        .collect())
}

fn scan_repository(root: &Path) -> Result<Vec<Finding>, String> {
    let mut findings = Vec::new();
    for path in tracked_files(root)? {
        // A tracked file deleted in the working tree has nothing to leak.
        if path.is_file() {
            findings.extend(scan_file(&path)?);
        }
    }
    Ok(findings)
}

#[test]
fn no_tracked_file_holds_a_private_key_or_refresh_token() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    match scan_repository(&root) {
        Ok(findings) => assert!(
            findings.is_empty(),
            "credentials in tracked files (remove them and rotate the credential):\n{findings:#?}"
        ),
        // Outside a checkout (a source tarball) there is nothing tracked to scan;
        // CI always has a checkout, so there it must not pass silently.
        Err(why) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: tracked-files secret scan: {why}")
        }
        Err(why) => panic!("the secret scan must run in CI: {why}"),
    }
}

#[test]
fn the_scanner_finds_each_kind_of_secret() {
    let temp = TempDir::new("secrets-scanner");
    let dir = temp.path();
    let pem = dir.join("id_rsa");
    let dashes = "-----";
    let text = format!(
        "{dashes}{} RSA {} {dashes}\nMIIEow\n",
        ["BEG", "IN"].concat(),
        ["PRIVATE", " KEY"].concat()
    );
    std::fs::write(&pem, text).unwrap();
    let found = scan_file(&pem).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].line, found[0].what), (1, "a PEM private key block"));

    let json = dir.join("service-account.json");
    let body = format!(
        "{{\n  \"type\": \"service_account\",\n  {}: \"x\",\n  {} : \"y\"\n}}\n",
        ["\"private", "_key\""].concat(),
        ["\"refresh", "_token\""].concat()
    );
    std::fs::write(&json, body).unwrap();
    let found: Vec<_> = scan_file(&json)
        .unwrap()
        .into_iter()
        .map(|f| (f.line, f.what))
        .collect();
    assert_eq!(
        found,
        [
            (3, "a \"private_key\" JSON field"),
            (4, "a \"refresh_token\" JSON field")
        ]
    );

    // Mentions that are not secrets: prose, an id field, a key name as a value.
    let clean = dir.join("clean.md");
    let mentions = format!(
        "{} a key\nprivate_key_id: 1\n\"note\": {}\n",
        ["BEG", "IN"].concat(),
        ["\"private", "_key\""].concat()
    );
    std::fs::write(&clean, mentions).unwrap();
    assert_eq!(scan_file(&clean).unwrap(), []);
}

#[test]
fn a_committed_key_fails_the_repository_scan() {
    let temp = TempDir::new("secrets-repo");
    let dir = temp.path();
    let git = |args: &[&str]| Command::new("git").args(args).current_dir(dir).output();
    match git(&["init", "-q"]) {
        Ok(output) if output.status.success() => {}
        other => {
            assert!(std::env::var_os("CI").is_none(), "git is needed in CI: {other:?}");
            eprintln!("SKIPPED: git unavailable: {other:?}");
            return;
        }
    }
    std::fs::write(dir.join("README.md"), "nothing here\n").unwrap();
    let leaked = format!("{{{}: \"1//0g\"}}\n", ["\"refresh", "_token\""].concat());
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::write(dir.join("config/creds.json"), leaked).unwrap();
    // Untracked files are not the scan's business: only what would be pushed.
    std::fs::write(
        dir.join("untracked.json"),
        format!("{}:1", ["\"private", "_key\""].concat()),
    )
    .unwrap();
    assert!(
        git(&["add", "README.md", "config/creds.json"])
            .unwrap()
            .status
            .success()
    );

    let findings = scan_repository(dir).unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].path.ends_with("config/creds.json"));
}
