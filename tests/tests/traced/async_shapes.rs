//! Async fn in traits (native and `async_trait`) and fns returning futures.

use std::future::Future;
use std::pin::Pin;

use opentelemetry::Value;
use zen_telemetry::testing::{CapturedSpan, capture};
use zen_telemetry::traced;

use crate::cancellation::slow_async;
use crate::parents::{INNER_SYNC, inner_sync};
use crate::{YieldOnce, assert_child_of, find, tokio_runtime};

trait Service {
    async fn call(&self, n: u32) -> Result<u32, String>;

    #[traced]
    async fn default_method(&self) -> u32 {
        self.call(1).await.unwrap_or(0)
    }
}

struct Native;

impl Service for Native {
    #[traced("Native::call")]
    async fn call(&self, n: u32) -> Result<u32, String> {
        YieldOnce(false).await;
        if n == 0 {
            Err("native zero".to_owned())
        } else {
            Ok(n * 10)
        }
    }
}

#[async_trait::async_trait]
trait Dynamic: Send + Sync {
    async fn run(&self, input: &str) -> Result<usize, String>;

    #[traced("Dynamic::provided")]
    async fn provided(&self) -> usize {
        self.run("abc").await.unwrap_or(0)
    }
}

struct Impl {
    offset: usize,
}

#[async_trait::async_trait]
impl Dynamic for Impl {
    #[traced(attrs(input.len = input.len()))]
    async fn run(&self, input: &str) -> Result<usize, String> {
        tokio::task::yield_now().await;
        if input.is_empty() {
            return Err("empty input".into());
        }
        Ok(input.len() + self.offset + inner_sync() as usize)
    }
}

#[test]
fn async_fn_in_traits_native() {
    let capture = capture();
    futures::executor::block_on(async {
        assert_eq!(Native.default_method().await, 10);
        assert_eq!(Native.call(0).await, Err("native zero".to_owned()));
    });
    let spans = capture.spans();
    let calls: Vec<&CapturedSpan> = spans.iter().filter(|s| s.name == "Native::call").collect();
    let default = find(&spans, concat!(module_path!(), "::default_method"));
    assert_child_of(calls[0], default);
    assert!(calls[0].is_ok());
    assert_eq!(calls[1].error(), Some("native zero"));
    assert_eq!(calls[1].parent_span_id, None);
}

#[test]
fn async_trait_methods() {
    let capture = capture();
    let rt = tokio_runtime();
    let service: std::sync::Arc<dyn Dynamic> = std::sync::Arc::new(Impl { offset: 1 });
    let spawned = service.clone();
    let (a, b, c) = rt.block_on(async move {
        let a = tokio::spawn(async move { spawned.run("ab").await }).await.unwrap();
        (a, service.run("").await, service.provided().await)
    });
    drop(rt);
    assert_eq!(a, Ok(4));
    assert_eq!(b, Err("empty input".to_owned()));
    assert_eq!(c, 5);
    let spans = capture.spans();
    let runs: Vec<&CapturedSpan> = spans.iter().filter(|s| s.name.ends_with("::run")).collect();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0].attribute("input.len"), Some(&Value::I64(2)));
    assert!(runs[0].is_ok());
    assert_eq!(runs[1].error(), Some("empty input"));
    let provided = find(&spans, "Dynamic::provided");
    assert_child_of(runs[2], provided);
    let inner: Vec<&CapturedSpan> = spans.iter().filter(|s| s.name.ends_with("::inner_sync")).collect();
    assert_child_of(inner[0], runs[0]);
}

#[traced]
fn boxed_future(n: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async move {
        YieldOnce(false).await;
        n + inner_sync()
    })
}

#[traced]
fn borrowing_future(s: &str) -> impl Future<Output = usize> + '_ {
    async { s.len() }
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[test]
fn future_returning_fns() {
    let capture = capture();
    assert_eq!(futures::executor::block_on(assert_send(boxed_future(1))), 2);
    assert_eq!(futures::executor::block_on(borrowing_future("abc")), 3);
    assert_eq!(futures::executor::block_on(assert_send(slow_async())), 1);
    let spans = capture.spans();
    let boxed = find(&spans, concat!(module_path!(), "::boxed_future"));
    assert_child_of(find(&spans, INNER_SYNC), boxed);
    assert!(find(&spans, concat!(module_path!(), "::borrowing_future")).is_ok());
}
