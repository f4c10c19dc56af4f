//! `#[traced]` on `impl` blocks, observed through `zen_telemetry::testing`.

use std::fmt;

use opentelemetry::Value;
use opentelemetry::trace::SpanKind;
use zen_telemetry::testing::{CapturedSpan, capture, span_named as find};
use zen_telemetry::traced;

fn names(spans: &[CapturedSpan]) -> Vec<&str> {
    spans.iter().map(|s| s.name.as_str()).collect()
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}

#[derive(Debug, Default)]
struct Cart {
    items: Vec<u32>,
}

#[traced(kind = server, attrs(component = "cart", layer = 1))]
impl Cart {
    fn new() -> Self {
        Cart::default()
    }

    fn add(&mut self, item: u32) -> usize {
        self.items.push(item);
        self.items.len()
    }

    async fn total(&self) -> u32 {
        self.items.iter().sum()
    }

    fn checkout(&self, limit: u32) -> Result<u32, String> {
        let total: u32 = self.items.iter().sum();
        if total > limit {
            Err(format!("{total} over {limit}"))
        } else {
            Ok(total)
        }
    }

    #[traced("cart.clear", kind = client, attrs(layer = 2, items = self.items.len()))]
    fn clear(&mut self) {
        self.items.clear();
    }

    #[traced(skip)]
    fn len(&self) -> usize {
        self.items.len()
    }

    #[traced]
    fn plain_override(&self) {}

    const fn capacity_hint() -> usize {
        16
    }
}

#[test]
fn inherent_methods_are_named_after_the_type() {
    let capture = capture();
    let mut cart = Cart::new();
    cart.add(2);
    cart.add(3);
    assert_eq!(block_on(cart.total()), 5);
    assert_eq!(cart.checkout(10), Ok(5));
    assert_eq!(cart.checkout(1), Err("5 over 1".to_owned()));
    assert_eq!(cart.len(), 2);
    assert_eq!(Cart::capacity_hint(), 16);
    cart.plain_override();
    cart.clear();
    let spans = capture.spans();
    let prefix = concat!(module_path!(), "::Cart::");
    let expected: Vec<String> = ["new", "add", "add", "total", "checkout", "checkout", "plain_override"]
        .iter()
        .map(|m| format!("{prefix}{m}"))
        .chain(["cart.clear".to_owned()])
        .collect();
    assert_eq!(names(&spans), expected, "`len` (skip) and the const fn are untraced");
    for span in &spans[..7] {
        assert_eq!(span.kind, SpanKind::Server, "{}", span.name);
        assert_eq!(span.attribute("component"), Some(&Value::from("cart")), "{}", span.name);
        assert_eq!(span.attribute("layer"), Some(&Value::I64(1)), "{}", span.name);
    }
    assert_eq!(spans[5].error(), Some("5 over 1"));
    assert!(spans[5].event("exception").is_some());
}

#[test]
fn a_method_attribute_overrides_the_block_options() {
    let capture = capture();
    let mut cart = Cart::new();
    cart.add(1);
    capture.reset();
    cart.clear();
    let spans = capture.spans();
    let clear = find(&spans, "cart.clear");
    assert_eq!(clear.kind, SpanKind::Client);
    assert_eq!(
        clear.attribute("layer"),
        Some(&Value::I64(2)),
        "the method's value wins"
    );
    assert_eq!(clear.attribute("items"), Some(&Value::I64(1)));
    assert_eq!(
        clear.attribute("component"),
        Some(&Value::from("cart")),
        "the block's others stay"
    );
}

trait Pricing {
    fn price(&self, item: u32) -> u32;

    async fn quote(&self, items: &[u32]) -> u32;

    fn untouched(&self) -> u32 {
        0
    }
}

struct Flat;

#[traced]
impl Pricing for Flat {
    fn price(&self, item: u32) -> u32 {
        item + 1
    }

    async fn quote(&self, items: &[u32]) -> u32 {
        items.iter().map(|i| self.price(*i)).sum()
    }
}

#[traced]
impl fmt::Display for Flat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("flat")
    }
}

#[test]
fn trait_impls_and_their_async_methods() {
    let capture = capture();
    assert_eq!(block_on(Flat.quote(&[1, 2])), 5);
    assert_eq!(Flat.to_string(), "flat");
    assert_eq!(Flat.untouched(), 0);
    let spans = capture.spans();
    let quote = find(&spans, concat!(module_path!(), "::Flat::quote"));
    let prices: Vec<&CapturedSpan> = spans
        .iter()
        .filter(|s| s.name == concat!(module_path!(), "::Flat::price"))
        .collect();
    assert_eq!(prices.len(), 2);
    for price in prices {
        assert_eq!(price.parent_span_id, Some(quote.span_id));
    }
    find(&spans, concat!(module_path!(), "::Flat::fmt"));
    assert_eq!(
        spans.len(),
        4,
        "the trait's default method is not in the block: {:?}",
        names(&spans)
    );
}

struct Parser<'a, T> {
    input: &'a str,
    extra: T,
}

#[traced(prefix = "parser.")]
impl<'a, T: Clone + Send + Sync> Parser<'a, T> {
    async fn rest(&self) -> &'a str {
        self.input
    }

    async fn into_extra(self) -> T {
        self.extra
    }

    #[traced(name = "parser.peek_named")]
    fn peek(&self) -> Option<char> {
        self.input.chars().next()
    }
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[test]
fn generic_blocks_with_lifetimes_and_a_prefix() {
    let capture = capture();
    let parser = Parser {
        input: "abc",
        extra: 7u8,
    };
    assert_eq!(block_on(assert_send(parser.rest())), "abc");
    assert_eq!(parser.peek(), Some('a'));
    assert_eq!(block_on(assert_send(parser.into_extra())), 7);
    let spans = capture.spans();
    assert_eq!(names(&spans), ["parser.rest", "parser.peek_named", "parser.into_extra"]);
}

#[async_trait::async_trait]
trait Remote: Send + Sync {
    async fn fetch(&self, key: &str) -> Result<usize, String>;
}

struct Before;
struct After;

#[traced]
#[async_trait::async_trait]
impl Remote for Before {
    async fn fetch(&self, key: &str) -> Result<usize, String> {
        if key.is_empty() {
            Err("empty key".to_owned())
        } else {
            Ok(key.len())
        }
    }
}

#[async_trait::async_trait]
#[traced(kind = client)]
impl Remote for After {
    async fn fetch(&self, key: &str) -> Result<usize, String> {
        tokio::task::yield_now().await;
        Ok(key.len() * 2)
    }
}

#[test]
fn async_trait_impl_blocks_in_either_order() {
    let capture = capture();
    let remotes: [Box<dyn Remote>; 2] = [Box::new(Before), Box::new(After)];
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let results = runtime.block_on(async {
        let mut results = Vec::new();
        for remote in &remotes {
            results.push(remote.fetch("ab").await);
        }
        results.push(remotes[0].fetch("").await);
        results
    });
    assert_eq!(results, [Ok(2), Ok(4), Err("empty key".to_owned())]);
    let spans = capture.spans();
    let before = concat!(module_path!(), "::Before::fetch");
    assert_eq!(
        names(&spans),
        [before, concat!(module_path!(), "::After::fetch"), before]
    );
    assert_eq!(spans[1].kind, SpanKind::Client);
    assert_eq!(spans[2].error(), Some("empty key"));
}
