//! OTLP/HTTP through hyper: `POST` of a protobuf body to the signal's URL,
//! as the OTLP specification's "OTLP/HTTP" section says.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::gzip::gzipped;
use super::refusal::{Refusal, described};
use super::settings::TransportSettings;
use crate::config::OtlpCompression;
use crate::exporter::spool::Signal;

/// The most of an error answer's body kept for the message.
const MAX_ERROR_BODY: usize = 300;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A pooled HTTP/1.1 client for one URL.
pub(crate) struct HttpTransport {
    url: http::Uri,
    client: HttpsClient,
    gzip: bool,
}

impl HttpTransport {
    pub(crate) fn new(settings: &TransportSettings<'_>) -> Result<HttpTransport, String> {
        let url: http::Uri = settings
            .url
            .parse()
            .map_err(|e| format!("invalid endpoint {}: {e}", settings.url))?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(settings.timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(super::tls::client_config(
                settings.tls,
                url.scheme_str() == Some("https"),
            )?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(HttpTransport {
            url,
            client: Client::builder(TokioExecutor::new()).build(connector),
            gzip: settings.compression == OtlpCompression::Gzip,
        })
    }

    pub(crate) async fn send(
        &self,
        signal: Signal,
        payload: Bytes,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<Bytes, Refusal> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(self.url.clone())
            .header(header::CONTENT_TYPE, "application/x-protobuf");
        let body = if self.gzip {
            request = request.header(header::CONTENT_ENCODING, "gzip");
            gzipped(&payload)
        } else {
            payload
        };
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| Refusal::unreachable(format!("{}: cannot make the request: {e}", self.url)))?;
        let response = self.client.request(request).await.map_err(|error| {
            let mut refusal = Refusal::unreachable(described(&self.url.to_string(), &error));
            // The OTLP specification: a client that cannot connect retries
            // with backoff, as tonic's UNAVAILABLE for it is retried.
            refusal.again_soon = error.is_connect();
            refusal
        })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response
            .into_body()
            .collect()
            .await
            .map(|collected| collected.to_bytes())
            .map_err(|e| Refusal::unreachable(format!("{}: the answer broke off: {e}", self.url)))?;
        if status.is_success() {
            return Ok(body);
        }
        Err(self.refusal(signal, status, &body, retry_after))
    }

    fn refusal(&self, signal: Signal, status: StatusCode, body: &[u8], retry_after: Option<Duration>) -> Refusal {
        let code = status.as_u16();
        let said = String::from_utf8_lossy(&body[..body.len().min(MAX_ERROR_BODY)])
            .chars()
            .filter(|c| !c.is_control())
            .collect::<String>();
        let said = if said.trim().is_empty() {
            String::new()
        } else {
            format!(": {}", said.trim())
        };
        let message = match code {
            404 | 405 => format!(
                "HTTP {code} from {}: is this an OTLP/HTTP endpoint? (it takes {} at {})",
                self.url,
                signal.word(),
                if signal == Signal::Traces {
                    "/v1/traces"
                } else {
                    "/v1/metrics"
                }
            ),
            415 => format!("HTTP 415 from {}: it does not take protobuf bodies{said}", self.url),
            _ => format!("HTTP {code} from {}{said}", self.url),
        };
        // The specification's retryable answers; 400 is bad data, and a URL
        // that takes no OTLP will not take it later either.
        let again_soon = matches!(code, 429 | 502 | 503 | 504);
        Refusal {
            message,
            retry: !matches!(code, 400 | 404 | 405 | 413 | 415),
            again_soon,
            retry_after: retry_after.filter(|_| again_soon),
            denied: match code {
                401 => Some("HTTP 401"),
                403 => Some("HTTP 403"),
                _ => None,
            },
        }
    }
}
