//! Google Cloud detection: variables while the program loads, local files
//! when the pipeline starts (never while telemetry is disabled). The metadata
//! server is asked later, on the export thread (`exporter::gcp`), never on
//! the start-up path or in traced code.

mod detect;
mod settings;

pub(crate) use detect::{detect, read_files};
pub use detect::{valid_endpoint, valid_project_id};
pub use settings::{
    CredentialsSource, DEFAULT_ENDPOINT, DEFAULT_METADATA_HOST, GcpProject, GcpSettings, ProjectSource,
};
