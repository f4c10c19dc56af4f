//! A facade over zen-telemetry: users depend on this crate only, and trace
//! with `#[zen_facade::traced(crate = zen_facade::telemetry)]`.

pub use zen_telemetry as telemetry;
pub use zen_telemetry::{span_attributes, traced};
