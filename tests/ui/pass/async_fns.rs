//! async fn, async fn in traits (native and async-trait), `-> impl Future`.

use std::future::Future;
use std::pin::Pin;
use zen_telemetry::traced;

#[traced]
async fn plain(n: u32) -> u32 {
    n + 1
}

#[traced]
async fn borrowed<'a>(s: &'a str, t: &str) -> &'a str {
    let _ = t;
    s
}

#[traced]
async fn fallible(s: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = s.parse()?;
    if n == 0 {
        return Ok(0);
    }
    Ok(plain(n).await)
}

#[traced]
async fn impl_output(n: u32) -> impl std::fmt::Display {
    n
}

#[traced]
async fn unit() {}

#[traced]
fn future(n: u32) -> impl Future<Output = u32> {
    let doubled = n * 2;
    async move { doubled + 1 }
}

#[traced]
fn future_send(n: u32) -> impl Future<Output = Result<u32, String>> + Send + 'static {
    async move {
        if n == 0 {
            return Err("zero".to_owned());
        }
        Ok(n)
    }
}

#[traced]
fn future_borrowing(s: &str) -> impl Future<Output = usize> + '_ {
    async { s.len() }
}

#[traced]
fn boxed(n: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async move { n })
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

trait Service {
    async fn call(&self, n: u32) -> u32;

    #[traced]
    async fn default_method(&self) -> u32 {
        self.call(1).await
    }
}

struct Native;

impl Service for Native {
    #[traced("Native::call")]
    async fn call(&self, n: u32) -> u32 {
        n * 10
    }
}

#[async_trait::async_trait]
trait Dynamic: Send + Sync {
    async fn run(&self, input: &str) -> Result<usize, String>;

    #[traced]
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
        if input.is_empty() {
            return Err("empty".into());
        }
        Ok(input.len() + self.offset)
    }
}

fn main() {
    futures::executor::block_on(async {
        assert_eq!(assert_send(plain(1)).await, 2);
        assert_eq!(borrowed("a", "b").await, "a");
        assert_eq!(assert_send(fallible("3")).await, Ok(4));
        assert!(fallible("x").await.is_err());
        assert_eq!(impl_output(3).await.to_string(), "3");
        unit().await;
        assert_eq!(future(2).await, 5);
        assert_eq!(assert_send(future_send(0)).await, Err("zero".to_owned()));
        assert_eq!(future_borrowing("abc").await, 3);
        assert_eq!(boxed(4).await, 4);
        assert_eq!(Native.default_method().await, 10);
        let dynamic: Box<dyn Dynamic> = Box::new(Impl { offset: 1 });
        assert_eq!(dynamic.run("ab").await, Ok(3));
        assert_eq!(dynamic.run("").await, Err("empty".to_owned()));
        assert_eq!(dynamic.provided().await, 4);
    });
}
