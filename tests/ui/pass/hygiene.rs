//! User items named like std items don't break the generated code.

#![allow(dead_code, non_camel_case_types)]

use zen_telemetry::traced;

struct Span;
struct Context;
struct SpanGuard;
struct SpanMeta;
struct Wrap;
type Result<T> = ::std::result::Result<T, ::std::fmt::Error>;
enum Option {
    Some,
    None,
}
struct Ok;
struct Err;
struct Box;
struct Future;
mod core {}
mod std {}
mod zen {}

#[traced]
fn alias_result(fail: bool) -> Result<u32> {
    if fail {
        ::std::result::Result::Err(::std::fmt::Error)
    } else {
        ::std::result::Result::Ok(1)
    }
}

#[traced]
fn user_types(_span: Span, _cx: Context) -> Option {
    let _ = (Ok, Err, Span, Context, SpanGuard, SpanMeta, Wrap, Box, Future);
    Option::Some
}

#[traced]
async fn async_user_types() -> Result<Option> {
    ::std::result::Result::Ok(Option::None)
}

#[traced]
fn future_user_types() -> impl ::std::future::Future<Output = Result<()>> {
    async move { ::std::result::Result::Ok(()) }
}

fn main() {
    assert!(alias_result(false).is_ok());
    assert!(alias_result(true).is_err());
    assert!(matches!(user_types(Span, Context), Option::Some));
    assert!(matches!(
        futures::executor::block_on(async_user_types()),
        ::std::result::Result::Ok(Option::None)
    ));
    assert!(futures::executor::block_on(future_user_types()).is_ok());
}
