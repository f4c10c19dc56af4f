//! The entry point: an `impl` block goes to `impl_block`, a fn to `expand`,
//! and anything else gets one precise error.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::spanned::Spanned;
use syn::{Error, Expr, Item, ItemFn};

use crate::args::Args;
use crate::expand::{Target, expand_fn};
use crate::fallback::{reject, with_item};

/// Expands `#[traced(args)] item`.
pub(crate) fn traced(args: TokenStream, item: TokenStream) -> TokenStream {
    if let Ok(Item::Impl(block)) = syn::parse2::<Item>(item.clone()) {
        return crate::impl_block::expand(args, block, item);
    }
    let func = match parse_fn(item.clone()) {
        Ok(func) => func,
        Err(err) => {
            // `#[traced] |x| ..` (attributes on expressions are unstable, but
            // rustc still expands them): keep the output an expression.
            if let Ok(Expr::Closure(closure)) = syn::parse2::<Expr>(item.clone()) {
                let err = Error::new(
                    closure.or1_token.span,
                    "#[traced] cannot be applied to a closure: move the body into a fn and trace that fn",
                )
                .to_compile_error();
                return quote!({ #err; #closure });
            }
            return with_item(err, item);
        }
    };
    if let Some(constness) = &func.sig.constness {
        return reject(
            constness,
            "#[traced] cannot be applied to a `const fn`: a span cannot be recorded at compile time; \
             remove `const` or `#[traced]`",
            item,
        );
    }
    let args = match syn::parse2::<Args>(args) {
        Ok(args) => args,
        Err(err) => return with_item(err, item),
    };
    if let Some(skip) = &args.skip {
        return reject(
            skip,
            "`#[traced(skip)]` only applies to a method of an impl block that has `#[traced]`: \
             remove the attribute to leave this fn untraced",
            item,
        );
    }
    expand_fn(&args, func, &Target::default())
}

fn parse_fn(item: TokenStream) -> syn::Result<ItemFn> {
    let parsed: Item = syn::parse2(item.clone())?;
    let (span, what): (Span, &str) = match parsed {
        Item::Fn(func) => return Ok(func),
        Item::Struct(s) => (s.struct_token.span, "a struct"),
        Item::Enum(e) => (e.enum_token.span, "an enum"),
        Item::Union(u) => (u.union_token.span, "a union"),
        Item::Trait(t) => {
            return Err(Error::new(
                t.trait_token.span,
                "#[traced] cannot be applied to a trait: put it on each method (with a body) to trace",
            ));
        }
        Item::Mod(m) => (m.mod_token.span, "a module"),
        Item::Static(s) if matches!(*s.expr, Expr::Closure(_)) => (s.static_token.span, "a closure"),
        Item::Const(c) if matches!(*c.expr, Expr::Closure(_)) => (c.const_token.span, "a closure"),
        Item::Static(s) => (s.static_token.span, "a static"),
        Item::Const(c) => (c.const_token.span, "a const"),
        Item::Type(t) => (t.type_token.span, "a type alias"),
        Item::Use(u) => (u.use_token.span, "a use declaration"),
        Item::ExternCrate(e) => (e.extern_token.span, "an extern crate"),
        Item::ForeignMod(f) => (f.abi.extern_token.span, "an extern block"),
        Item::Macro(m) => (m.mac.path.span(), "a macro invocation"),
        Item::TraitAlias(t) => (t.trait_token.span, "a trait alias"),
        Item::Verbatim(tokens) => {
            // A method declaration without a body (`fn f(&self);` in a trait).
            if let Ok(method) = syn::parse2::<syn::TraitItemFn>(tokens.clone())
                && method.default.is_none()
            {
                return Err(Error::new_spanned(
                    method.sig.fn_token,
                    "#[traced] needs a function body: put it on the implementation of this method",
                ));
            }
            (tokens.span(), "this item")
        }
        other => (other.span(), "this item"),
    };
    Err(Error::new(
        span,
        format!("#[traced] can only be applied to a function or a method, not to {what}"),
    ))
}
