//! Where OTLP export goes, per signal: the endpoint and headers of the
//! standard `OTEL_EXPORTER_OTLP_*` variables, checked where they are read.
//! Nothing after loading reads these variables again.

use std::fmt;

use super::env::EnvReader;

/// Where OTLP goes when no `OTEL_EXPORTER_OTLP_*ENDPOINT` says.
pub const DEFAULT_OTLP_ENDPOINT: &str = "http://localhost:4317";

/// One signal's OTLP destination.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtlpDestination {
    /// An absolute `http://` or `https://` URL; `None`: not configured
    /// (the `otlp` exporter then sends to [`DEFAULT_OTLP_ENDPOINT`]).
    pub endpoint: Option<String>,
    /// The variable whose value was not a URL and was ignored, if any.
    pub rejected_endpoint: Option<&'static str>,
    /// Request headers: lower-case names, percent-decoded values. Values
    /// may be secrets: `Debug` shows only the names.
    pub headers: Vec<(String, String)>,
}

impl OtlpDestination {
    /// The endpoint in force: the configured one, else the default.
    pub fn endpoint_or_default(&self) -> &str {
        self.endpoint.as_deref().unwrap_or(DEFAULT_OTLP_ENDPOINT)
    }
}

impl fmt::Debug for OtlpDestination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("OtlpDestination")
            .field("endpoint", &self.endpoint)
            .field("rejected_endpoint", &self.rejected_endpoint)
            .field("header_names", &names)
            .finish()
    }
}

/// The OTLP destinations of spans and metric points.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtlpSettings {
    /// Spans: `OTEL_EXPORTER_OTLP_TRACES_*`, else `OTEL_EXPORTER_OTLP_*`.
    pub traces: OtlpDestination,
    /// Metric points: `OTEL_EXPORTER_OTLP_METRICS_*`, else `OTEL_EXPORTER_OTLP_*`.
    pub metrics: OtlpDestination,
}

/// Reads both signals' destinations, warning once per bad variable.
pub(crate) fn read(reader: &mut EnvReader<'_>) -> OtlpSettings {
    let generic_endpoint = endpoint(reader, "OTEL_EXPORTER_OTLP_ENDPOINT");
    let generic_headers = headers(reader, "OTEL_EXPORTER_OTLP_HEADERS");
    let mut signal = |endpoint_variable: &'static str, headers_variable: &'static str| {
        let own = endpoint(reader, endpoint_variable);
        let (endpoint, rejected_endpoint) = match (own, &generic_endpoint) {
            (Checked::Valid(url), _) => (Some(url), None),
            (Checked::Unset, Checked::Valid(url)) => (Some(url.clone()), None),
            (Checked::Invalid, Checked::Valid(url)) => (Some(url.clone()), Some(endpoint_variable)),
            (Checked::Invalid, _) => (None, Some(endpoint_variable)),
            (Checked::Unset, Checked::Invalid) => (None, Some("OTEL_EXPORTER_OTLP_ENDPOINT")),
            (Checked::Unset, Checked::Unset) => (None, None),
        };
        OtlpDestination {
            endpoint,
            rejected_endpoint,
            headers: headers(reader, headers_variable).unwrap_or_else(|| generic_headers.clone().unwrap_or_default()),
        }
    };
    OtlpSettings {
        traces: signal(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        ),
        metrics: signal(
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
        ),
    }
}

enum Checked {
    Unset,
    Invalid,
    Valid(String),
}

fn endpoint(reader: &mut EnvReader<'_>, variable: &'static str) -> Checked {
    let Some(raw) = reader.non_empty(variable) else {
        return Checked::Unset;
    };
    if let Some(url) = checked_endpoint(&raw) {
        return Checked::Valid(url);
    }
    reader.warn(
        variable,
        raw,
        "an absolute http:// or https:// URL with a host (e.g. http://localhost:4317); treating it as not set",
    );
    Checked::Invalid
}

/// `text` as an endpoint (without a trailing `/`), when it is an absolute
/// `http://` or `https://` URL with a host.
pub(crate) fn checked_endpoint(text: &str) -> Option<String> {
    is_http_url(text).then(|| text.trim_end_matches('/').to_owned())
}

/// An absolute `http://` or `https://` URL with a host.
fn is_http_url(text: &str) -> bool {
    text.parse::<http::Uri>().is_ok_and(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some_and(|host| !host.is_empty())
    })
}

