//! The `#[traced]` attribute of [zen-telemetry](https://docs.rs/zen-telemetry).
//!
//! Use it through `zen_telemetry::traced`; this crate is an implementation
//! detail and its generated code calls `zen_telemetry::__private`.

#![forbid(unsafe_code)]

mod args;
mod async_fn;
mod captures;
mod expand;
mod fallback;
mod impl_block;
mod item;

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
/// For a method traced with its own attribute the default name is
/// `module::method`, **without the type**: an attribute on a method cannot
/// see the type of its `impl` block, and `std::any::type_name::<Self>()` is
/// not usable at compile time on stable Rust, so including it would cost a
/// computation per call. Put `#[traced]` on the `impl` block instead (see
/// [below](#on-an-impl-block)) for `module::Type::method`, or name the span:
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
/// # Objectives: `objective(success = ..., latency_ms = ...)`
///
/// A function may declare what `zen telemetry monitoring`'s alerts hold it
/// to: the percent of calls that end in neither an error nor a panic
/// (`90`, `95`, `99`, `99.5`, `99.9`, `99.95` or `99.99`) and a latency in
/// milliseconds (a bucket bound of `function.calls.duration`: 0.1 to 10 000,
/// as in `BUCKET_BOUNDS_SECONDS`). Another value is a compile error. They
/// ride on the function's metric points as the labels `objective_success`
/// and `objective_latency_ms`; spans are unchanged.
///
/// ```
/// use zen_telemetry::traced;
///
/// #[traced("checkout.pay", objective(success = 99.9, latency_ms = 250))]
/// fn pay() -> Result<(), String> {
///     Ok(())
/// }
///
/// let capture = zen_telemetry::testing::capture();
/// assert!(pay().is_ok());
/// assert_eq!(capture.metrics().function("checkout.pay").total(), 1);
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
/// # On an impl block
///
/// `#[traced]` on an `impl` block, inherent or of a trait, traces every method
/// that has a body, and since the type is then visible, default names include
/// it: `module::Type::method` (the last segment of the type's path, without
/// generics, for `impl<T> Cart<T>` and `impl Display for Cart` alike).
/// Options on the block (`kind`, `attrs`, `objective`, `crate`, and `prefix = "..."`,
/// which names spans `prefix` followed by the method name) apply to every
/// method. A method's own `#[traced(...)]` overrides them for that method:
/// each option it gives replaces the block's, except `attrs`, which are
/// merged (the method's value wins for a key given on both).
/// `#[traced(skip)]` leaves a method untraced; `skip` takes no other option.
/// A `const fn` in the block is left as written.
///
/// ```
/// use opentelemetry::trace::SpanKind;
/// use opentelemetry::Value;
/// use zen_telemetry::traced;
///
/// struct Cart(Vec<u32>);
///
/// #[traced(kind = server, attrs(component = "cart"))]
/// impl Cart {
///     fn total(&self) -> u32 {
///         self.0.iter().sum()
///     }
///
///     async fn add(&mut self, item: u32) -> usize {
///         self.0.push(item);
///         self.0.len()
///     }
///
///     #[traced("cart.clear", kind = client)]
///     fn clear(&mut self) {
///         self.0.clear();
///     }
///
///     #[traced(skip)]
///     fn len(&self) -> usize {
///         self.0.len()
///     }
/// }
///
/// let capture = zen_telemetry::testing::capture();
/// let mut cart = Cart(vec![1]);
/// assert_eq!(futures::executor::block_on(cart.add(2)), 2);
/// assert_eq!(cart.total(), 3);
/// assert_eq!(cart.len(), 2);
/// cart.clear();
/// let spans = capture.spans();
/// let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
/// assert_eq!(names, [
///     concat!(module_path!(), "::Cart::add"),
///     concat!(module_path!(), "::Cart::total"),
///     "cart.clear",
/// ]);
/// assert_eq!(spans[0].kind, SpanKind::Server);
/// assert_eq!(spans[2].kind, SpanKind::Client);
/// assert_eq!(spans[2].attribute("component"), Some(&Value::from("cart")));
/// ```
///
/// Trait impls work the same way, `async fn` methods included, and so do
/// `#[async_trait]` impls, whichever of the two attributes comes first:
///
/// ```
/// use std::fmt;
/// use zen_telemetry::traced;
///
/// struct Flat;
///
/// #[traced(prefix = "pricing.")]
/// impl fmt::Display for Flat {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
///         f.write_str("flat")
///     }
/// }
///
/// let capture = zen_telemetry::testing::capture();
/// assert_eq!(Flat.to_string(), "flat");
/// assert_eq!(capture.spans()[0].name, "pricing.fmt");
/// ```
///
/// # Renamed and re-exported dependencies: `crate = path`
///
/// The generated code calls `::zen_telemetry::__private`. When the crate has
/// another name where the attribute is used (a renamed dependency,
/// `telemetry = { package = "zen-telemetry", .. }`, or a facade crate that
/// re-exports it), say where it is with `crate = path`, as you would with
/// serde's `#[serde(crate = "...")]`:
///
/// ```
/// // As `telemetry = { package = "zen-telemetry" }` in Cargo.toml would:
/// extern crate zen_telemetry as telemetry;
///
/// #[telemetry::traced(crate = telemetry, "renamed.load")]
/// fn load() -> u32 {
///     telemetry::span_attributes!(cache.hit = true);
///     7
/// }
///
/// // A facade crate: `pub use zen_telemetry as telemetry; pub use zen_telemetry::traced;`,
/// // used as `#[my_facade::traced(crate = my_facade::telemetry)]`.
///
/// let capture = telemetry::testing::capture();
/// assert_eq!(load(), 7);
/// assert_eq!(capture.spans()[0].name, "renamed.load");
/// ```
///
/// # Editions
///
/// `#[traced]` works the same on edition 2015, 2018, 2021 and 2024 crates
/// (`async` shapes from 2018 on, as the language has them). On editions before
/// 2024 an `impl Future` return captures only the lifetimes its bounds name,
/// where an `async fn` captures them all; so when it turns an `async fn` into
/// `fn -> impl Future` to start the span at the call, the attribute names the
/// elided lifetimes of the arguments and bounds the return with
/// `zen_telemetry::__private::Captures<..>` (implemented by every type, so it
/// promises nothing) over every lifetime of the arguments, and over `Self`
/// when the arguments mention it (which covers a lifetime of the `impl`
/// block's type, `impl<'a> Parser<'a>`). This holds for `&self` and
/// `&mut self`, several elided references, explicit lifetimes, `'_` in
/// paths, `impl Trait` arguments, generic methods, trait impls of native
/// `async fn` trait methods (where the bound is allowed with
/// `refining_impl_trait`; a trait impl traced through its block needs none),
/// default methods, and `#[async_trait]` and `-> impl Future` bodies (left
/// with their own signatures). No shape falls back to first-poll start
/// because of the edition.
///
/// One thing cannot be seen by an attribute: a lifetime hidden in a path,
/// `fn f(&self, r: Ref<u8>)` for `Ref<'_, u8>`. On editions before 2024 write
/// it as `'_` (the `elided_lifetimes_in_paths` lint of `rust_2018_idioms` asks
/// for that anyway); otherwise that `async fn` fails with E0700.
///
/// ```edition2021
/// use std::cell::Cell;
/// use zen_telemetry::traced;
///
/// struct Parser<'a> {
///     input: Cell<&'a str>,
/// }
///
/// impl<'a> Parser<'a> {
///     #[traced]
///     async fn rest(&self, skip: &str) -> &'a str {
///         self.input.get().trim_start_matches(skip)
///     }
///
///     #[traced]
///     async fn longest<'s>(&'s self, other: &'s str) -> &'s str {
///         let own = self.input.get();
///         if own.len() >= other.len() { own } else { other }
///     }
/// }
///
/// let capture = zen_telemetry::testing::capture();
/// let parser = Parser { input: Cell::new("--abc") };
/// let future = parser.rest("-"); // the span starts here, on edition 2021 too
/// assert_eq!(futures::executor::block_on(future), "abc");
/// assert_eq!(futures::executor::block_on(parser.longest("ab")), "--abc");
/// assert_eq!(capture.spans().len(), 2);
/// ```
///
/// ```edition2015
/// extern crate zen_telemetry;
///
/// use zen_telemetry::traced;
///
/// struct Counter(u32);
///
/// #[traced]
/// impl Counter {
///     fn get(&self) -> u32 {
///         self.0
///     }
/// }
///
/// #[traced(attrs(n = n))]
/// fn double(n: u32) -> Result<u32, String> {
///     n.checked_mul(2).ok_or_else(|| "overflow".to_owned())
/// }
///
/// fn main() {
///     let capture = zen_telemetry::testing::capture();
///     assert_eq!(Counter(3).get(), 3);
///     assert!(double(u32::MAX).is_err());
///     assert_eq!(capture.spans()[1].error(), Some("overflow"));
/// }
/// ```
///
/// # Where it applies
///
/// Any `fn` with a body: free functions, methods with any receiver
/// (`self`, `&self`, `&mut self`, `self: Box<Self>`, `self: Pin<&mut Self>`),
/// trait default methods, generic functions, `unsafe fn`, `extern "C" fn`,
/// `async fn`, and `impl` blocks (inherent or of a trait). Attributes, doc
/// comments, visibility and the signature are kept as written, but for an
/// `async fn`'s lifetimes, named as [above](#editions). Not on a `const fn` (a
/// span cannot be recorded at compile time), nor on a trait, a module, a
/// struct, a closure or anything else: each gives one precise error.
#[proc_macro_attribute]
pub fn traced(args: TokenStream, item: TokenStream) -> TokenStream {
    item::traced(args.into(), item.into()).into()
}
