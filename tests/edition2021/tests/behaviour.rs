//! Behaviour of `#[traced]` on edition 2021, observed through
//! `zen_telemetry::testing`.

use std::borrow::Cow;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};

use opentelemetry::trace::SpanKind;
use zen_telemetry::testing::{capture, span_named as find, CapturedSpan};
use zen_tests_edition2021::{
    borrowed_len, doubled, longest, parent, total_len, AsyncTraitFirst, Counter, Dynamic, Greeter, MemStore, Parser,
    PerMethod, Polite, Remote, Store, Terse, TracedFirst,
};

const CRATE: &str = "zen_tests_edition2021";

fn name(tail: &str) -> String {
    format!("{CRATE}::{tail}")
}

/// `child`'s parent is `parent`, in the same trace.
fn assert_child_of(child: &CapturedSpan, parent: &CapturedSpan) {
    assert!(
        child.is_child_of(parent),
        "{} is not a child of {}",
        child.name,
        parent.name
    );
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

fn block_on<F: Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}

#[test]
fn every_method_shape_runs_and_is_named() {
    let capture = capture();
    let mut counter = Counter { n: 1 };
    let mut out = Vec::new();
    block_on(async {
        assert_eq!(counter.async_method(2).await, 3);
        assert_eq!(counter.add(1).await, 2);
        assert_eq!(counter.label("n=").await, "n=2");
        assert_eq!(counter.several("a", b"b", &mut out).await, 4);
        assert_eq!(counter.explicit("other").await, "counted");
        assert_eq!(*counter.count_ref("x").await, 2);
        assert_eq!(counter.cow_len(Cow::Borrowed("abc")).await, 5);
        assert_eq!(counter.apply(&|s: &str| s.len(), "four").await, 6);
        assert_eq!(counter.sum(vec![1, 2], [3u64].iter()).await, 8);
        assert_eq!(counter.generic(7u8, &"xy").await, (7, 2));
        assert_eq!(Box::new(counter.clone()).boxed(&3).await, 5);
        assert_eq!(Counter::make(9).await.into_n().await, 9);
    });
    let spans = capture.spans();
    for method in [
        "async_method",
        "add",
        "label",
        "several",
        "explicit",
        "count_ref",
        "cow_len",
        "apply",
        "sum",
        "generic",
        "boxed",
        "make",
        "into_n",
    ] {
        let span = find(&spans, &name(method));
        assert!(span.is_ok(), "{method}");
        assert_eq!(span.parent_span_id, None, "{method}");
    }
    assert_eq!(spans.len(), 13);
}

#[test]
fn types_with_lifetimes_and_free_fns() {
    let capture = capture();
    let text = String::from("input");
    block_on(async {
        let parser = Parser::new(&text).await;
        assert_eq!(parser.rest().await, "input");
        assert!(parser.same(&parser).await);
        assert_eq!(parser.into_len().await, 5);
        assert_eq!(total_len("ab", "cde").await, 5);
        assert_eq!(longest("a", "bc").await, "bc");
        assert_eq!(borrowed_len("abc").await, 6);
    });
    let spans = capture.spans();
    for function in [
        "new",
        "rest",
        "same",
        "into_len",
        "total_len",
        "longest",
        "borrowed_len",
    ] {
        assert!(find(&spans, &name(function)).is_ok(), "{function}");
    }
}

#[test]
fn async_children_are_parented() {
    let capture = capture();
    assert_eq!(block_on(parent(&Counter { n: 1 })), 5);
    let spans = capture.spans();
    let outer = find(&spans, &name("parent"));
    assert_child_of(find(&spans, &name("async_method")), outer);
    assert_child_of(find(&spans, &name("total_len")), outer);
}

#[test]
fn spawned_futures_are_send_and_recorded() {
    let capture = capture();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let counter = std::sync::Arc::new(Counter { n: 4 });
    let n = runtime.block_on(async move {
        let spawner = counter.clone();
        let handle = spawner.async_method(0).await;
        let spawned = tokio::spawn(assert_send(doubled(handle as u32))).await.unwrap();
        spawned
            + tokio::spawn(async move { counter.async_method(1).await as u32 })
                .await
                .unwrap()
    });
    drop(runtime);
    assert_eq!(n, 13);
    let spans = capture.spans();
    assert!(find(&spans, &name("doubled")).is_ok());
}

