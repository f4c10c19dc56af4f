//! Shared pieces for the cross-crate tests: loopback fakes that speak the
//! real wire protocols, and helpers to run the probe binaries.

pub mod collector;
pub mod failing;
pub mod probe;
