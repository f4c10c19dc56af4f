//! Behaviour of `#[traced]`, observed through `zen_telemetry::testing`.
//!
//! One module per aspect, each readable on its own as documentation of what
//! the attribute does:
//!
//! - [`names`]: span names (default, positional, `name =`) and kinds.
//! - [`results`]: `Result` and `Option` returns set the span status.
//! - [`scrubbed`]: error and panic messages are scrubbed before export.
//! - [`panics`]: panics are recorded and resumed unchanged.
//! - [`attributes`]: `attrs(...)` and `span_attributes!`, evaluated only when recorded.
//! - [`parents`]: nesting across calls, threads, tasks and the OpenTelemetry API.
//! - [`cancellation`]: dropped futures end their span as cancelled.
//! - [`shapes`]: methods, generics, unusual signatures, control flow.
//! - [`async_shapes`]: async fn in traits, `async_trait`, future-returning fns.
//! - [`hygiene`]: user items named like std items.
//! - [`argument_lifetimes`]: async fn arguments live as long as the future.
//!
//! Span names default to `module_path!()`, so the tests compare against
//! `concat!(module_path!(), "::fn_name")` of the module the fn is defined in.

use std::future::Future;
use std::pin::Pin;
use std::task::{Poll, Waker};

use zen_telemetry::testing::CapturedSpan;
// The one span named `name` (every section asserts on spans by name).
use zen_telemetry::testing::span_named as find;

mod argument_lifetimes;
mod async_shapes;
mod attributes;
mod cancellation;
mod hygiene;
mod names;
mod panics;
mod parents;
mod results;
mod scrubbed;
mod shapes;

/// `child`'s parent is `parent`, in the same trace.
fn assert_child_of(child: &CapturedSpan, parent: &CapturedSpan) {
    assert!(
        child.is_child_of(parent),
        "{} is not a child of {}",
        child.name,
        parent.name
    );
}

/// A multi-thread runtime with two workers.
fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Polls `fut` once with a no-op waker.
fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut std::task::Context::from_waker(Waker::noop()))
}

/// A future that is pending on its first poll and ready on the second.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
