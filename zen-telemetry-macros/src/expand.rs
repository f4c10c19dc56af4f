//! Code generation of `#[traced]`.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{AttrStyle, Attribute, Block, ExprAsync, ItemFn, ReturnType, Type};

use crate::args::Args;
use crate::async_fn::{desugar_async_fn, future_output, has_async_entry_attr, rewrite_future_tail, split_future_tail};

/// Where a traced fn is, when `#[traced]` is on its `impl` block.
#[derive(Default)]
pub(crate) struct Target {
    /// The type of the `impl` block, for default span names.
    pub(crate) self_ty: Option<String>,
    /// In `impl Trait for Type`: an `impl Future` return there captures every
    /// lifetime on every edition, and a bound more would refine the trait's.
    pub(crate) trait_impl: bool,
}

/// Expands one traced fn.
pub(crate) fn expand_fn(args: &Args, func: ItemFn, target: &Target) -> TokenStream {
    let ItemFn { attrs, vis, sig, block } = func;
    let (mut outer, inner): (Vec<Attribute>, Vec<Attribute>) =
        attrs.into_iter().partition(|a| matches!(a.style, AttrStyle::Outer));
    let krate = args.krate();

    let name = match (&args.name, &args.prefix, &target.self_ty) {
        (Some(name), _, _) => name.to_token_stream(),
        (None, Some(prefix), _) => {
            let name = format!("{}{}", prefix.value(), sig.ident.unraw());
            syn::LitStr::new(&name, prefix.span()).into_token_stream()
        }
        (None, None, Some(ty)) => {
            let tail = format!("::{ty}::{}", sig.ident.unraw());
            quote!(::core::concat!(::core::module_path!(), #tail))
        }
        (None, None, None) => {
            let fn_name = sig.ident.unraw().to_string();
            quote!(::core::concat!(::core::module_path!(), "::", #fn_name))
        }
    };
    let kind = syn::Ident::new(args.kind.as_ref().map_or("Internal", |k| k.variant), Span::call_site());
    let kind_span = args.kind.as_ref().map_or_else(Span::call_site, |k| k.span);
    let kind = quote_spanned!(kind_span=> #krate::__private::SpanKind::#kind);

    let sets: Vec<TokenStream> = args
        .attrs
        .iter()
        .map(|attr| {
            let key = &attr.key;
            let value = &attr.value;
            quote_spanned!(value.span()=> __zen_span.set_attribute(#key, #value);)
        })
        .collect();
    let set_attrs = if sets.is_empty() {
        quote!()
    } else {
        quote!(if __zen_span.is_recording() { #(#sets)* })
    };

    let objective = args.objective.as_ref().map(|objective| {
        // Spanned on the user's literals: a value outside zen-telemetry's set
        // fails the const evaluation there.
        let success = objective.success.iter().map(|(value, lit)| {
            let value = proc_macro2::Literal::f64_suffixed(*value);
            quote_spanned!(lit.span()=> .success(#value))
        });
        let latency = objective.latency_ms.iter().map(|(value, lit)| {
            let value = proc_macro2::Literal::f64_suffixed(*value);
            quote_spanned!(lit.span()=> .latency_ms(#value))
        });
        quote!(.with_objective(#krate::__private::Objective::NONE #(#success)* #(#latency)*))
    });
    let meta = quote! {
        static __ZEN_META: #krate::__private::SpanMeta =
            #krate::__private::SpanMeta::new(#name, #kind, ::core::module_path!()) #objective;
    };
    let start = quote!(#krate::__private::SpanGuard::start_if_on(&__ZEN_META));
    let outcome = outcome_of(&krate, &quote!(&__zen_result));
    let finish = quote! {
        if __zen_span.wants_outcome() {
            __zen_span.finish({ #outcome });
        }
    };

    let ret_ty = match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some(&**ty),
    };
    let never = matches!(ret_ty, Some(Type::Never(_)));

    let mut out_sig = sig.clone();
    let mut async_prologue = TokenStream::new();
    let call_time_async = sig.asyncness.is_some() && !never && !has_async_entry_attr(&outer);
    if call_time_async {
        let captures = if target.trait_impl {
            TokenStream::new()
        } else {
            crate::captures::name_and_capture(&mut out_sig, &krate)
        };
        if !captures.is_empty() {
            // In a trait impl (which the attribute of a method cannot tell
            // from an inherent impl), the bound refines the trait's return;
            // the lifetimes named for it could be elided in the arguments.
            outer.push(syn::parse_quote!(#[allow(refining_impl_trait, clippy::needless_lifetimes)]));
        }
        async_prologue = desugar_async_fn(&mut out_sig, &captures);
    }

    let body = if call_time_async {
        // `async fn f(..) -> R` becomes `fn f(..) -> impl Future<Output = R>`
        // so the span starts at the call and the caller's context is its
        // parent even when the future is spawned elsewhere. The arguments are
        // moved into the future as `async fn` does, so they live as long.
        let output: Type = match ret_ty {
            Some(ty) => ty.clone(),
            None => syn::parse_quote!(()),
        };
        let edge = fake_return_edge(Some(&output), output.span());
        let mut inner = TokenStream::new();
        block.brace_token.surround(&mut inner, |tokens| {
            async_prologue.to_tokens(tokens);
            edge.to_tokens(tokens);
            for stmt in &block.stmts {
                stmt.to_tokens(tokens);
            }
        });
        let future = traced_future(&krate, &quote!(async move #inner));
        quote! {
            #meta
            let __zen_span = #start;
            #set_attrs
            #future
        }
    } else if sig.asyncness.is_some() {
        let body_block = with_edge(&fake_return_edge(ret_ty, sig.ident.span()), &block);
        if never {
            quote! {
                #meta
                let mut __zen_span = #start;
                #set_attrs
                __zen_span.instrument(async move #block).await
            }
        } else {
            quote! {
                #meta
                let mut __zen_span = #start;
                #set_attrs
                let __zen_result = __zen_span.instrument(async move #body_block).await;
                #finish
                __zen_result
            }
        }
    } else if let Some((stmts, tail)) = split_future_tail(&block) {
        // `fn f() -> impl Future { ...; async move { .. } }` (or the
        // `Box::pin(async move { .. })` of async-trait): trace the future,
        // starting the span now so the caller's context is its parent.
        let output = ret_ty.and_then(future_output);
        let edge = match output {
            Some(ty) => fake_return_edge(Some(ty), ty.span()),
            None => quote!(),
        };
        let tail = rewrite_future_tail(tail, |inner: &ExprAsync| {
            let inner_attrs = &inner.attrs;
            let capture = &inner.capture;
            let inner_block = with_edge(&edge, &inner.block);
            traced_future(&krate, &quote!(#(#inner_attrs)* async #capture #inner_block))
        });
        quote! {
            #meta
            let __zen_span = #start;
            #set_attrs
            #(#stmts)*
            #tail
        }
    } else if never {
        quote! {
            #meta
            let mut __zen_span = #start;
            #set_attrs
            __zen_span.run(#krate::__private::body_fn(move || -> ! #block))
        }
    } else {
        // The span lives in the out-of-line `run_sync`, and the body
        // sets the attributes itself (only when recorded): the traced fn
        // is then one load, one compare and a call of its body, with no
        // frame of its own for the span.
        let edge = fake_return_edge(ret_ty, sig.ident.span());
        let body_block = with_edge(&quote!(#edge #set_attrs), &block);
        let outcome = outcome_of(&krate, &quote!(__zen_result));
        quote! {
            #meta
            let __zen_body = #krate::__private::body_fn_with_span(
                move |__zen_span: &#krate::__private::SpanGuard| #body_block
            );
            if #krate::__private::telemetry_off() {
                return __zen_body(&#krate::__private::SpanGuard::OFF);
            }
            #krate::__private::run_sync(&__ZEN_META, __zen_body, |__zen_result| { #outcome })
        }
    };

    let brace = block.brace_token;
    let mut out = quote!(#(#outer)* #vis #out_sig);
    brace.surround(&mut out, |tokens| {
        for attr in &inner {
            attr.to_tokens(tokens);
        }
        body.to_tokens(tokens);
    });
    out
}

/// The `Outcome` of the value behind the reference `value`, by autoref
/// specialisation (so any `Result`, aliases included, is recognised).
fn outcome_of(krate: &TokenStream, value: &TokenStream) -> TokenStream {
    quote! {
        #[allow(unused_imports)]
        use #krate::__private::outcome::{
            ErrDebug as _, ErrDisplay as _, ErrOpaque as _, NotResult as _,
        };
        (&&&#krate::__private::Wrap(#value)).__zen_outcome()
    }
}

/// The future that owns the already-started `__zen_span` (moved in, not
/// rebound: a second copy would double the guard's share of the future, which
/// callers move when they poll it), polls `inner` with it current, and
/// records the outcome.
fn traced_future(krate: &TokenStream, inner: &TokenStream) -> TokenStream {
    let outcome = outcome_of(krate, &quote!(__zen_result));
    quote! {
        #krate::__private::trace_future(__zen_span, #inner, |__zen_result| { #outcome })
    }
}

/// The block with the fake return edge as first statement. The user's
/// statements stay directly in the user's braces (no extra nesting, which
/// would trip `unused_braces` on one-line bodies).
fn with_edge(edge: &TokenStream, block: &Block) -> TokenStream {
    let mut out = TokenStream::new();
    block.brace_token.surround(&mut out, |tokens| {
        edge.to_tokens(tokens);
        for stmt in &block.stmts {
            stmt.to_tokens(tokens);
        }
    });
    out
}

/// `if false { let x: Ret = loop {}; return x; }`: pins the return type of
/// the closure or async block that holds the body, so `?` and `return` work.
fn fake_return_edge(ret: Option<&Type>, fallback: Span) -> TokenStream {
    let (ty, span) = match ret {
        Some(Type::Never(_)) => return quote!(),
        Some(ty) => {
            let mut ty = ty.clone();
            EraseImplTrait.visit_type_mut(&mut ty);
            (ty.into_token_stream(), ty_span(ret))
        }
        None => (quote!(()), fallback),
    };
    quote_spanned! {span=>
        #[allow(
            unknown_lints,
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::let_unit_value,
            clippy::let_with_type_underscore,
            clippy::needless_return,
            clippy::unreachable
        )]
        if false {
            let __zen_fake_return: #ty = loop {};
            return __zen_fake_return;
        }
    }
}

fn ty_span(ty: Option<&Type>) -> Span {
    ty.map_or_else(Span::call_site, Spanned::span)
}

/// Replaces every `impl Trait` with `_`.
struct EraseImplTrait;

impl VisitMut for EraseImplTrait {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(imp) = ty {
            *ty = Type::Infer(syn::TypeInfer {
                underscore_token: syn::Token![_](imp.impl_token.span),
            });
        } else {
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
}
