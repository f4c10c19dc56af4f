//! The exit flush's deadline, seen by every request in flight: when the
//! program exits, a request that has not been answered by then gives up and
//! its batch is spooled, whichever thread sent it and whenever it started.

use std::sync::LazyLock;
use std::time::Instant;

use tokio::sync::watch;

static EXIT: LazyLock<watch::Sender<Option<Instant>>> = LazyLock::new(|| watch::channel(None).0);

/// The program is exiting: requests give up at `deadline`.
pub(crate) fn begin(deadline: Instant) {
    EXIT.send_replace(Some(deadline));
}

/// The exit deadline, once the program is exiting.
pub(crate) fn deadline() -> Option<Instant> {
    *EXIT.borrow()
}

/// Resolves when the program is exiting and its deadline has passed.
pub(crate) async fn passed() {
    let mut exit = EXIT.subscribe();
    let deadline = match exit.wait_for(Option::is_some).await {
        Ok(deadline) => *deadline,
        // The sender is a static and never dropped.
        Err(_) => None,
    };
    match deadline {
        Some(deadline) => tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await,
        None => std::future::pending().await,
    }
}
