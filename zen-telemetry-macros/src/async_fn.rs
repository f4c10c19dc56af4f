//! The async shapes of `#[traced]`: `async fn` desugared to `fn -> impl
//! Future` (so the span starts at the call), and `-> impl Future` tails.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{
    Attribute, Block, Expr, ExprAsync, FnArg, GenericArgument, Pat, PatIdent, PathArguments, ReturnType, Stmt, Type,
    TypeParamBound,
};

/// Turns an `async fn` signature into `fn .. -> impl Future<Output = R>`.
/// Arguments with patterns other than a plain name are renamed and
/// destructured inside the future, exactly as `async fn` does; the returned
/// statements (for the future's body) move every argument into the future.
pub(crate) fn desugar_async_fn(sig: &mut syn::Signature, captures: &TokenStream) -> TokenStream {
    let mut prologue = TokenStream::new();
    for (index, input) in sig.inputs.iter_mut().enumerate() {
        match input {
            FnArg::Receiver(receiver) => {
                let self_token = &receiver.self_token;
                prologue.extend(quote!(let _ = &#self_token;));
            }
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(PatIdent {
                    by_ref: None,
                    subpat: None,
                    ident,
                    ..
                }) => {
                    prologue.extend(quote!(let _ = &#ident;));
                }
                _ => {
                    let renamed = syn::Ident::new(&format!("__zen_arg{index}"), typed.pat.span());
                    let pattern = std::mem::replace(
                        &mut *typed.pat,
                        Pat::Ident(PatIdent {
                            attrs: Vec::new(),
                            by_ref: None,
                            mutability: None,
                            ident: renamed.clone(),
                            subpat: None,
                        }),
                    );
                    // The borrow makes the future own the whole argument even
                    // when the pattern binds none of it (`_`).
                    prologue.extend(quote!(let _ = &#renamed; let #pattern = #renamed;));
                }
            },
        }
    }
    let output: Type = match &sig.output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => (**ty).clone(),
    };
    let async_span = sig.asyncness.map_or_else(Span::call_site, |a| a.span);
    sig.asyncness = None;
    sig.output = syn::parse_quote_spanned!(async_span=> -> impl ::core::future::Future<Output = #output> #captures);
    prologue
}

/// `#[tokio::main]`, `#[tokio::test]` and the like need to see an `async fn`.
pub(crate) fn has_async_entry_attr(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|seg| seg.ident == "main" || seg.ident == "test")
    })
}

/// The statements before the tail, and the tail, when the tail is an
/// `async` block or `Box::pin(async { .. })`.
pub(crate) fn split_future_tail(block: &Block) -> Option<(&[Stmt], &Expr)> {
    let (last, stmts) = block.stmts.split_last()?;
    let Stmt::Expr(tail, None) = last else { return None };
    match tail {
        Expr::Async(_) => Some((stmts, tail)),
        Expr::Call(call) if is_box_pin(&call.func) && call.args.len() == 1 => {
            matches!(call.args.first(), Some(Expr::Async(_))).then_some((stmts, tail))
        }
        _ => None,
    }
}

pub(crate) fn is_box_pin(func: &Expr) -> bool {
    let Expr::Path(path) = func else { return false };
    let segments: Vec<_> = path.path.segments.iter().collect();
    matches!(segments.as_slice(), [.., b, p] if b.ident == "Box" && p.ident == "pin" && p.arguments.is_none())
}

/// Rebuilds the tail with its async block replaced by `wrap(block)`.
pub(crate) fn rewrite_future_tail(tail: &Expr, wrap: impl Fn(&ExprAsync) -> TokenStream) -> TokenStream {
    match tail {
        Expr::Async(inner) => wrap(inner),
        Expr::Call(call) => {
            let Some(Expr::Async(inner)) = call.args.first() else {
                unreachable!("checked by split_future_tail")
            };
            let attrs = &call.attrs;
            let func = &call.func;
            let wrapped = wrap(inner);
            let mut out = quote!(#(#attrs)* #func);
            call.paren_token.surround(&mut out, |tokens| wrapped.to_tokens(tokens));
            out
        }
        _ => unreachable!("checked by split_future_tail"),
    }
}

/// `T` of an `Output = T` binding in the return type (`impl Future<Output = T>`,
/// `Pin<Box<dyn Future<Output = T> + Send>>`).
pub(crate) fn future_output(ty: &Type) -> Option<&Type> {
    match ty {
        Type::ImplTrait(imp) => output_in_bounds(imp.bounds.iter()),
        Type::TraitObject(obj) => output_in_bounds(obj.bounds.iter()),
        Type::Paren(p) => future_output(&p.elem),
        Type::Group(g) => future_output(&g.elem),
        Type::Path(path) => path.path.segments.iter().rev().find_map(|seg| match &seg.arguments {
            PathArguments::AngleBracketed(args) => args.args.iter().find_map(|arg| match arg {
                GenericArgument::Type(ty) => future_output(ty),
                _ => None,
            }),
            _ => None,
        }),
        _ => None,
    }
}

pub(crate) fn output_in_bounds<'a>(mut bounds: impl Iterator<Item = &'a TypeParamBound>) -> Option<&'a Type> {
    bounds.find_map(|bound| {
        let TypeParamBound::Trait(trait_bound) = bound else {
            return None;
        };
        let last = trait_bound.path.segments.last()?;
        if last.ident != "Future" {
            return None;
        }
        let PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(&assoc.ty),
            _ => None,
        })
    })
}
