//! Other attributes, docs and visibility are kept.

#![deny(unused_must_use)]

use zen_telemetry::traced;

mod inner {
    use zen_telemetry::traced;

    /// Documented.
    #[traced]
    #[must_use]
    #[inline]
    pub fn public() -> u32 {
        1
    }

    #[traced]
    pub(crate) fn crate_visible() -> u32 {
        2
    }

    #[cfg(any())]
    #[traced]
    pub fn configured_out() -> u32 {
        compile_error!("cfg'd out")
    }

    #[traced]
    #[cfg(all())]
    pub fn configured_in() -> u32 {
        3
    }
}

#[traced]
#[allow(clippy::needless_return)]
#[inline(never)]
fn lint_attrs() -> u32 {
    #![allow(unused_variables)]
    let unused = 1;
    return 4;
}

#[traced]
#[deprecated = "use something else"]
fn old() {}

#[allow(deprecated)]
fn main() {
    assert_eq!(inner::public(), 1);
    assert_eq!(inner::crate_visible(), 2);
    assert_eq!(inner::configured_in(), 3);
    assert_eq!(lint_attrs(), 4);
    old();
}