/// The pairs of a headers variable (`name=value,…`, values percent-encoded,
/// as the OTel specification says); `None` when unset. Bad pairs are
/// dropped with one warning naming each by position and why, never
/// echoing a value, which may be a secret.
fn headers(reader: &mut EnvReader<'_>, variable: &'static str) -> Option<Vec<(String, String)>> {
    let raw = reader.non_empty(variable)?;
    let mut pairs = Vec::new();
    let mut problems = Vec::new();
    for (index, pair) in raw.split(',').enumerate() {
        match header(pair) {
            Ok(header) => pairs.push(header),
            Err(problem) => problems.push(format!("pair {} {problem}", index + 1)),
        }
    }
    if !problems.is_empty() {
        reader.warn(
            variable,
            format!("({} pairs; values not shown)", raw.split(',').count()),
            &format!(
                "name=value pairs separated by commas, values percent-encoded; dropped {}",
                problems.join(", ")
            ),
        );
    }
    Some(pairs)
}

fn header(pair: &str) -> Result<(String, String), &'static str> {
    let pair = pair.trim();
    if pair.is_empty() {
        return Err("is empty");
    }
    let (name, value) = pair.split_once('=').ok_or("has no '='")?;
    let name = percent_decoded(name.trim())
        .ok_or("has a malformed percent-escape")?
        .to_ascii_lowercase();
    let value = percent_decoded(value.trim()).ok_or("has a malformed percent-escape")?;
    checked_header(&name, &value)?;
    Ok((name, value))
}

/// Whether `name` (lower case, decoded) and `value` (decoded) make an HTTP
/// header; why not, when they do not.
pub(crate) fn checked_header(name: &str, value: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("has an empty name");
    }
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err("has a name that is not an HTTP header name");
    }
    if http::HeaderValue::from_str(value).is_err() {
        return Err("has a value that is not a valid header value");
    }
    Ok(())
}

/// `text` with its `%XX` escapes decoded; `None` when an escape is
/// malformed (the decoder would pass it through as text) or the result is
/// not UTF-8.
fn percent_decoded(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let escapes_whole = bytes.iter().enumerate().filter(|(_, b)| **b == b'%').all(|(at, _)| {
        bytes
            .get(at + 1..at + 3)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !escapes_whole {
        return None;
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_from(vars: &[(&str, &str)]) -> (OtlpSettings, Vec<super::super::env::ConfigWarning>) {
        let lookup = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned());
        let mut reader = EnvReader {
            lookup: &lookup,
            warnings: Vec::new(),
        };
        let settings = read(&mut reader);
        (settings, reader.warnings)
    }

    #[test]
    fn headers_parse_decode_and_drop_bad_pairs_by_position() {
        let (settings, warnings) = read_from(&[(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "api-key=a%20b, X-Team = core ,broken,=empty,,%zz=1,k=%4,a b=1",
        )]);
        assert_eq!(
            settings.traces.headers,
            [
                ("api-key".to_owned(), "a b".to_owned()),
                ("x-team".to_owned(), "core".to_owned())
            ]
        );
        assert_eq!(settings.metrics.headers, settings.traces.headers);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let text = warnings[0].to_string();
        for said in [
            "pair 3 has no '='",
            "pair 4 has an empty name",
            "pair 5 is empty",
            "pair 6 has a malformed percent-escape",
            "pair 7 has a malformed percent-escape",
            "pair 8 has a name that is not an HTTP header name",
        ] {
            assert!(text.contains(said), "{said}: {text}");
        }
        assert!(
            !text.contains("a%20b") && !text.contains("core"),
            "values are never shown: {text}"
        );
    }

    #[test]
    fn endpoints_must_be_http_urls_and_a_bad_one_is_not_set() {
        let (settings, warnings) = read_from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "notaurl")]);
        assert_eq!(settings.traces.endpoint, None);
        assert_eq!(settings.traces.rejected_endpoint, Some("OTEL_EXPORTER_OTLP_ENDPOINT"));
        assert_eq!(settings.traces.endpoint_or_default(), DEFAULT_OTLP_ENDPOINT);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].variable, "OTEL_EXPORTER_OTLP_ENDPOINT");
        assert_eq!(warnings[0].value, "notaurl");

        let (settings, warnings) = read_from(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.example:4317/"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "ftp://x"),
        ]);
        assert_eq!(
            settings.traces.endpoint.as_deref(),
            Some("https://collector.example:4317")
        );
        assert_eq!(
            settings.metrics.endpoint.as_deref(),
            Some("https://collector.example:4317")
        );
        assert_eq!(
            settings.metrics.rejected_endpoint,
            Some("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        );
        assert_eq!(warnings.len(), 1);
        for bad in ["localhost:4317", "http://", "/v1/traces", "127.0.0.1"] {
            assert!(!is_http_url(bad), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_a_header_value() {
        let (settings, _) = read_from(&[("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20s3cr3t")]);
        let shown = format!("{settings:?}");
        assert!(shown.contains("authorization") && !shown.contains("s3cr3t"), "{shown}");
    }
}
