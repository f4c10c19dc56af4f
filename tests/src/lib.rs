//! Shared pieces for the cross-crate tests: loopback fakes that speak the
//! real wire protocols, and helpers to run the probe binaries.

pub mod collector;
pub mod counting;
pub mod failing;
pub mod gcp_fakes;
pub mod http_receiver;
pub mod monitoring_api;
pub mod os_tool;
pub mod probe;
pub mod receiver;
pub mod series;
#[cfg(target_os = "linux")]
pub mod watch;

/// A listener on 127.0.0.1 on a free port, and its address: where every fake
/// server here listens.
fn bind_loopback() -> (std::net::TcpListener, std::net::SocketAddr) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    (listener, addr)
}

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// Creates a fresh, empty directory whose name includes `label`.
    pub fn new(label: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "zen-tests-{}-{}-{label}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temp dir");
        TempDir(path)
    }

    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
