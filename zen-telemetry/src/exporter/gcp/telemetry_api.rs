//! Google Cloud export: OTLP/gRPC to Google's Telemetry API with an ADC
//! bearer token and `x-goog-user-project` on every request.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use tonic::metadata::MetadataValue;
use tonic::transport::{ClientTlsConfig, Endpoint};

use super::auth::Auth;
use super::metadata;
use crate::config::gcp::{self as settings_gcp, GcpSettings};
use crate::exporter::limits;
use crate::exporter::on_runtime::{OnRuntime, tokio_runtime};
use crate::{diag, state};

type ProjectCell = Arc<tokio::sync::OnceCell<Result<String, String>>>;

/// The Google Cloud exporter, running on the private runtime. Starts the
/// metadata lookup (when no project is known) and the first token fetch in
/// the background right away.
pub(crate) fn exporter(settings: &GcpSettings, timeout: Duration) -> Result<OnRuntime<GcpExporter>, String> {
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
    let auth = Auth::new(settings.credentials.clone(), settings.metadata_host.clone());
    let project: ProjectCell = Arc::default();
    match &settings.project {
        Some(project_id) => {
            let _ = project.set(Ok(project_id.id.clone()));
            auth.prefetch(runtime.handle());
        }
        None => {
            let (cell, host) = (project.clone(), settings.metadata_host.clone());
            runtime.spawn(async move {
                let _ = cell.get_or_init(|| lookup_project(host)).await;
            });
        }
    }
    let exporter = GcpExporter {
        endpoint: settings.endpoint.clone(),
        metadata_host: settings.metadata_host.clone(),
        timeout,
        auth,
        project,
        resource: Resource::builder_empty().build(),
        client: tokio::sync::OnceCell::new(),
    };
    Ok(OnRuntime::new(exporter, runtime.handle().clone(), timeout))
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

/// See the [module docs](self).
pub(crate) struct GcpExporter {
    endpoint: String,
    metadata_host: String,
    timeout: Duration,
    auth: Arc<Auth>,
    project: ProjectCell,
    resource: Resource,
    client: tokio::sync::OnceCell<Result<opentelemetry_otlp::SpanExporter, String>>,
}

impl std::fmt::Debug for GcpExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcpExporter").field("endpoint", &self.endpoint).finish()
    }
}

impl GcpExporter {
    fn build_client(&self, project: &str) -> Result<opentelemetry_otlp::SpanExporter, String> {
        let mut endpoint = Endpoint::from_shared(self.endpoint.clone())
            .map_err(|e| format!("invalid endpoint {}: {e}", self.endpoint))?;
        if self.endpoint.starts_with("https://") {
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().with_webpki_roots())
                .map_err(|e| format!("TLS setup for {} failed: {e}", self.endpoint))?;
        }
        let channel = endpoint.timeout(self.timeout).connect_lazy();
        let project_header = MetadataValue::try_from(project).map_err(|e| format!("project id as header: {e}"))?;
        let auth = self.auth.clone();
        let otlp_headers = otlp_env_header_names();
        let mut client = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_channel(channel)
            .with_timeout(self.timeout)
            .with_interceptor(move |mut request: tonic::Request<()>| {
                // opentelemetry-otlp adds the headers of the OTLP variables
                // to every exporter; they are meant for the user's OTLP
                // backend (often its API key) and must not reach Google.
                for name in &otlp_headers {
                    request.metadata_mut().remove(name.as_str());
                }
                if let Some(token) = auth.cached_header() {
                    request.metadata_mut().insert("authorization", token);
                }
                request
                    .metadata_mut()
                    .insert("x-goog-user-project", project_header.clone());
                Ok(request)
            })
            .build()
            .map_err(|e| format!("cannot build the Telemetry API exporter: {e}"))?;
        let resource = Resource::builder_empty()
            .with_attributes(self.resource.iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())))
            .with_attribute(KeyValue::new("gcp.project_id", project.to_owned()))
            .build();
        client.set_resource(&resource);
        Ok(client)
    }
}

impl SpanExporter for GcpExporter {
    async fn export(&self, mut batch: Vec<SpanData>) -> OTelSdkResult {
        let project = self
            .project
            .get_or_init(|| lookup_project(self.metadata_host.clone()))
            .await
            .as_ref()
            .map_err(|reason| OTelSdkError::InternalFailure(format!("no Google Cloud project: {reason}")))?;
        self.auth
            .ensure_token()
            .await
            .map_err(|error| OTelSdkError::InternalFailure(error.to_string()))?;
        let client = self
            .client
            .get_or_init(|| async { self.build_client(project) })
            .await
            .as_ref()
            .map_err(|reason| OTelSdkError::InternalFailure(reason.clone()))?;
        batch.iter_mut().for_each(limits::apply);
        let result = client.export(batch).await;
        if let Err(error) = &result {
            let text = error.to_string();
            for code in ["Unauthenticated", "PermissionDenied"] {
                if text.contains(&format!("gRPC code: {code}")) {
                    self.auth.rejected(code, project);
                }
            }
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self.client.get() {
            Some(Ok(client)) => client.shutdown_with_timeout(timeout),
            _ => Ok(()),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.clone();
    }
}

/// The header names opentelemetry-otlp takes from the environment for trace
/// exporters: `OTEL_EXPORTER_OTLP_TRACES_HEADERS`, else
/// `OTEL_EXPORTER_OTLP_HEADERS` (`key=value,key=value`).
fn otlp_env_header_names() -> Vec<String> {
    let headers = std::env::var("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_HEADERS"))
        .unwrap_or_default();
    headers
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, _)| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect()
}