#[test]
fn err_results_record_status_and_exception() {
    let capture = capture();
    let counter = Counter { n: 1 };
    block_on(async {
        assert_eq!(counter.parse(" 41 ").await, Ok(42));
        assert!(counter.parse("x").await.is_err());
        assert_eq!(
            MemStore { key: "k".into() }.get("nope").await,
            Err("no key nope".to_owned())
        );
    });
    let spans = capture.spans();
    assert!(spans[0].is_ok());
    assert_eq!(spans[1].error(), Some("invalid digit found in string"));
    let exception = spans[1].event("exception").expect("an exception event");
    let ty = exception.attribute("exception.type").unwrap().as_str();
    assert!(ty.contains("ParseIntError"), "{ty}");
    assert_eq!(spans[2].name, name("get"));
    assert_eq!(spans[2].error(), Some("no key nope"));
}

#[test]
fn dropped_futures_end_as_cancelled() {
    let capture = capture();
    let counter = Counter { n: 1 };
    {
        let mut future = pin!(counter.forever());
        let waker = Waker::noop();
        assert!(future.as_mut().poll(&mut Context::from_waker(waker)).is_pending());
    }
    // Never polled: the span still started at the call.
    drop(counter.async_method(1));
    let spans = capture.spans();
    assert_eq!(spans.len(), 2);
    for span in &spans {
        assert_eq!(
            span.attribute("zen.cancelled"),
            Some(&opentelemetry::Value::Bool(true)),
            "{}",
            span.name
        );
    }
}

#[test]
fn the_span_starts_at_the_call() {
    let capture = capture();
    let counter = Counter { n: 1 };
    let future = counter.async_method(1);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let before_poll = std::time::SystemTime::now();
    assert_eq!(block_on(future), 2);
    let spans = capture.spans();
    assert!(spans[0].start_time < before_poll);
}

#[test]
fn futures_stay_send() {
    let capture = capture();
    let counter = Counter { n: 1 };
    let store = MemStore { key: "k".into() };
    let remote = Remote { offset: 1 };
    let text = String::from("abc");
    block_on(async {
        assert_eq!(assert_send(counter.async_method(1)).await, 2);
        assert_eq!(assert_send(counter.label(&text)).await, "abc1");
        assert_eq!(assert_send(store.get_or_zero("k")).await, 1);
        assert_eq!(assert_send(remote.get("41")).await, Ok(42));
        assert_eq!(assert_send(remote.ping(&text, "x")).await, "abc");
        assert_eq!(assert_send(PerMethod.run("ab")).await, Ok(2));
    });
    assert_eq!(capture.spans().len(), 7);
}

#[test]
fn trait_impls_and_default_methods() {
    let capture = capture();
    block_on(async {
        assert_eq!(Polite.greet_twice("bo").await, "hello bo hello bo");
        assert_eq!(Terse.greet("al").await, "hi al");
        assert_eq!(MemStore { key: "k".into() }.get_or_zero("z").await, 0);
    });
    let spans = capture.spans();
    let twice = find(&spans, &name("greet_twice"));
    assert_child_of(find(&spans, &name("greet")), twice);
    find(&spans, &name("Terse::greet"));
    let default = find(&spans, &name("get_or_zero"));
    assert_child_of(find(&spans, &name("get")), default);
}

#[test]
fn impl_blocks_name_the_type_and_take_options() {
    let capture = capture();
    let remote = Remote { offset: 2 };
    block_on(async {
        assert_eq!(remote.get("1").await, Ok(3));
        assert!(remote.get("x").await.is_err());
        assert_eq!(remote.ping("p", "q").await, "p");
    });
    assert_eq!(remote.sync_call(1), 3);
    assert_eq!(remote.untraced(), 2);
    assert_eq!(remote.offset(), 2);
    let spans = capture.spans();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            name("Remote::get").as_str(),
            name("Remote::get").as_str(),
            name("Remote::ping").as_str(),
            "remote.sync_call",
        ]
    );
    assert_eq!(spans[0].kind, SpanKind::Client);
    assert!(spans[0].is_ok());
    assert_eq!(spans[1].error(), Some("invalid digit found in string"));
    assert_eq!(spans[2].kind, SpanKind::Internal);
}

#[test]
fn async_trait_in_every_order() {
    let capture = capture();
    block_on(async {
        assert_eq!(PerMethod.run("").await, Err("empty".to_owned()));
        assert_eq!(AsyncTraitFirst.run("ab").await, Ok(4));
        assert_eq!(TracedFirst.run("ab").await, Ok(6));
    });
    let spans = capture.spans();
    assert_eq!(find(&spans, &name("run")).error(), Some("empty"));
    assert!(find(&spans, &name("AsyncTraitFirst::run")).is_ok());
    assert!(find(&spans, &name("TracedFirst::run")).is_ok());
}
