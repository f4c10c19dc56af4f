//! The GCE metadata server: project id and the default service account's
//! token. Plain HTTP to `GCE_METADATA_HOST`, as Google's own libraries do.
//! Only called on the export runtime.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The most a project lookup may take, connection included.
pub(crate) const PROJECT_LOOKUP_TIMEOUT: Duration = Duration::from_secs(1);
const TOKEN_TIMEOUT: Duration = Duration::from_secs(5);
/// Metadata answers are tiny; anything larger is not a metadata server.
const MAX_BODY: usize = 64 * 1024;

/// The project id, or why there is none. Bounded by [`PROJECT_LOOKUP_TIMEOUT`].
pub(crate) async fn project_id(host: &str) -> Result<String, String> {
    let body = get(host, "/computeMetadata/v1/project/project-id", PROJECT_LOOKUP_TIMEOUT).await?;
    let id = String::from_utf8(body.to_vec()).map_err(|_| "the project id is not UTF-8".to_owned())?;
    let id = id.trim().to_owned();
    if crate::config::gcp::valid_project_id(&id) {
        Ok(id)
    } else {
        Err(format!("the metadata server answered an invalid project id {id:?}"))
    }
}

/// The instance's region (Cloud Run, Cloud Functions) or else its zone
/// (Compute Engine, GKE): the last segment of `projects/N/regions/R`.
pub(crate) async fn location(host: &str) -> Result<String, String> {
    let body = match get(host, "/computeMetadata/v1/instance/region", PROJECT_LOOKUP_TIMEOUT).await {
        Ok(body) => body,
        Err(_) => get(host, "/computeMetadata/v1/instance/zone", PROJECT_LOOKUP_TIMEOUT).await?,
    };
    let text = String::from_utf8(body.to_vec()).map_err(|_| "the location is not UTF-8".to_owned())?;
    let location = text.trim().rsplit('/').next().unwrap_or_default().to_owned();
    let valid = !location.is_empty()
        && location.len() <= 64
        && location
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(location)
    } else {
        Err(format!("the metadata server answered an invalid location {text:?}"))
    }
}

/// An access token of the instance's default service account and its lifetime.
pub(crate) async fn token(host: &str, scope: &str) -> Result<(String, Duration), String> {
    #[derive(serde::Deserialize)]
    struct TokenResponse {
        access_token: String,
        expires_in: u64,
    }
    let path = format!("/computeMetadata/v1/instance/service-accounts/default/token?scopes={scope}");
    let body = get(host, &path, TOKEN_TIMEOUT).await?;
    let token: TokenResponse =
        serde_json::from_slice(&body).map_err(|e| format!("the metadata server's token answer is not valid: {e}"))?;
    Ok((token.access_token, Duration::from_secs(token.expires_in)))
}

async fn get(host: &str, path: &str, timeout: Duration) -> Result<Bytes, String> {
    let url = format!("http://{host}{path}");
    let request = hyper::Request::get(&url)
        .header("Metadata-Flavor", "Google")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("invalid metadata URL {url}: {e}"))?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("metadata server {host} unreachable: {e}"))?;
        // Anything can answer on port 80 (captive portals, proxies); only a
        // metadata server echoes the flavor header.
        let flavored = response
            .headers()
            .get("Metadata-Flavor")
            .is_some_and(|v| v.as_bytes() == b"Google");
        if !flavored {
            return Err(format!(
                "{host} answered without Metadata-Flavor: Google; not a metadata server"
            ));
        }
        if !response.status().is_success() {
            return Err(format!("metadata server answered {}", response.status()));
        }
        Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map(|body| body.to_bytes())
            .map_err(|e| format!("reading the metadata answer failed: {e}"))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(format!("metadata server {host} did not answer within {timeout:?}")),
    }
}
