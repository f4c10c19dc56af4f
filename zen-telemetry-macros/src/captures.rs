//! What the `impl Future` return of a desugared `async fn` must capture, on
//! every edition.
//!
//! `async fn f(&self, s: &str) -> R` captures every lifetime of its
//! arguments. `fn f(..) -> impl Future<Output = R>` captures them too on
//! edition 2024, but on editions 2015 to 2021 only the lifetimes its bounds
//! name (type parameters are captured on every edition). So the elided
//! lifetimes of the arguments are named (`'__zen_life0`, ...), as
//! `async-trait` does, and the return gets the bound
//! `Captures<(&'a (), &'__zen_life0 (), ..)>`; `Captures<Self>` is added when
//! the arguments mention `Self` (a receiver, `Self` in a type), which captures
//! the lifetimes of the `impl` block's type (`impl<'a> Parser<'a>`) that a
//! method's attribute cannot see. `Captures` is implemented by every type, so
//! the bound costs nothing and promises nothing.
//!
//! Elided output lifetimes are named after the input they elide to (the
//! receiver's, or the only one), so the signature stays consistent for the
//! `mismatched_lifetime_syntaxes` lint.
//!
//! Not handled: a lifetime hidden in a path (`Ref<u8>` for `Ref<'_, u8>`)
//! cannot be seen, hence not named; on editions before 2024 such an argument
//! must be written with `'_`.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::visit::Visit;
use syn::visit_mut::{self, VisitMut};
use syn::{FnArg, GenericParam, Lifetime, LifetimeParam, ReturnType, Signature, Type};

