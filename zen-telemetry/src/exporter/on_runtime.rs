//! The private runtime that network requests run on: one worker thread, so
//! the host program needs no runtime and a host runtime is never touched.

use std::sync::OnceLock;

/// The private runtime that network exporters run on.
pub(crate) fn tokio_runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("zen-telemetry-rt")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the export runtime: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}
