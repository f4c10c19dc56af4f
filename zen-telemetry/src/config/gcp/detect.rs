//! The cheap part of Google Cloud detection: variables and local files only,
//! so it may run while the program loads. The metadata server is asked later,
//! on the export thread (see `metadata`).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::settings::{
    CredentialsSource, DEFAULT_ENDPOINT, DEFAULT_METADATA_HOST, GcpProject, GcpSettings, ProjectSource,
};
use crate::config::env::{ConfigWarning, parse_flag};

/// Project variables, first hit wins (the order Google's client libraries use).
const PROJECT_VARIABLES: [&str; 3] = ["GOOGLE_CLOUD_PROJECT", "GCP_PROJECT", "GCLOUD_PROJECT"];
const ADC_FILE: &str = "application_default_credentials.json";
const ADC_LABEL: &str = "gcloud application default credentials";
const GCLOUD_CONFIG_LABEL: &str = "gcloud configuration";

/// Reads the Google Cloud settings through `lookup`, adding a warning for
/// each invalid value or unreadable file.
pub(crate) fn detect(lookup: &dyn Fn(&str) -> Option<String>, warnings: &mut Vec<ConfigWarning>) -> GcpSettings {
    let var = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let mut warn = |variable: &'static str, value: String, expected: String| {
        warnings.push(ConfigWarning {
            variable,
            value,
            expected,
        });
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

    let gcloud_dir = var("CLOUDSDK_CONFIG")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| Path::new(&home).join(".config").join("gcloud")));
    let credentials = match var("GOOGLE_APPLICATION_CREDENTIALS") {
        Some(path) => read_credentials(Path::new(&path), "GOOGLE_APPLICATION_CREDENTIALS", &mut warn),
        None => gcloud_dir
            .as_ref()
            .map(|dir| dir.join(ADC_FILE))
            .filter(|path| path.is_file())
            .and_then(|path| read_credentials(&path, ADC_LABEL, &mut warn)),
    };

    let mut project = None;
    for name in PROJECT_VARIABLES {
        if let Some(id) = var(name).and_then(|id| checked_project(name, id, &mut warn)) {
            project = Some(GcpProject {
                id,
                source: ProjectSource::Variable(name),
            });
            break;
        }
    }
    if project.is_none()
        && let Some(file) = &credentials
        && let Some(id) = file.project.clone()
        && let Some(id) = checked_project(file.found_by, id, &mut warn)
    {
        project = Some(GcpProject {
            id,
            source: ProjectSource::CredentialsFile(file.path.clone()),
        });
    }
    if project.is_none()
        && let Some(id) = var("CLOUDSDK_CORE_PROJECT")
        && let Some(id) = checked_project("CLOUDSDK_CORE_PROJECT", id, &mut warn)
    {
        project = Some(GcpProject {
            id,
            source: ProjectSource::Variable("CLOUDSDK_CORE_PROJECT"),
        });
    }
    if project.is_none()
        && let Some(dir) = &gcloud_dir
    {
        project = gcloud_config_project(dir, var("CLOUDSDK_ACTIVE_CONFIG_NAME"), &mut warn);
    }
    settings.project = project;

    settings.credentials = match credentials {
        Some(file) => CredentialsSource::File {
            path: file.path,
            found_by: file.found_by,
            kind: file.kind,
        },
        None if settings.metadata_check => CredentialsSource::MetadataServer,
        None => CredentialsSource::None,
    };
    settings
}

/// What a credentials file says, without its secrets.
struct CredentialsFile {
    path: PathBuf,
    found_by: &'static str,
    kind: String,
    project: Option<String>,
}

fn read_credentials(
    path: &Path,
    found_by: &'static str,
    warn: &mut impl FnMut(&'static str, String, String),
) -> Option<CredentialsFile> {
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            warn(found_by, shown, format!("a readable JSON credentials file ({error})"));
            return None;
        }
    };
    let json: serde_json::Value = match serde_json::from_str(&text) {
        Ok(json) => json,
        Err(error) => {
            warn(found_by, shown, format!("a JSON credentials file ({error})"));
            return None;
        }
    };
    let Some(fields) = json.as_object() else {
        warn(found_by, shown, "a JSON object with a \"type\" field".to_owned());
        return None;
    };
    let string_field = |name: &str| fields.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let kind = match string_field("type") {
        Some(kind) if kind == "service_account" || kind == "authorized_user" => kind,
        Some(kind) => {
            warn(
                found_by,
                shown,
                format!("field \"type\" to be service_account or authorized_user, found {kind:?} (not supported)"),
            );
            return None;
        }
        None => {
            warn(
                found_by,
                shown,
                "field \"type\" (a string: service_account or authorized_user)".to_owned(),
            );
            return None;
        }
    };
    let required: &[&str] = if kind == "service_account" {
        &["client_email", "private_key", "token_uri"]
    } else {
        &["client_id", "client_secret", "refresh_token"]
    };
    if let Some(missing) = required.iter().find(|name| string_field(name).is_none()) {
        warn(
            found_by,
            shown,
            format!("field \"{missing}\" (a string) in a {kind} credentials file"),
        );
        return None;
    }
    for name in ["project_id", "quota_project_id"] {
        if fields.get(name).is_some_and(|v| !v.is_string() && !v.is_null()) {
            warn(
                found_by,
                shown.clone(),
                format!("field \"{name}\" to be a string; ignoring it"),
            );
        }
    }
    Some(CredentialsFile {
        path: path.to_path_buf(),
        found_by,
        project: string_field("project_id").or_else(|| string_field("quota_project_id")),
        kind,
    })
}

/// `[core] project` of the active gcloud configuration.
fn gcloud_config_project(
    dir: &Path,
    active_from_env: Option<String>,
    warn: &mut impl FnMut(&'static str, String, String),
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
        warn(
            GCLOUD_CONFIG_LABEL,
            path.display().to_string(),
            format!("[core] project to be a project id, found {id:?}; ignoring it"),
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

fn checked_project(
    source: &'static str,
    id: String,
    warn: &mut impl FnMut(&'static str, String, String),
) -> Option<String> {
    if valid_project_id(&id) {
        Some(id)
    } else {
        warn(
            source,
            id,
            "a project id (6-30 lowercase letters, digits or hyphens, optionally after \"domain.com:\"); ignoring it"
                .to_owned(),
        );
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