/// Names the elided lifetimes of `sig`'s arguments (and of its output, where
/// they elide to one of them) and returns the `+ Captures<..>` bounds the
/// desugared `impl Future` return needs, empty when it needs none.
pub(crate) fn name_and_capture(sig: &mut Signature, krate: &TokenStream) -> TokenStream {
    let mut collect = Collect::default();
    let mut receiver_lifetime: Option<Lifetime> = None;
    let mut mentions_self = false;
    for input in &mut sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                mentions_self = true;
                if receiver.colon_token.is_some() {
                    let before = collect.all.len();
                    collect.visit_type_mut(&mut receiver.ty);
                    receiver_lifetime = collect.all.get(before).cloned();
                } else if let Some((and, lifetime)) = &mut receiver.reference {
                    let named = match lifetime {
                        Some(l) if l.ident != "_" => {
                            collect.record(l);
                            l.clone()
                        }
                        _ => collect.fresh(and.span),
                    };
                    *lifetime = Some(named.clone());
                    if let Type::Reference(ty) = &mut *receiver.ty {
                        ty.lifetime = Some(named.clone());
                    }
                    receiver_lifetime = Some(named);
                }
            }
            FnArg::Typed(typed) => {
                collect.visit_type_mut(&mut typed.ty);
                let mut finder = FindSelf(false);
                finder.visit_type(&typed.ty);
                mentions_self |= finder.0;
            }
        }
    }

    // New lifetime parameters go after the existing ones, before any type.
    let at = sig
        .generics
        .params
        .iter()
        .take_while(|p| matches!(p, GenericParam::Lifetime(_)))
        .count();
    for (offset, lifetime) in collect.fresh.iter().enumerate() {
        sig.generics.params.insert(
            at + offset,
            GenericParam::Lifetime(LifetimeParam::new(lifetime.clone())),
        );
    }
    if !collect.fresh.is_empty() {
        sig.generics.lt_token.get_or_insert_with(Default::default);
        sig.generics.gt_token.get_or_insert_with(Default::default);
    }

    let output_lifetime = receiver_lifetime.or_else(|| match collect.all.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    });
    if let (Some(lifetime), ReturnType::Type(_, ty)) = (output_lifetime, &mut sig.output) {
        NameElided(lifetime).visit_type_mut(ty);
    }

    let mut bounds = TokenStream::new();
    if !collect.all.is_empty() {
        let lifetimes = &collect.all;
        bounds.extend(quote!(+ #krate::__private::Captures<(#(&#lifetimes (),)*)>));
    }
    if mentions_self {
        bounds.extend(quote!(+ #krate::__private::Captures<Self>));
    }
    bounds
}

/// Names the elided lifetimes of argument types and collects every lifetime
/// they use.
#[derive(Default)]
struct Collect {
    /// Every lifetime, named or made up, once each (`'static` left out).
    all: Vec<Lifetime>,
    /// The lifetimes made up for elided ones.
    fresh: Vec<Lifetime>,
    /// Lifetimes bound by a `for<'a>` inside the types: not the fn's.
    bound: Vec<Lifetime>,
}

impl Collect {
    fn fresh(&mut self, span: Span) -> Lifetime {
        let lifetime = Lifetime::new(&format!("'__zen_life{}", self.fresh.len()), span);
        self.fresh.push(lifetime.clone());
        self.all.push(lifetime.clone());
        lifetime
    }

    fn record(&mut self, lifetime: &Lifetime) {
        if lifetime.ident != "static" && !self.bound.contains(lifetime) && !self.all.contains(lifetime) {
            self.all.push(lifetime.clone());
        }
    }
}

impl VisitMut for Collect {
    fn visit_type_reference_mut(&mut self, ty: &mut syn::TypeReference) {
        if ty.lifetime.is_none() {
            ty.lifetime = Some(self.fresh(ty.and_token.span));
            self.visit_type_mut(&mut ty.elem);
        } else {
            visit_mut::visit_type_reference_mut(self, ty);
        }
    }

    fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
        if lifetime.ident == "_" {
            *lifetime = self.fresh(lifetime.span());
        } else if !self.fresh.contains(lifetime) {
            self.record(lifetime);
        }
    }

    fn visit_bound_lifetimes_mut(&mut self, bound: &mut syn::BoundLifetimes) {
        for param in &bound.lifetimes {
            if let GenericParam::Lifetime(param) = param {
                self.bound.push(param.lifetime.clone());
            }
        }
    }

    // Elided lifetimes of `fn(&str)` and `Fn(&str)` are their own.
    fn visit_type_bare_fn_mut(&mut self, _: &mut syn::TypeBareFn) {}
    fn visit_parenthesized_generic_arguments_mut(&mut self, _: &mut syn::ParenthesizedGenericArguments) {}
    // Array lengths are expressions, with no lifetime of the signature.
    fn visit_expr_mut(&mut self, _: &mut syn::Expr) {}
}

/// Gives the elided lifetimes of the output the lifetime they elide to.
struct NameElided(Lifetime);

impl VisitMut for NameElided {
    fn visit_type_reference_mut(&mut self, ty: &mut syn::TypeReference) {
        if ty.lifetime.is_none() {
            ty.lifetime = Some(Lifetime::new(&self.0.to_string(), ty.and_token.span));
        }
        visit_mut::visit_type_reference_mut(self, ty);
    }

    fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
        if lifetime.ident == "_" {
            *lifetime = Lifetime::new(&self.0.to_string(), lifetime.span());
        }
    }

    fn visit_type_bare_fn_mut(&mut self, _: &mut syn::TypeBareFn) {}
    fn visit_parenthesized_generic_arguments_mut(&mut self, _: &mut syn::ParenthesizedGenericArguments) {}
    fn visit_expr_mut(&mut self, _: &mut syn::Expr) {}
}

/// Whether a type mentions `Self`.
struct FindSelf(bool);

impl Visit<'_> for FindSelf {
    fn visit_path_segment(&mut self, segment: &syn::PathSegment) {
        if segment.ident == "Self" {
            self.0 = true;
        }
        syn::visit::visit_path_segment(self, segment);
    }

    fn visit_expr(&mut self, _: &syn::Expr) {}
}
