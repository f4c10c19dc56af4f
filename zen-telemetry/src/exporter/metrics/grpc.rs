//! OTLP/gRPC metric export, to a collector or to Google's Telemetry API.
//!
//! Our own client from `opentelemetry-proto` rather than opentelemetry-otlp's
//! `MetricExporter`: that one takes only the SDK's `ResourceMetrics`, which
//! cannot hold the traced functions' points or be cut into requests of 200.

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};
use tonic::transport::Channel;

use crate::exporter::gcp::{self, Session};

/// A gRPC destination on the private runtime.
pub(crate) struct Grpc {
    endpoint: String,
    channel: Channel,
    runtime: tokio::runtime::Handle,
    credentials: Credentials,
}

enum Credentials {
    /// Headers from `OTEL_EXPORTER_OTLP_METRICS_HEADERS` / `OTEL_EXPORTER_OTLP_HEADERS`.
    Headers(Vec<(AsciiMetadataKey, AsciiMetadataValue)>),
    /// The Google Cloud session: token, quota project, resource attributes.
    Google(Arc<Session>),
}

impl std::fmt::Debug for Grpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grpc")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Grpc {
    /// The collector named by the OTLP variables.
    pub(crate) fn otlp(lookup: impl Fn(&str) -> Option<String>, timeout: Duration) -> Result<Grpc, String> {
        let non_empty = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let endpoint = non_empty("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
            .or_else(|| non_empty("OTEL_EXPORTER_OTLP_ENDPOINT"))
            .unwrap_or_else(|| "http://localhost:4317".to_owned());
        let headers = non_empty("OTEL_EXPORTER_OTLP_METRICS_HEADERS")
            .or_else(|| non_empty("OTEL_EXPORTER_OTLP_HEADERS"))
            .map(|raw| parse_headers(&raw))
            .unwrap_or_default();
        Grpc::new(endpoint, timeout, Credentials::Headers(headers))
    }

    /// Google's Telemetry API, sharing the span exporter's session.
    pub(crate) fn google(session: Arc<Session>, timeout: Duration) -> Result<Grpc, String> {
        Grpc::new(session.endpoint.clone(), timeout, Credentials::Google(session))
    }

    fn new(endpoint: String, timeout: Duration, credentials: Credentials) -> Result<Grpc, String> {
        let runtime = crate::exporter::on_runtime::tokio_runtime()?;
        // tonic spawns its connection task while connecting, so do it inside the runtime.
        let _entered = runtime.enter();
        let channel = gcp::channel(&endpoint, timeout)?;
        Ok(Grpc {
            endpoint,
            channel,
            runtime: runtime.handle().clone(),
            credentials,
        })
    }

    /// Sends one request, giving up at `deadline`.
    pub(crate) fn send(&self, mut request: ExportMetricsServiceRequest, deadline: Instant) -> Result<(), String> {
        let budget = deadline.saturating_duration_since(Instant::now());
        let exchange = async {
            let mut headers = Vec::new();
            let mut project = None;
            match &self.credentials {
                Credentials::Headers(fixed) => headers.clone_from(fixed),
                Credentials::Google(session) => {
                    let id = session.ready().await?;
                    let location = session.location().await;
                    for resource_metrics in &mut request.resource_metrics {
                        let resource = resource_metrics.resource.get_or_insert_with(Default::default);
                        set_google_attributes(&mut resource.attributes, id, location);
                    }
                    for (name, value) in session.headers(id) {
                        headers.push((AsciiMetadataKey::from_static(name), value));
                    }
                    project = Some(id);
                }
            }
            let mut message = tonic::Request::new(request);
            for (name, value) in headers {
                message.metadata_mut().insert(name, value);
            }
            let mut client = MetricsServiceClient::new(self.channel.clone());
            match client.export(message).await {
                Ok(response) => match response.into_inner().partial_success {
                    Some(partial) if partial.rejected_data_points > 0 => Err(format!(
                        "{} rejected {} points: {}",
                        self.endpoint, partial.rejected_data_points, partial.error_message
                    )),
                    _ => Ok(()),
                },
                Err(status) => {
                    if let (Credentials::Google(session), Some(project)) = (&self.credentials, project) {
                        session.refused(status.code(), project);
                    }
                    Err(format!(
                        "{} answered {:?}: {}",
                        self.endpoint,
                        status.code(),
                        status.message()
                    ))
                }
            }
        };
        self.runtime.block_on(async {
            tokio::time::timeout(budget, exchange)
                .await
                .unwrap_or_else(|_| Err(format!("{} did not answer within {budget:?}", self.endpoint)))
        })
    }
}

/// The resource attributes Google needs on metric points: the project, and a
/// location unless the resource already names one.
fn set_google_attributes(attributes: &mut Vec<KeyValue>, project: &str, location: &str) {
    let text = |value: &str| {
        Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        })
    };
    attributes.retain(|kv| kv.key != "gcp.project_id");
    attributes.push(KeyValue {
        key: "gcp.project_id".to_owned(),
        value: text(project),
        ..Default::default()
    });
    let has_location = attributes
        .iter()
        .any(|kv| matches!(kv.key.as_str(), "location" | "cloud.availability_zone" | "cloud.region"));
    if !has_location {
        attributes.push(KeyValue {
            key: "cloud.region".to_owned(),
            value: text(location),
            ..Default::default()
        });
    }
}

/// `key=value,key=value`, values percent-decoded, as the OTLP exporter spec says.
fn parse_headers(raw: &str) -> Vec<(AsciiMetadataKey, AsciiMetadataValue)> {
    raw.split(',')
        .filter_map(|pair| pair.split_once('='))
        .filter_map(|(name, value)| {
            let name = AsciiMetadataKey::from_bytes(name.trim().to_ascii_lowercase().as_bytes()).ok()?;
            let value = AsciiMetadataValue::try_from(
                percent_encoding::percent_decode_str(value.trim())
                    .decode_utf8_lossy()
                    .as_ref(),
            )
            .ok()?;
            Some((name, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_and_decode() {
        let headers = parse_headers("api-key=a%20b, X-Team = core ,broken,=empty");
        let pairs: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("api-key".to_owned(), "a b".to_owned()),
                ("x-team".to_owned(), "core".to_owned())
            ]
        );
    }

    #[test]
    fn google_attributes_keep_a_given_location() {
        let mut attributes = vec![KeyValue {
            key: "cloud.availability_zone".to_owned(),
            ..Default::default()
        }];
        set_google_attributes(&mut attributes, "p-1", "global");
        let keys: Vec<&str> = attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["cloud.availability_zone", "gcp.project_id"]);
        let mut attributes = Vec::new();
        set_google_attributes(&mut attributes, "p-1", "us-central1");
        let keys: Vec<&str> = attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["gcp.project_id", "cloud.region"]);
    }
}
