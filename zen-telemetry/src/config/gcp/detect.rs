//! The cheap part of Google Cloud detection: variables while the program
//! loads, and the local files they point at when the pipeline starts (never
//! before `main`, never while telemetry is disabled). The metadata server is
//! asked later, on the export thread (`exporter::gcp`).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::settings::{
    CredentialsSource, DEFAULT_ENDPOINT, DEFAULT_METADATA_HOST, GcpProject, GcpSettings, PendingFiles, ProjectSource,
};
use crate::config::env::{ConfigWarning, parse_flag};

/// Project variables, first hit wins (the order Google's client libraries use).
const PROJECT_VARIABLES: [&str; 3] = ["GOOGLE_CLOUD_PROJECT", "GCP_PROJECT", "GCLOUD_PROJECT"];
const ADC_FILE: &str = "application_default_credentials.json";
const ADC_LABEL: &str = "gcloud application default credentials";
const GCLOUD_CONFIG_LABEL: &str = "gcloud configuration";

/// Reads the Google Cloud settings the variables give, adding a warning for
/// each invalid value. Opens no file: the files the variables point at (a
/// credentials file, the gcloud configuration) are noted in
/// `GcpSettings::pending` and read by [`read_files`] when the pipeline starts.
pub(crate) fn detect(lookup: &dyn Fn(&str) -> Option<String>, warnings: &mut Vec<ConfigWarning>) -> GcpSettings {
    let var = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let mut warn = |variable: &'static str, value: String, expected: String| {
        warnings.push(ConfigWarning::new(variable, value, expected));
    };
    let mut settings = GcpSettings::default();

    if let Some(endpoint) = var("ZEN_TELEMETRY_GCP_ENDPOINT") {
        if valid_endpoint(&endpoint) {
            settings.endpoint = endpoint.trim_end_matches('/').to_owned();
        } else {
            warn(
                "ZEN_TELEMETRY_GCP_ENDPOINT",
                endpoint,
                format!("an https:// URL (http:// only for a loopback address); using {DEFAULT_ENDPOINT}"),
            );
        }
    }
    if let Some(raw) = var("NO_GCE_CHECK") {
        match parse_flag(&raw) {
            Some(skip) => settings.metadata_check = !skip,
            None => warn("NO_GCE_CHECK", raw, "true or false; using false".to_owned()),
        }
    }
    if let Some(host) = var("GCE_METADATA_HOST") {
        if host.contains(['/', ' ', '\t', '@', '?', '#']) {
            warn(
                "GCE_METADATA_HOST",
                host,
                format!("a host or host:port; using {DEFAULT_METADATA_HOST}"),
            );
        } else {
            settings.metadata_host = host;
        }
    }

    for name in PROJECT_VARIABLES {
        if let Some(id) = var(name).and_then(|id| checked_project(name, id, &mut warn)) {
            settings.project = Some(GcpProject {
                id,
                source: ProjectSource::Variable(name),
            });
            break;
        }
    }
    settings.user_credentials_path = var("HOME").map(|home| Path::new(&home).join(".config/gcloud").join(ADC_FILE));
    let gcloud_dir = var("CLOUDSDK_CONFIG")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| Path::new(&home).join(".config").join("gcloud")));
    let pending = PendingFiles {
        credentials: var("GOOGLE_APPLICATION_CREDENTIALS").map(PathBuf::from),
        gcloud_dir,
        core_project: var("CLOUDSDK_CORE_PROJECT")
            .and_then(|id| checked_project("CLOUDSDK_CORE_PROJECT", id, &mut warn)),
        active_config: var("CLOUDSDK_ACTIVE_CONFIG_NAME"),
    };
    settings.credentials = default_credentials(settings.metadata_check);
    if pending.credentials.is_some() || pending.gcloud_dir.is_some() {
        settings.pending = Some(pending);
    } else if settings.project.is_none()
        && let Some(id) = pending.core_project
    {
        settings.project = Some(GcpProject {
            id,
            source: ProjectSource::Variable("CLOUDSDK_CORE_PROJECT"),
        });
    }
    settings
}

fn default_credentials(metadata_check: bool) -> CredentialsSource {
    if metadata_check {
        CredentialsSource::MetadataServer
    } else {
        CredentialsSource::None
    }
}

