//! The `#[traced]` attribute of [zen-telemetry](https://docs.rs/zen-telemetry).
//!
//! Use it through `zen_telemetry::traced`; this crate is an implementation
//! detail and its generated code calls `zen_telemetry::__private`.

#![forbid(unsafe_code)]

mod args;
mod captures;
mod expand;
mod impl_block;

use proc_macro::TokenStream;

/// Records an OpenTelemetry span for every call of a function.
///
/// ```
/// use zen_telemetry::traced;
///
/// #[traced]
/// fn load(path: &str) -> std::io::Result<String> {
///     std::fs::read_to_string(path)
/// }
/// # let _ = load("Cargo.toml");
/// ```
///
/// The span covers the call, has the function's span as parent context for
/// everything inside it (nested `#[traced]` calls, spans made directly with
/// the `opentelemetry` API), and records how the call ended:
///
/// - a [`Result`] return (detected by type, so `io::Result<T>`,
///   `anyhow::Result<T>` and your own aliases work) sets status Ok on `Ok`;
///   on `Err(e)` it sets status Error with `e`'s `Display` text (its `Debug`
///   text if it has no `Display`) as description, and adds an `exception`
///   event with `exception.type` (the error's type name) and
///   `exception.message`;
/// - any other return sets status Ok;
/// - a panic adds an `exception` event (`exception.type = "panic"`, the
///   message when the payload is a `&str` or `String`), sets status Error,
///   ends the span and keeps unwinding with the payload unchanged.
///
/// **Arguments are never recorded** unless you name them in `attrs(...)`.
///
/// When telemetry is off (disabled, or no destination), a traced call costs
/// one relaxed atomic load more than the plain call: no context, no
/// allocation, and the `attrs(...)` expressions are not evaluated. They are
/// not evaluated either when the call is not sampled.
///
/// # Span name
///
/// By default the span is named `module::path::function`, a `&'static str`
/// built at compile time:
///
/// ```
/// use zen_telemetry::traced;
///
/// #[traced]
/// fn checkout() {}
///
/// let capture = zen_telemetry::testing::capture();
/// checkout();
/// assert_eq!(capture.spans()[0].name, concat!(module_path!(), "::checkout"));
/// ```
///
/// For a method the default name is `module::method`, **without the type**:
/// an attribute on a method cannot see the type of its `impl` block, and
/// `std::any::type_name::<Self>()` is not usable at compile time on stable
/// Rust, so including it would cost a computation per call. Name the span to
/// include the type:
///
/// ```
/// use zen_telemetry::traced;
///
/// struct Cart;
///
/// impl Cart {
///     #[traced("Cart::total")]
///     fn total(&self) -> u32 {
///         42
///     }
/// }
///
/// let capture = zen_telemetry::testing::capture();
/// assert_eq!(Cart.total(), 42);
/// assert_eq!(capture.spans()[0].name, "Cart::total");
/// ```
///
/// `#[traced("name")]` and `#[traced(name = "name")]` are the same. The name
/// must be a non-empty string literal.
///
/// ```
/// use zen_telemetry::traced;
///
/// #[traced(name = "orchestrator.run")]
/// fn run() {}
///
/// let capture = zen_telemetry::testing::capture();
/// run();
/// assert_eq!(capture.spans()[0].name, "orchestrator.run");
/// ```
///
/// # Attributes: `attrs(key = value, ...)`
///
/// Keys are identifiers, dotted paths (`zen.instance.name`) or string
/// literals. Values are literals or any expression over the arguments,
/// evaluated before the body runs and **only when the span is recorded**.
/// A value must be a string (`&str`, `String`), a `bool`, an integer or a
/// float (or a reference to one); anything else is a compile error on that
/// expression (convert with `.to_string()`, `as i64` or `as f64`). An
/// expression that moves an argument moves it before the body: borrow
/// instead (`name = user.name.as_str()`).
///
/// ```
/// use opentelemetry::Value;
/// use zen_telemetry::traced;
///
/// #[traced("zen.orchestrator.run", attrs(
///     operation = "main_loop",
///     retries = 3,
///     dry = false,
///     zen.instance.name = instance,
///     batch.size = items.len(),
///     "batch.first" = items.first().copied().unwrap_or_default(),
/// ))]
/// fn run(instance: &str, items: &[u32]) -> u32 {
///     items.iter().sum()
/// }
///
/// let capture = zen_telemetry::testing::capture();
/// assert_eq!(run("zen-1", &[4, 5]), 9);
/// let span = &capture.spans()[0];
/// assert_eq!(span.attribute("operation"), Some(&Value::from("main_loop")));
/// assert_eq!(span.attribute("retries"), Some(&Value::I64(3)));
/// assert_eq!(span.attribute("dry"), Some(&Value::Bool(false)));
/// assert_eq!(span.attribute("zen.instance.name"), Some(&Value::from("zen-1")));
/// assert_eq!(span.attribute("batch.size"), Some(&Value::I64(2)));
/// assert_eq!(span.attribute("batch.first"), Some(&Value::I64(4)));
/// ```
///
/// Attributes known only inside the body are added with
/// `zen_telemetry::span_attributes!`, which is also a no-op (values not
/// evaluated) when nothing is recorded.
///
/// # Span kind: `kind = ...`
///
/// `internal` (the default), `server`, `client`, `producer` or `consumer`.
/// Options combine in any order:
///
/// ```
/// use opentelemetry::trace::SpanKind;
/// use zen_telemetry::traced;
///
/// #[traced(kind = client, "db.query", attrs(db.system = "postgresql"))]
/// fn query() {}
///
/// let capture = zen_telemetry::testing::capture();
/// query();
/// let span = &capture.spans()[0];
/// assert_eq!(span.name, "db.query");
/// assert_eq!(span.kind, SpanKind::Client);
/// ```
///
/// # Errors
///
/// ```
/// use zen_telemetry::traced;
///
/// #[traced]
/// fn parse(input: &str) -> Result<u16, std::num::ParseIntError> {
///     let port = input.trim().parse()?;
///     Ok(port)
/// }
///
/// let capture = zen_telemetry::testing::capture();
/// assert!(parse("80").is_ok());
/// assert!(parse("http").is_err());
/// let spans = capture.spans();
/// assert!(spans[0].is_ok());
/// assert_eq!(spans[1].error(), Some("invalid digit found in string"));
/// let exception = spans[1].event("exception").unwrap();
/// let ty = exception.attribute("exception.type").unwrap().as_str();
/// assert!(ty.contains("ParseIntError"));
/// ```
///
/// # Async
///
/// On an `async fn` (free, in an `impl`, in a trait, or under
/// `#[async_trait]`), the span covers the whole future and is the current
/// context during every poll. A future dropped before completion ends its
/// span with the attribute `zen.cancelled = true`. The future stays `Send`
/// when the body is.
///
/// ```
/// use zen_telemetry::traced;
///
/// #[traced]
/// async fn fetch(id: u32) -> Result<String, String> {
///     if id == 0 { Err("no such id".to_owned()) } else { Ok(format!("item {id}")) }
/// }
///
/// let capture = zen_telemetry::testing::capture();
/// let item = futures::executor::block_on(fetch(7));
/// assert_eq!(item.as_deref(), Ok("item 7"));
/// assert!(capture.spans()[0].is_ok());
/// ```
///
/// The span of an `async fn` starts when the function is **called**, so its
/// parent is the caller's context even when the future is spawned onto
/// another task or thread and polled there. (The attribute turns
/// `async fn f(..) -> T` into `fn f(..) -> impl Future<Output = T>`, moving
/// every argument into the future as `async fn` does. Under `#[tokio::main]`
/// or `#[tokio::test]`, which need an `async fn`, the span starts at the first
/// poll instead.) A future dropped before it completes ends its span with
/// `zen.cancelled = true`.
///
/// The same holds for a function returning `impl Future` whose body ends with
/// an `async` block: statements before the block run at the call, and the
/// block is traced.
///
/// ```
/// use std::future::Future;
/// use zen_telemetry::traced;
///
/// #[traced]
/// fn job(n: u32) -> impl Future<Output = u32> + Send + 'static {
///     let doubled = n * 2; // runs at the call
///     async move { doubled + 1 }
/// }
///
/// let capture = zen_telemetry::testing::capture();
/// let future = job(1); // the span starts here
/// assert_eq!(futures::executor::block_on(future), 3);
/// assert_eq!(capture.spans()[0].name, concat!(module_path!(), "::job"));
/// ```
///
/// The same applies to a body whose tail is `Box::pin(async move { .. })`.
/// A `-> impl Future` function whose body ends with anything else is traced
/// like a plain function: the span covers building the future only.
///
/// # Where it applies
///
/// Any `fn` with a body: free functions, methods with any receiver
/// (`self`, `&self`, `&mut self`, `self: Box<Self>`, `self: Pin<&mut Self>`),
/// trait default methods, generic functions, `unsafe fn`, `extern "C" fn`,
/// `async fn`. Attributes, doc comments, visibility and the signature are kept
/// as written. Not on a `const fn` (a span cannot be recorded at compile
/// time), nor on anything that is not a function.
#[proc_macro_attribute]
pub fn traced(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::traced(args.into(), item.into()).into()
}
