//! A future dropped before it completes ends its span marked `zen.cancelled`.

use std::pin::pin;

use opentelemetry::Value;
use opentelemetry::trace::Status;
use zen_telemetry::testing::capture;
use zen_telemetry::traced;

use crate::parents::future_fn;
use crate::{YieldOnce, poll_once};

/// Pending once, then 1.
#[traced]
pub(crate) async fn slow_async() -> u32 {
    YieldOnce(false).await;
    1
}

#[test]
fn dropped_futures_end_their_span_as_cancelled() {
    let capture = capture();
    {
        let mut fut = pin!(slow_async());
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    {
        let mut fut = pin!(future_fn(1));
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    // Spans start at the call, so dropping a future unpolled cancels it too.
    drop(future_fn(2));
    drop(slow_async());
    let spans = capture.spans();
    assert_eq!(spans.len(), 4, "{spans:#?}");
    for span in &spans {
        assert_eq!(
            span.attribute("zen.cancelled"),
            Some(&Value::Bool(true)),
            "{}",
            span.name
        );
        assert_eq!(span.status, Status::Unset);
    }
    capture.reset();
    assert_eq!(futures::executor::block_on(slow_async()), 1);
    let spans = capture.spans();
    assert_eq!(spans[0].attribute("zen.cancelled"), None);
    assert!(spans[0].is_ok());
}
