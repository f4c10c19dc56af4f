//! The arguments of an async fn, even unused or `_`, live as long as the future.

use zen_telemetry::testing::capture;
use zen_telemetry::traced;

use crate::{YieldOnce, poll_once};

struct DropFlag(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[traced]
async fn holds_unused_guard(_guard: DropFlag, (a, _): (u32, DropFlag), _: DropFlag) -> u32 {
    YieldOnce(false).await;
    a
}

#[test]
fn async_fn_arguments_live_as_long_as_the_future() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let capture = capture();
    let flags: Vec<Arc<AtomicBool>> = (0..3).map(|_| Arc::new(AtomicBool::new(false))).collect();
    let mut fut = Box::pin(holds_unused_guard(
        DropFlag(flags[0].clone()),
        (7, DropFlag(flags[1].clone())),
        DropFlag(flags[2].clone()),
    ));
    assert!(poll_once(fut.as_mut()).is_pending());
    for flag in &flags {
        assert!(
            !flag.load(Ordering::SeqCst),
            "an argument was dropped before the future ended"
        );
    }
    assert_eq!(futures::executor::block_on(fut), 7);
    for flag in &flags {
        assert!(flag.load(Ordering::SeqCst));
    }
    assert!(capture.spans()[0].is_ok());
}
