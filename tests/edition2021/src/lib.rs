//! `#[traced]` on an edition-2021 crate (issue #13): every shape the rustdoc
//! of `traced` promises, built under `#![deny(warnings)]`.
//!
//! On edition 2021 an `impl Trait` return captures only the lifetimes its
//! bounds name, while an `async fn` captures all of them: the attribute,
//! which turns `async fn` into `fn -> impl Future` to start the span at the
//! call, must name them all. The behaviour tests are in `tests/`.

#![deny(warnings)]

use std::borrow::Cow;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use zen_telemetry::traced;

/// Pending on its first poll, ready on the second.
#[derive(Debug, Default)]
pub struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Methods with every kind of elided and explicit lifetime.
#[derive(Debug, Clone, Default)]
pub struct Counter {
    /// The count.
    pub n: u64,
}

impl Counter {
    /// `&self` plus a value: the shape of the issue.
    #[traced]
    pub async fn async_method(&self, by: u64) -> u64 {
        YieldOnce::default().await;
        self.n + by
    }

    /// `&mut self`.
    #[traced]
    pub async fn add(&mut self, by: u64) -> u64 {
        YieldOnce::default().await;
        self.n += by;
        self.n
    }

    /// `&self` plus a `&str`.
    #[traced]
    pub async fn label(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.n)
    }

    /// Several elided references, one of them `&mut`.
    #[traced]
    pub async fn several(&self, a: &str, b: &[u8], out: &mut Vec<u8>) -> usize {
        out.extend_from_slice(a.as_bytes());
        out.extend_from_slice(b);
        out.len() + self.n as usize
    }

    /// An explicit lifetime, as in the issue.
    #[traced]
    pub async fn explicit<'s>(&'s self, other: &'s str) -> &'s str {
        if self.n == 0 {
            other
        } else {
            "counted"
        }
    }

    /// An elided output lifetime: it is the receiver's.
    #[traced]
    pub async fn count_ref(&self, _unused: &str) -> &u64 {
        &self.n
    }

    /// `'_` in a path.
    #[traced]
    pub async fn cow_len(&self, text: Cow<'_, str>) -> usize {
        text.len() + self.n as usize
    }

    /// A trait object behind an elided reference, with its own elided lifetimes.
    #[traced]
    pub async fn apply(&self, f: &dyn Fn(&str) -> usize, input: &str) -> usize {
        f(input) + self.n as usize
    }

    /// `impl Trait` arguments, one of them with an elided lifetime inside.
    #[traced]
    pub async fn sum(&self, items: impl IntoIterator<Item = u64>, more: impl Iterator<Item = &u64>) -> u64 {
        items.into_iter().sum::<u64>() + more.sum::<u64>() + self.n
    }

    /// A generic method with a bound and a where clause.
    #[traced]
    pub async fn generic<T, U: AsRef<str>>(&self, value: T, text: &U) -> (T, usize)
    where
        T: Clone + Send,
    {
        (value.clone(), text.as_ref().len())
    }

    /// A `Result`, for the error status.
    #[traced]
    pub async fn parse(&self, input: &str) -> Result<u64, std::num::ParseIntError> {
        YieldOnce::default().await;
        Ok(input.trim().parse::<u64>()? + self.n)
    }

    /// By value.
    #[traced]
    pub async fn into_n(self) -> u64 {
        self.n
    }

    /// A typed receiver.
    #[traced]
    pub async fn boxed(self: Box<Self>, by: &u64) -> u64 {
        self.n + by
    }

    /// No lifetime at all.
    #[traced]
    pub async fn make(n: u64) -> Self {
        Counter { n }
    }

    /// Never finishes by itself: for cancellation.
    #[traced]
    pub async fn forever(&self) -> u64 {
        std::future::pending::<()>().await;
        self.n
    }
}

/// A type with a lifetime of its own, invariant (a `Cell`), which a
/// method's attribute cannot see.
#[derive(Debug)]
pub struct Parser<'a> {
    input: Cell<&'a str>,
}

impl<'a> Parser<'a> {
    /// An explicit lifetime of the block in the arguments.
    #[traced]
    pub async fn new(input: &'a str) -> Parser<'a> {
        Parser {
            input: Cell::new(input),
        }
    }

    /// `&self` of a type with a lifetime.
    #[traced]
    pub async fn rest(&self) -> &'a str {
        self.input.get()
    }

    /// `self` of a type with a lifetime.
    #[traced]
    pub async fn into_len(self) -> usize {
        self.input.get().len()
    }

    /// `Self` in an argument.
    #[traced]
    pub async fn same(&self, other: &Self) -> bool {
        self.input.get() == other.input.get()
    }
}

/// Two elided lifetimes in a free function.
#[traced]
pub async fn total_len(a: &str, b: &str) -> usize {
    YieldOnce::default().await;
    a.len() + b.len()
}

/// Explicit lifetimes in a free function, one of them bounded.
#[traced]
pub async fn longest<'a, 'b: 'a>(a: &'a str, b: &'b str) -> &'a str {
    if a.len() >= b.len() {
        a
    } else {
        b
    }
}