/// Reads the files [`detect`] noted: the credentials file (its type and
/// project, never its secrets) and the active gcloud configuration's
/// project, in the order Google's client libraries use. A project set
/// before (in code or by a variable) is kept. Reading twice reads nothing.
pub(crate) fn read_files(settings: &mut GcpSettings, warnings: &mut Vec<ConfigWarning>) {
    let Some(pending) = settings.pending.take() else {
        return;
    };
    let credentials = match &pending.credentials {
        Some(path) => read_credentials(path, "GOOGLE_APPLICATION_CREDENTIALS", warnings),
        None => pending
            .gcloud_dir
            .as_ref()
            .map(|dir| dir.join(ADC_FILE))
            .filter(|path| path.is_file())
            .and_then(|path| read_credentials(&path, ADC_LABEL, warnings)),
    };
    if settings.project.is_none()
        && let Some(file) = &credentials
        && let Some(id) = file.project.clone()
    {
        if valid_project_id(&id) {
            settings.project = Some(GcpProject {
                id,
                source: ProjectSource::CredentialsFile(file.path.clone()),
            });
        } else {
            warnings.push(
                ConfigWarning::new(file.found_by, id, PROJECT_ID_EXPECTED.to_owned())
                    .in_file(&file.path, file.project_field),
            );
        }
    }
    if settings.project.is_none()
        && let Some(id) = pending.core_project
    {
        settings.project = Some(GcpProject {
            id,
            source: ProjectSource::Variable("CLOUDSDK_CORE_PROJECT"),
        });
    }
    if settings.project.is_none()
        && let Some(dir) = &pending.gcloud_dir
    {
        settings.project = gcloud_config_project(dir, pending.active_config, warnings);
    }
    settings.credentials = match credentials {
        Some(file) => CredentialsSource::File {
            path: file.path,
            found_by: file.found_by,
            kind: file.kind,
        },
        None => default_credentials(settings.metadata_check),
    };
}

/// What a credentials file says, without its secrets.
struct CredentialsFile {
    path: PathBuf,
    found_by: &'static str,
    kind: String,
    project: Option<String>,
    /// The field the project came from.
    project_field: &'static str,
}

fn read_credentials(path: &Path, found_by: &'static str, warnings: &mut Vec<ConfigWarning>) -> Option<CredentialsFile> {
    let mut warn = |expected: String| {
        warnings.push(ConfigWarning::new(found_by, path.display().to_string(), expected));
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            warn(format!("a readable JSON credentials file ({error})"));
            return None;
        }
    };
    let json: serde_json::Value = match serde_json::from_str(&text) {
        Ok(json) => json,
        Err(error) => {
            warn(format!("a JSON credentials file ({error})"));
            return None;
        }
    };
    let Some(fields) = json.as_object() else {
        warn("a JSON object with a \"type\" field".to_owned());
        return None;
    };
    let string_field = |name: &str| fields.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let kind = match string_field("type") {
        Some(kind) if kind == "service_account" || kind == "authorized_user" => kind,
        Some(kind) => {
            warn(format!(
                "field \"type\" to be service_account or authorized_user, found {kind:?} (not supported)"
            ));
            return None;
        }
        None => {
            warn("field \"type\" (a string: service_account or authorized_user)".to_owned());
            return None;
        }
    };
    let required: &[&str] = if kind == "service_account" {
        &["client_email", "private_key", "token_uri"]
    } else {
        &["client_id", "client_secret", "refresh_token"]
    };
    if let Some(missing) = required.iter().find(|name| string_field(name).is_none()) {
        warn(format!("field \"{missing}\" (a string) in a {kind} credentials file"));
        return None;
    }
    for name in PROJECT_FIELDS {
        if fields.get(name).is_some_and(|v| !v.is_string() && !v.is_null()) {
            warn(format!("field \"{name}\" to be a string; ignoring it"));
        }
    }
    let project = PROJECT_FIELDS
        .into_iter()
        .find_map(|name| string_field(name).map(|id| (id, name)));
    Some(CredentialsFile {
        path: path.to_path_buf(),
        found_by,
        project_field: project.as_ref().map_or(PROJECT_FIELDS[0], |(_, name)| name),
        project: project.map(|(id, _)| id),
        kind,
    })
}

/// The fields of a credentials file that may name a project, first wins.
const PROJECT_FIELDS: [&str; 2] = ["project_id", "quota_project_id"];

