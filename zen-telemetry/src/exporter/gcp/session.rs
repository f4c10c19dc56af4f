//! What the Telemetry API's span and metric exporters share: one token cache,
//! one project lookup and one location lookup per process.

use std::sync::{Arc, OnceLock};

use http::{HeaderName, HeaderValue};

use super::auth::{Auth, AuthError};
use super::metadata;
use crate::config::gcp::{self as settings_gcp, GcpSettings};
use crate::exporter::on_runtime::tokio_runtime;
use crate::{diag, state};

/// Where metric points say they come from when no metadata server names a
/// region: Google Cloud Managed Service for Prometheus files them under it.
pub(crate) const DEFAULT_LOCATION: &str = "global";

type ProjectCell = tokio::sync::OnceCell<Result<String, String>>;

/// See the [module docs](self).
pub(crate) struct Session {
    pub(crate) endpoint: String,
    pub(crate) auth: Arc<Auth>,
    metadata_host: String,
    metadata_check: bool,
    project: ProjectCell,
    location: tokio::sync::OnceCell<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// The process's session, made from the first settings asked for (the
/// pipeline is built once, so there are no others). Starts the project lookup
/// (when no project is known) or the first token fetch in the background.
pub(crate) fn session(settings: &GcpSettings) -> Result<Arc<Session>, String> {
    static SESSION: OnceLock<Result<Arc<Session>, String>> = OnceLock::new();
    SESSION.get_or_init(|| open(settings)).clone()
}

fn open(settings: &GcpSettings) -> Result<Arc<Session>, String> {
    if let Some(project) = &settings.project
        && !settings_gcp::valid_project_id(&project.id)
    {
        return Err(format!("{:?} is not a valid project id", project.id));
    }
    if !settings_gcp::valid_endpoint(&settings.endpoint) {
        return Err(format!(
            "{:?} is not a valid endpoint (https://, or http:// to a loopback address)",
            settings.endpoint
        ));
    }
    if settings.project.is_none() && !settings.metadata_check {
        return Err(
            "no Google Cloud project: set GOOGLE_CLOUD_PROJECT (NO_GCE_CHECK forbids asking the metadata server)"
                .to_owned(),
        );
    }
    let runtime = tokio_runtime()?;
    let session = Arc::new(Session {
        endpoint: settings.endpoint.clone(),
        auth: Auth::new(settings),
        metadata_host: settings.metadata_host.clone(),
        metadata_check: settings.metadata_check,
        project: ProjectCell::new(),
        location: tokio::sync::OnceCell::new(),
    });
    match &settings.project {
        Some(project) => {
            let _ = session.project.set(Ok(project.id.clone()));
            session.auth.prefetch(runtime.handle());
        }
        None => {
            let session = session.clone();
            runtime.spawn(async move {
                let _ = session.project().await;
            });
        }
    }
    Ok(session)
}

impl Session {
    /// The project id, asking the metadata server the first time when no
    /// cheap source named one. With none there, recording stops.
    pub(crate) async fn project(&self) -> Result<&str, String> {
        self.project
            .get_or_init(|| lookup_project(self.metadata_host.clone()))
            .await
            .as_ref()
            .map(String::as_str)
            .map_err(|reason| format!("no Google Cloud project: {reason}"))
    }

    /// The region (or zone) the metadata server names, else
    /// [`DEFAULT_LOCATION`]. Never asks when `NO_GCE_CHECK` forbids it.
    pub(crate) async fn location(&self) -> &str {
        self.location
            .get_or_init(|| async {
                if !self.metadata_check {
                    return DEFAULT_LOCATION.to_owned();
                }
                match metadata::location(&self.metadata_host).await {
                    Ok(location) => location,
                    Err(reason) => {
                        diag::debug_line(|| format!("metric location {DEFAULT_LOCATION}: {reason}"));
                        DEFAULT_LOCATION.to_owned()
                    }
                }
            })
            .await
    }

    /// The project and a valid token, ready for a request.
    pub(crate) async fn ready(&self) -> Result<&str, String> {
        let project = self.project().await?;
        self.auth
            .ensure_token()
            .await
            .map_err(|error: AuthError| error.to_string())?;
        Ok(project)
    }

    /// The headers every request carries: the cached token and the quota project.
    pub(crate) fn http_headers(&self, project: &str) -> Vec<(HeaderName, HeaderValue)> {
        let mut headers = Vec::with_capacity(2);
        if let Some(token) = self.auth.cached_header()
            && let Ok(token) = HeaderValue::from_bytes(token.as_encoded_bytes())
        {
            headers.push((http::header::AUTHORIZATION, token));
        }
        if let Ok(project) = HeaderValue::from_str(project) {
            headers.push((HeaderName::from_static("x-goog-user-project"), project));
        }
        headers
    }

    /// Google refused a request's credentials (`denied`: the answer, 401 or
    /// 403): drops the token and pauses export.
    pub(crate) fn refused(&self, denied: &'static str, project: &str) {
        self.auth.rejected(denied, project);
    }
}

async fn lookup_project(host: String) -> Result<String, String> {
    let result = metadata::project_id(&host).await;
    match &result {
        Ok(id) => diag::debug_line(|| format!("Google Cloud project {id} from the metadata server")),
        Err(reason) => {
            diag::debug_line(|| format!("no Google Cloud project: {reason}"));
            state::no_destination();
            diag::debug_line(|| "no Google Cloud project was found; recording stopped".to_owned());
        }
    }
    result
}
