//! On a mistake, the error plus the item as written, so that one mistake
//! gives one error and the item's uses still compile.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::Error;

/// The error, plus the item unchanged so that its uses don't fail too.
pub(crate) fn with_item(err: Error, item: TokenStream) -> TokenStream {
    let err = err.to_compile_error();
    quote!(#err #item)
}

/// [`with_item`] with an error spanning `at`.
pub(crate) fn reject(at: impl ToTokens, message: &str, item: TokenStream) -> TokenStream {
    with_item(Error::new_spanned(at, message), item)
}