/// `[core] project` of the active gcloud configuration.
fn gcloud_config_project(
    dir: &Path,
    active_from_env: Option<String>,
    warnings: &mut Vec<ConfigWarning>,
) -> Option<GcpProject> {
    let active = active_from_env
        .or_else(|| {
            std::fs::read_to_string(dir.join("active_config"))
                .ok()
                .map(|s| s.trim().to_owned())
        })
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "default".to_owned());
    if active.contains(['/', '\\']) || active.starts_with('.') {
        return None;
    }
    let path = dir.join("configurations").join(format!("config_{active}"));
    let text = std::fs::read_to_string(&path).ok()?;
    let id = ini_value(&text, "core", "project")?;
    if !valid_project_id(&id) {
        warnings.push(
            ConfigWarning::new(GCLOUD_CONFIG_LABEL, id, format!("{PROJECT_ID_EXPECTED} in [core]"))
                .in_file(&path, "project"),
        );
        return None;
    }
    Some(GcpProject {
        id,
        source: ProjectSource::GcloudConfig(path),
    })
}

/// The value of `key` in `[section]` of an INI text.
fn ini_value(text: &str, section: &str, key: &str) -> Option<String> {
    let mut in_section = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') && line.ends_with(']') {
            in_section = line[1..line.len() - 1].trim() == section;
        } else if in_section
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            return Some(v.trim().to_owned());
        }
    }
    None
}

const PROJECT_ID_EXPECTED: &str =
    "a project id (6-30 lowercase letters, digits or hyphens, optionally after \"domain.com:\"); ignoring it";

fn checked_project(
    source: &'static str,
    id: String,
    warn: &mut impl FnMut(&'static str, String, String),
) -> Option<String> {
    if valid_project_id(&id) {
        Some(id)
    } else {
        warn(source, id, PROJECT_ID_EXPECTED.to_owned());
        None
    }
}

/// Whether `id` is a Google Cloud project id: 6–30 lowercase letters,
/// digits and hyphens, optionally after `domain.com:`.
pub fn valid_project_id(id: &str) -> bool {
    let (domain, name) = match id.split_once(':') {
        Some((domain, name)) => (Some(domain), name),
        None => (None, id),
    };
    let domain_ok = domain.is_none_or(|d| {
        d.contains('.')
            && !d.starts_with('.')
            && !d.ends_with('.')
            && d.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    });
    domain_ok
        && (6..=30).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Whether `endpoint` may receive credentials: `https://` anywhere,
/// `http://` only to a loopback address (the tests' fakes).
pub fn valid_endpoint(endpoint: &str) -> bool {
    let Ok(uri) = endpoint.parse::<http::Uri>() else {
        return false;
    };
    let Some(host) = uri.host().filter(|h| !h.is_empty()) else {
        return false;
    };
    match uri.scheme_str() {
        Some("https") => true,
        Some("http") => {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            host == "localhost" || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_ids() {
        for ok in [
            "my-project-123",
            "abcdef",
            "example.com:my-project",
            "a23456789012345678901234567890",
        ] {
            assert!(valid_project_id(ok), "{ok}");
        }
        for bad in [
            "",
            "short",
            "My-Project",
            "has space here",
            "a234567890123456789012345678901",
            "nodot:my-project",
            ":my-project",
            "proj_underscore",
            "ünïcode-project",
        ] {
            assert!(!valid_project_id(bad), "{bad}");
        }
    }

    #[test]
    fn endpoints() {
        for ok in [
            "https://telemetry.googleapis.com",
            "https://example.com:8443",
            "http://127.0.0.1:4317",
            "http://localhost:1",
            "http://[::1]:4317",
        ] {
            assert!(valid_endpoint(ok), "{ok}");
        }
        for bad in [
            "http://telemetry.googleapis.com",
            "http://10.0.0.1:4317",
            "telemetry.googleapis.com",
            "ftp://example.com",
            "https://",
            "",
        ] {
            assert!(!valid_endpoint(bad), "{bad}");
        }
    }

    #[test]
    fn ini() {
        let text = "[core]\naccount = a@b.c\nproject = my-project\n[compute]\nproject = other-project\n";
        assert_eq!(ini_value(text, "core", "project").as_deref(), Some("my-project"));
        assert_eq!(ini_value(text, "compute", "project").as_deref(), Some("other-project"));
        assert_eq!(ini_value(text, "auth", "project"), None);
    }
}
