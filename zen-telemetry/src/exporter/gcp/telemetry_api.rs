//! Google Cloud export: OTLP/gRPC to Google's Telemetry API with an ADC
//! bearer token and `x-goog-user-project` on every request.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use tonic::transport::{ClientTlsConfig, Endpoint};

use super::session::{self, Session};
use crate::config::gcp::GcpSettings;
use crate::exporter::limits;
use crate::exporter::on_runtime::{OnRuntime, tokio_runtime};

/// The Google Cloud span exporter, running on the private runtime.
pub(crate) fn exporter(settings: &GcpSettings, timeout: Duration) -> Result<OnRuntime<GcpExporter>, String> {
    let session = session::session(settings)?;
    let runtime = tokio_runtime()?;
    let exporter = GcpExporter {
        session,
        timeout,
        resource: Resource::builder_empty().build(),
        client: tokio::sync::OnceCell::new(),
    };
    Ok(OnRuntime::new(exporter, runtime.handle().clone(), timeout))
}

/// See the [module docs](self).
pub(crate) struct GcpExporter {
    session: Arc<Session>,
    timeout: Duration,
    resource: Resource,
    client: tokio::sync::OnceCell<Result<opentelemetry_otlp::SpanExporter, String>>,
}

impl std::fmt::Debug for GcpExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcpExporter")
            .field("endpoint", &self.session.endpoint)
            .finish()
    }
}

impl GcpExporter {
    fn build_client(&self, project: &str) -> Result<opentelemetry_otlp::SpanExporter, String> {
        let channel = channel(&self.session.endpoint, self.timeout)?;
        let session = self.session.clone();
        let project_id = project.to_owned();
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
                for (name, value) in session.headers(&project_id) {
                    request.metadata_mut().insert(name, value);
                }
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
        let project = self.session.ready().await.map_err(OTelSdkError::InternalFailure)?;
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
            for code in [tonic::Code::Unauthenticated, tonic::Code::PermissionDenied] {
                if text.contains(&format!("gRPC code: {code:?}")) {
                    self.session.refused(code, project);
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

/// A lazily connecting channel to `endpoint`, with TLS for `https://`.
pub(crate) fn channel(endpoint: &str, timeout: Duration) -> Result<tonic::transport::Channel, String> {
    let mut channel =
        Endpoint::from_shared(endpoint.to_owned()).map_err(|e| format!("invalid endpoint {endpoint}: {e}"))?;
    if endpoint.starts_with("https://") {
        channel = channel
            .tls_config(ClientTlsConfig::new().with_webpki_roots())
            .map_err(|e| format!("TLS setup for {endpoint} failed: {e}"))?;
    }
    Ok(channel.timeout(timeout).connect_lazy())
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
