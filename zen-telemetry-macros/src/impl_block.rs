//! `#[traced]` on an `impl` block: every method with a body is traced, named
//! after the block's type.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::{Attribute, Error, ImplItem, ItemFn, ItemImpl, Meta, Type};

use crate::args::Args;
use crate::expand::{Target, expand_fn};
use crate::fallback::{reject, with_item};

/// Expands `#[traced(args)] impl .. { .. }`; `item` is the block's tokens.
pub(crate) fn expand(args: TokenStream, mut block: ItemImpl, item: TokenStream) -> TokenStream {
    let block_args: Args = match syn::parse2(args.clone()) {
        Ok(block_args) => block_args,
        Err(err) => return with_item(err, item),
    };
    if let Some(name) = &block_args.name {
        return reject(
            name,
            "a span name on an impl block would give every method the same name: \
             name a method with its own `#[traced(\"...\")]`, or give the block `prefix = \"...\"`",
            item,
        );
    }
    if let Some(skip) = &block_args.skip {
        return reject(
            skip,
            "`skip` on an impl block traces nothing: remove the attribute, or put `#[traced(skip)]` on \
             the methods to leave untraced",
            item,
        );
    }

    // `#[async_trait]` below this attribute rewrites the `async fn`s into
    // `Box::pin(async move { .. })` bodies: let it run first, then trace
    // the rewritten methods (whose `Box::pin` tail is traced at the call).
    if let Some(at) = block.attrs.iter().position(|attr| last_segment_is(attr, "async_trait")) {
        let krate = block_args.krate();
        block.attrs.insert(at + 1, syn::parse_quote!(#[#krate::traced(#args)]));
        return block.into_token_stream();
    }

    let target = Target {
        self_ty: Some(type_name(&block.self_ty)),
        trait_impl: block.trait_.is_some(),
    };
    let mut errors = TokenStream::new();
    for impl_item in &mut block.items {
        let ImplItem::Fn(method) = impl_item else { continue };
        // A `const fn` cannot be traced (its own `#[traced]`, if any, says
        // so); `default fn` (unstable specialisation) is left as written.
        if method.sig.constness.is_some() || method.defaultness.is_some() {
            continue;
        }
        let own = match method.attrs.iter().position(|attr| last_segment_is(attr, "traced")) {
            Some(index) => match method_args(&method.attrs.remove(index)) {
                Ok(own) => own,
                Err(err) => {
                    errors.extend(err.to_compile_error());
                    continue;
                }
            },
            None => Args::default(),
        };
        if own.skip.is_some() {
            continue;
        }
        let func = ItemFn {
            attrs: std::mem::take(&mut method.attrs),
            vis: method.vis.clone(),
            sig: method.sig.clone(),
            block: Box::new(method.block.clone()),
        };
        *impl_item = ImplItem::Verbatim(expand_fn(&own.over(&block_args), func, &target));
    }
    quote!(#errors #block)
}

fn last_segment_is(attr: &Attribute, name: &str) -> bool {
    attr.path().segments.last().is_some_and(|seg| seg.ident == name)
}

/// The options of a method's own `#[traced]` / `#[traced(...)]`.
fn method_args(attr: &Attribute) -> syn::Result<Args> {
    match &attr.meta {
        Meta::Path(_) => Ok(Args::default()),
        Meta::List(list) => syn::parse2(list.tokens.clone()),
        Meta::NameValue(nv) => Err(Error::new_spanned(
            nv,
            "expected `#[traced]` or `#[traced(...)]` on a method of a traced impl block",
        )),
    }
}

/// The name of the block's type in default span names: `Cart` for
/// `impl<T> Cart<T>` and `impl Display for &Cart`.
fn type_name(ty: &Type) -> String {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .map(|seg| seg.ident.unraw().to_string())
            .unwrap_or_default(),
        Type::Reference(reference) => type_name(&reference.elem),
        Type::Paren(paren) => type_name(&paren.elem),
        Type::Group(group) => type_name(&group.elem),
        other => other.to_token_stream().to_string().replace(' ', ""),
    }
}
