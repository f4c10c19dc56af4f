//! User items named like std items (`Ok`, `Option`, `Result`, ...) do not break
//! the generated code.

use zen_telemetry::testing::{CapturedSpan, capture};

use crate::find;

// Shadows the prelude and common names inside a module of its own, so the
// tests around it keep the real `Ok`, `Option` and `Result`.
mod shadows_std {
    use zen_telemetry::traced;

    pub(super) struct Span;
    pub(super) struct Context;
    pub(super) struct Ok;
    pub(super) struct Err;
    pub(super) enum Option {
        Some,
        None,
    }
    pub(super) type Result<T> = ::std::result::Result<T, String>;

    #[traced]
    pub(super) fn shadowed(fail: bool) -> Result<Option> {
        let _ = (Span, Context, Ok, Err);
        if fail {
            ::std::result::Result::Err("shadowed failure".to_owned())
        } else {
            ::std::result::Result::Ok(Option::Some)
        }
    }

    #[traced]
    pub(super) async fn shadowed_async() -> Result<Option> {
        ::std::result::Result::Ok(Option::None)
    }
}

#[test]
fn user_items_named_like_std_items() {
    let capture = capture();
    assert!(shadows_std::shadowed(false).is_ok());
    assert!(shadows_std::shadowed(true).is_err());
    assert!(futures::executor::block_on(shadows_std::shadowed_async()).is_ok());
    let spans = capture.spans();
    let shadowed: Vec<&CapturedSpan> = spans
        .iter()
        .filter(|s| s.name.ends_with("shadows_std::shadowed"))
        .collect();
    assert!(shadowed[0].is_ok());
    assert_eq!(shadowed[1].error(), Some("shadowed failure"));
    assert!(find(&spans, concat!(module_path!(), "::shadows_std::shadowed_async")).is_ok());
}
