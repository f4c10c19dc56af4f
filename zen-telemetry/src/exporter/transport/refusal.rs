//! Why a send failed, in words a person can act on.

use std::time::Duration;

/// Why a send failed, and whether the batch is worth keeping.
#[derive(Debug)]
pub(crate) struct Refusal {
    /// What happened, for a person (`zen telemetry status --check`).
    pub(crate) message: String,
    /// A later try may succeed (the backend was away, slow or overloaded);
    /// false when it refused the data itself.
    pub(crate) retry: bool,
    /// The answer asks for a try again in a moment (it was overloaded or
    /// restarting), not a wait for a later process.
    pub(crate) again_soon: bool,
    /// How long the answer asked to wait (`RetryInfo`, `Retry-After`).
    pub(crate) retry_after: Option<Duration>,
    /// The backend refused the credentials: how it said so (401, 403).
    #[cfg_attr(not(feature = "gcp"), allow(dead_code))]
    pub(crate) denied: Option<&'static str>,
}

impl Refusal {
    /// The backend could not be reached, or did not answer in time.
    pub(crate) fn unreachable(message: String) -> Refusal {
        Refusal {
            message,
            retry: true,
            again_soon: false,
            retry_after: None,
            denied: None,
        }
    }
}

/// `error` and the chain of errors under it, with the causes a person can
/// act on named first: a refused connection, an untrusted certificate.
pub(crate) fn described(endpoint: &str, error: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = String::new();
    let mut hint = None;
    for error in std::iter::successors(Some(error), |error| error.source()) {
        let text = error.to_string();
        if !chain.contains(&text) {
            if !chain.is_empty() {
                chain.push_str(": ");
            }
            chain.push_str(&text);
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                hint = Some(format!(
                    "connection refused by {endpoint}: is the receiver running there?"
                ));
            }
            if let Some(tls) = io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                hint = tls_hint(endpoint, tls).or(hint);
            }
        }
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            hint = tls_hint(endpoint, tls).or(hint);
        }
    }
    // Connectors box their errors, which hides rustls' type from downcasts;
    // its words are stable.
    if hint.is_none() && chain.contains("invalid peer certificate") {
        hint = Some(untrusted(
            endpoint,
            chain.rsplit("invalid peer certificate: ").next().unwrap_or_default(),
        ));
    }
    match hint {
        Some(hint) => format!("{hint} ({chain})"),
        None => format!("{endpoint}: {chain}"),
    }
}

fn tls_hint(endpoint: &str, error: &rustls::Error) -> Option<String> {
    match error {
        rustls::Error::InvalidCertificate(problem) => Some(untrusted(endpoint, &format!("{problem:?}"))),
        rustls::Error::AlertReceived(alert) => Some(format!(
            "TLS: {endpoint} refused the handshake ({alert:?}): does it want a client certificate \
             (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE, OTEL_EXPORTER_OTLP_CLIENT_KEY)?"
        )),
        _ => None,
    }
}

fn untrusted(endpoint: &str, problem: &str) -> String {
    format!(
        "TLS: the certificate of {endpoint} is not trusted ({problem}): set OTEL_EXPORTER_OTLP_CERTIFICATE to the CA \
         that signed it"
    )
}
