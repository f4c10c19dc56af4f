//! What Google's Telemetry API needs on every resource: the project, and
//! for metric points a location.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};

use super::session::Session;
use crate::exporter::request::OtlpRequest;
use crate::exporter::spool::Signal;

/// Google's resource attributes on every resource of `request`.
pub(crate) async fn prepare<R: OtlpRequest>(session: &Session, request: &mut R) -> Result<(), String> {
    let project = session.project().await?;
    let location = match R::SIGNAL {
        Signal::Metrics => Some(session.location().await),
        Signal::Traces => None,
    };
    for resource in request.resources() {
        set_google_attributes(&mut resource.attributes, project, location);
    }
    Ok(())
}

/// The resource attributes Google needs: the project, and for metric points
/// a location unless the resource already names one.
fn set_google_attributes(attributes: &mut Vec<KeyValue>, project: &str, location: Option<&str>) {
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
    if let Some(location) = location
        && !has_location
    {
        attributes.push(KeyValue {
            key: "cloud.region".to_owned(),
            value: text(location),
            ..Default::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_attributes_keep_a_given_location() {
        let mut attributes = vec![KeyValue {
            key: "cloud.availability_zone".to_owned(),
            ..Default::default()
        }];
        set_google_attributes(&mut attributes, "p-1", Some("global"));
        let keys: Vec<&str> = attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["cloud.availability_zone", "gcp.project_id"]);
        let mut attributes = Vec::new();
        set_google_attributes(&mut attributes, "p-1", Some("us-central1"));
        let keys: Vec<&str> = attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["gcp.project_id", "cloud.region"]);
        let mut attributes = Vec::new();
        set_google_attributes(&mut attributes, "p-1", None);
        let keys: Vec<&str> = attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["gcp.project_id"], "spans carry no location");
    }
}
