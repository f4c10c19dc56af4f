//! A small client of the Cloud Monitoring REST API: JSON over HTTPS with an
//! Application Default Credentials token, and Google's error answers turned
//! into what to do about them.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// Dashboards and alert policies are written with the Monitoring scope
/// (`monitoring.write` covers only time series).
const SCOPE: &str = "https://www.googleapis.com/auth/monitoring";
/// The most one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The role that may read and write dashboards and alert policies.
pub(super) const EDITOR_ROLE: &str = "roles/monitoring.editor";

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// One project's Monitoring API.
pub(super) struct Api {
    endpoint: String,
    project: String,
    client: HttpsClient,
    tokens: Arc<dyn gcp_auth::TokenProvider>,
}

impl Api {
    /// Checks the endpoint and project and finds credentials.
    pub(super) async fn connect(endpoint: &str, project: &str) -> Result<Api, String> {
        if !zen_telemetry::gcp::valid_endpoint(endpoint) {
            return Err(format!(
                "--endpoint {endpoint:?}: expected https://, or http:// to a loopback address"
            ));
        }
        if !zen_telemetry::gcp::valid_project_id(project) {
            return Err(format!(
                "--project {project:?}: expected a project id (6-30 lowercase letters, digits or hyphens)"
            ));
        }
        let tokens = gcp_auth::provider().await.map_err(|error| {
            format!(
                "no Google Cloud credentials ({error}); set GOOGLE_APPLICATION_CREDENTIALS or run \
                 `gcloud auth application-default login`"
            )
        })?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(Arc::new(rustls::crypto::ring::default_provider()))
            .map_err(|e| format!("TLS set-up failed: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Api {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            project: project.to_owned(),
            client: Client::builder(TokioExecutor::new()).build(connector),
            tokens,
        })
    }

    /// The project id.
    pub(super) fn project(&self) -> &str {
        &self.project
    }

    /// Every item of a list method, following `nextPageToken`.
    pub(super) async fn list(&self, path: &str, field: &str) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        let mut page_token = String::new();
        loop {
            let mut url = format!("{path}?pageSize=1000");
            if !page_token.is_empty() {
                url.push_str("&pageToken=");
                url.push_str(&utf8_percent_encode(&page_token, NON_ALPHANUMERIC).to_string());
            }
            let page = self.send(Method::GET, &url, None).await?;
            if let Some(Value::Array(page_items)) = page.get(field) {
                items.extend(page_items.iter().cloned());
            }
            match page.get("nextPageToken").and_then(Value::as_str) {
                Some(token) if !token.is_empty() => page_token = token.to_owned(),
                _ => return Ok(items),
            }
        }
    }

    /// One request; a JSON answer, or an error that says what to do.
    pub(super) async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let token = self
            .tokens
            .token(&[SCOPE])
            .await
            .map_err(|error| format!("no Google Cloud access token: {error}"))?;
        let url = format!("{}/{}", self.endpoint, path.trim_start_matches('/'));
        let payload = body.map(Value::to_string).unwrap_or_default();
        let request = Request::builder()
            .method(method.clone())
            .uri(&url)
            .header("authorization", format!("Bearer {}", token.as_str()))
            .header("x-goog-user-project", &self.project)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(payload)))
            .map_err(|e| format!("{method} {url}: {e}"))?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| format!("{e}"))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("{e}"))?
                .to_bytes();
            Ok::<_, String>((status, body))
        };
        let (status, body) = match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(reason)) => return Err(format!("{method} {url} failed: {reason}")),
            Err(_) => return Err(format!("{method} {url}: no answer within {REQUEST_TIMEOUT:?}")),
        };
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(json);
        }
        Err(explain(
            status.as_u16(),
            &json,
            &self.project,
            &format!("{method} {path}"),
        ))
    }
}

/// Google's error answer (`{"error": {"code", "message", "status", "details"}}`,
/// <https://cloud.google.com/apis/design/errors>) as advice.
fn explain(status: u16, answer: &Value, project: &str, request: &str) -> String {
    let error = answer.get("error");
    let message = error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("no message");
    let code = error
        .and_then(|e| e.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let service_disabled = error
        .and_then(|e| e.get("details"))
        .and_then(Value::as_array)
        .is_some_and(|details| {
            details
                .iter()
                .any(|detail| detail.get("reason").and_then(Value::as_str) == Some("SERVICE_DISABLED"))
        });
    let said = format!("Cloud Monitoring answered {status} {code} to {request}: {message}");
    match status {
        403 if service_disabled => format!(
            "{said}\nThe Cloud Monitoring API is not enabled: `gcloud services enable monitoring.googleapis.com --project {project}`"
        ),
        403 => format!(
            "{said}\nThe account needs {EDITOR_ROLE} on project {project}: \
             `gcloud projects add-iam-policy-binding {project} --member=ACCOUNT --role={EDITOR_ROLE}`"
        ),
        401 => format!("{said}\nThe credentials were refused; renew them (`gcloud auth application-default login`)"),
        404 => format!("{said}\nIs {project} the project id, and is the Cloud Monitoring API enabled on it?"),
        _ => said,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disabled_api_and_a_missing_role_get_their_own_advice() {
        let disabled = serde_json::json!({"error": {"code": 403, "status": "PERMISSION_DENIED",
            "message": "Cloud Monitoring API has not been used in project 1 before or it is disabled.",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
                "domain": "googleapis.com", "metadata": {"service": "monitoring.googleapis.com"}}]}});
        let advice = explain(403, &disabled, "my-project", "GET v1/projects/my-project/dashboards");
        assert!(
            advice.contains("gcloud services enable monitoring.googleapis.com --project my-project"),
            "{advice}"
        );
        let denied = serde_json::json!({"error": {"code": 403, "status": "PERMISSION_DENIED",
            "message": "Permission monitoring.dashboards.list denied"}});
        let advice = explain(403, &denied, "my-project", "GET v1/projects/my-project/dashboards");
        assert!(
            advice.contains("roles/monitoring.editor on project my-project"),
            "{advice}"
        );
        assert!(
            advice.contains("Permission monitoring.dashboards.list denied"),
            "{advice}"
        );
    }
}