/// Calls two traced children, for parenting.
#[traced]
pub async fn parent(counter: &Counter) -> u64 {
    let a = counter.async_method(1).await;
    let b = total_len("ab", "c").await as u64;
    a + b
}

/// A `-> impl Future` with an async tail that borrows.
#[traced]
pub fn borrowed_len(text: &str) -> impl Future<Output = usize> + '_ {
    let start = text.len();
    async move { start + text.len() }
}

/// A `-> impl Future + Send + 'static` with an async tail.
#[traced]
pub fn doubled(n: u32) -> impl Future<Output = u32> + Send + 'static {
    let twice = n * 2;
    async move {
        YieldOnce::default().await;
        twice
    }
}

/// A trait whose methods return `impl Future + Send`, implemented with
/// `async fn`.
pub trait Store {
    /// Reads a key.
    fn get(&self, key: &str) -> impl Future<Output = Result<u64, String>> + Send;

    /// A traced default method.
    #[traced]
    fn get_or_zero(&self, key: &str) -> impl Future<Output = u64> + Send
    where
        Self: Sync,
    {
        async move { self.get(key).await.unwrap_or(0) }
    }
}

/// A native `async fn` in a trait.
#[allow(async_fn_in_trait)]
pub trait Greeter {
    /// Greets.
    async fn greet(&self, name: &str) -> String;

    /// A traced default `async fn`.
    #[traced]
    async fn greet_twice(&self, name: &str) -> String {
        let once = self.greet(name).await;
        format!("{once} {once}")
    }
}

/// An in-memory store.
#[derive(Debug, Default)]
pub struct MemStore {
    /// The only key it holds, with value 1.
    pub key: String,
}

impl Store for MemStore {
    #[traced]
    async fn get(&self, key: &str) -> Result<u64, String> {
        YieldOnce::default().await;
        if key == self.key {
            Ok(1)
        } else {
            Err(format!("no key {key}"))
        }
    }
}

/// A greeter traced method by method.
#[derive(Debug, Default)]
pub struct Polite;

impl Greeter for Polite {
    #[traced]
    async fn greet(&self, name: &str) -> String {
        format!("hello {name}")
    }
}

/// A greeter traced with one attribute on the impl block.
#[derive(Debug, Default)]
pub struct Terse;

#[traced]
impl Greeter for Terse {
    async fn greet(&self, name: &str) -> String {
        format!("hi {name}")
    }
}

/// A store traced with one attribute on the impl block, with options.
#[derive(Debug, Default)]
pub struct Remote {
    /// Added to every value.
    pub offset: u64,
}

#[traced(kind = client)]
impl Store for Remote {
    async fn get(&self, key: &str) -> Result<u64, String> {
        YieldOnce::default().await;
        key.parse::<u64>().map(|n| n + self.offset).map_err(|e| e.to_string())
    }
}

#[traced]
impl Remote {
    /// Traced as `Remote::ping`.
    pub async fn ping<'a>(&self, payload: &'a str, _other: &str) -> &'a str {
        payload
    }

    /// Traced as `remote.sync_call`.
    #[traced("remote.sync_call")]
    pub fn sync_call(&self, n: u64) -> u64 {
        n + self.offset
    }

    /// Untraced.
    #[traced(skip)]
    pub fn untraced(&self) -> u64 {
        self.offset
    }

    /// A `const fn` is left as written.
    pub const fn offset(&self) -> u64 {
        self.offset
    }
}

/// An `#[async_trait]` trait.
#[async_trait::async_trait]
pub trait Dynamic: Send + Sync {
    /// Runs.
    async fn run(&self, input: &str) -> Result<usize, String>;
}

/// `#[async_trait]` then a per-method `#[traced]`.
#[derive(Debug, Default)]
pub struct PerMethod;

#[async_trait::async_trait]
impl Dynamic for PerMethod {
    #[traced]
    async fn run(&self, input: &str) -> Result<usize, String> {
        YieldOnce::default().await;
        if input.is_empty() {
            Err("empty".to_owned())
        } else {
            Ok(input.len())
        }
    }
}

/// `#[async_trait]` above `#[traced]` on the block.
#[derive(Debug, Default)]
pub struct AsyncTraitFirst;

#[async_trait::async_trait]
#[traced]
impl Dynamic for AsyncTraitFirst {
    async fn run(&self, input: &str) -> Result<usize, String> {
        Ok(input.len() * 2)
    }
}

/// `#[traced]` above `#[async_trait]` on the block.
#[derive(Debug, Default)]
pub struct TracedFirst;

#[traced]
#[async_trait::async_trait]
impl Dynamic for TracedFirst {
    async fn run(&self, input: &str) -> Result<usize, String> {
        Ok(input.len() * 3)
    }
}

/// Objectives declared in code, on an async fn.
#[traced("edition2021.objective", objective(success = 99.9, latency_ms = 250))]
pub async fn with_objective(input: &str) -> Result<usize, String> {
    Ok(input.len())
}
