//! Google Cloud settings: where the project and credentials come from.
//! Detected from the variables while the program loads and from the files
//! they name when the pipeline starts (see `detect`); the exporter's
//! transport lives in `exporter::gcp`.

use std::fmt;
use std::path::PathBuf;

/// Default endpoint of Google's Telemetry API.
pub const DEFAULT_ENDPOINT: &str = "https://telemetry.googleapis.com";
/// Default metadata server host (`GCE_METADATA_HOST` overrides it).
pub const DEFAULT_METADATA_HOST: &str = "metadata.google.internal";

/// Google Cloud settings, read from the environment and, once the pipeline
/// starts, from the files it names.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcpSettings {
    /// The project, when a cheap source (variables, files) named one.
    pub project: Option<GcpProject>,
    /// The Telemetry API endpoint (`ZEN_TELEMETRY_GCP_ENDPOINT`).
    pub endpoint: String,
    /// Where credentials would come from.
    pub credentials: CredentialsSource,
    /// Host of the metadata server (`GCE_METADATA_HOST`).
    pub metadata_host: String,
    /// False when `NO_GCE_CHECK=true`: the metadata server is never asked.
    pub metadata_check: bool,
    /// The files still to read for `project` and `credentials`; `None` once
    /// read (when the pipeline starts, or [`Config::read_files`] is called).
    ///
    /// [`Config::read_files`]: crate::Config::read_files
    pub(crate) pending: Option<PendingFiles>,
    /// The one place gcp_auth reads user (`authorized_user`) credentials
    /// from: `$HOME/.config/gcloud/application_default_credentials.json`.
    pub(crate) user_credentials_path: Option<PathBuf>,
}

/// Where the variables say Google Cloud's files are; nothing is read yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PendingFiles {
    /// `GOOGLE_APPLICATION_CREDENTIALS`.
    pub(crate) credentials: Option<PathBuf>,
    /// `CLOUDSDK_CONFIG`, else `$HOME/.config/gcloud`.
    pub(crate) gcloud_dir: Option<PathBuf>,
    /// `CLOUDSDK_CORE_PROJECT` (valid), which ranks below a credentials file.
    pub(crate) core_project: Option<String>,
    /// `CLOUDSDK_ACTIVE_CONFIG_NAME`.
    pub(crate) active_config: Option<String>,
}

impl Default for GcpSettings {
    fn default() -> Self {
        GcpSettings {
            project: None,
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            credentials: CredentialsSource::MetadataServer,
            metadata_host: DEFAULT_METADATA_HOST.to_owned(),
            metadata_check: true,
            pending: None,
            user_credentials_path: None,
        }
    }
}

/// A Google Cloud project id and where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcpProject {
    /// The project id.
    pub id: String,
    /// Where it came from.
    pub source: ProjectSource,
}

/// Where a project id was found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProjectSource {
    /// Set in code.
    Code,
    /// An environment variable.
    Variable(&'static str),
    /// `project_id` or `quota_project_id` of a credentials file.
    CredentialsFile(PathBuf),
    /// `[core] project` of the active gcloud configuration.
    GcloudConfig(PathBuf),
    /// The metadata server.
    MetadataServer,
}

impl fmt::Display for ProjectSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProjectSource::Code => f.write_str("set in code"),
            ProjectSource::Variable(name) => f.write_str(name),
            ProjectSource::CredentialsFile(path) => write!(f, "credentials file {}", path.display()),
            ProjectSource::GcloudConfig(path) => write!(f, "gcloud configuration {}", path.display()),
            ProjectSource::MetadataServer => f.write_str("metadata server"),
        }
    }
}

/// Where access tokens would come from. Never holds a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialsSource {
    /// A JSON credentials file.
    File {
        /// The file.
        path: PathBuf,
        /// `GOOGLE_APPLICATION_CREDENTIALS` or the gcloud application default credentials.
        found_by: &'static str,
        /// The file's `type`.
        kind: String,
    },
    /// The metadata server's default service account.
    MetadataServer,
    /// None: no file, and the metadata server is not to be asked.
    None,
}

impl CredentialsSource {
    /// A stable one-word name of the source: `file`, `metadata_server` or `none`.
    pub fn kind(&self) -> &'static str {
        match self {
            CredentialsSource::File { .. } => "file",
            CredentialsSource::MetadataServer => "metadata_server",
            CredentialsSource::None => "none",
        }
    }
}

impl fmt::Display for CredentialsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialsSource::File { path, found_by, kind } => {
                write!(f, "{kind} file {} (from {found_by})", path.display())
            }
            CredentialsSource::MetadataServer => f.write_str("metadata server"),
            CredentialsSource::None => f.write_str("none found"),
        }
    }
}
