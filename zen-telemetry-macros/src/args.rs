//! Parsing of `#[traced(...)]` arguments.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Error, Expr, Ident, Lit, LitStr, Path, Token};

/// The parsed arguments of one `#[traced(...)]`.
#[derive(Default)]
pub(crate) struct Args {
    /// The span name given by the user.
    pub(crate) name: Option<LitStr>,
    /// The span kind; `Internal` when absent.
    pub(crate) kind: Option<Kind>,
    /// The attributes to record, in order.
    pub(crate) attrs: Vec<Attr>,
    /// `crate = path`: where `zen_telemetry` is, for renamed or re-exported
    /// dependencies. `::zen_telemetry` when absent.
    pub(crate) crate_path: Option<Path>,
    /// `prefix = "..."` (impl blocks only): default names are the prefix
    /// followed by the method name.
    pub(crate) prefix: Option<LitStr>,
    /// `skip` (methods of a traced impl block only): leave the method untraced.
    pub(crate) skip: Option<Ident>,
    /// `objective(success = 99.9, latency_ms = 250)`.
    pub(crate) objective: Option<Objective>,
}

/// `objective(...)`: each value is checked against zen-telemetry's allowed
/// set when the generated `const` is evaluated, so the set lives in one place.
#[derive(Clone)]
pub(crate) struct Objective {
    /// `success = PERCENT`: the literal's value and the literal.
    pub(crate) success: Option<(f64, Lit)>,
    /// `latency_ms = MS`.
    pub(crate) latency_ms: Option<(f64, Lit)>,
}

/// A span kind: the `SpanKind` variant to name.
#[derive(Clone)]
pub(crate) struct Kind {
    /// `Internal`, `Server`, ...
    pub(crate) variant: &'static str,
    /// The user's token, for spans.
    pub(crate) span: Span,
}

/// One `key = value` of `attrs(...)`.
#[derive(Clone)]
pub(crate) struct Attr {
    /// The key, dots included, as a string literal spanned on the user's key.
    pub(crate) key: LitStr,
    /// The value expression.
    pub(crate) value: Expr,
}

const VALID_OPTIONS: &str = "valid options are `\"span name\"`, `name = \"...\"`, `attrs(key = value, ...)`, `kind = internal | server | client | producer | consumer`, `objective(success = 99.9, latency_ms = 250)`, `crate = path::to::zen_telemetry`, and on an impl block or its methods `prefix = \"...\"` and `skip`";

const KINDS: [(&str, &str); 5] = [
    ("internal", "Internal"),
    ("server", "Server"),
    ("client", "Client"),
    ("producer", "Producer"),
    ("consumer", "Consumer"),
];

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        let mut attrs_seen: Option<Ident> = None;
        while !input.is_empty() {
            if input.peek(Lit) {
                let lit: Lit = input.parse()?;
                args.set_name(name_literal(lit)?)?;
            } else if input.peek(Ident::peek_any) {
                let option = input.call(Ident::parse_any)?;
                match option.to_string().as_str() {
                    "name" => {
                        expect_eq(input, &option)?;
                        args.set_name(name_value(input)?)?;
                    }
                    "kind" => {
                        expect_eq(input, &option)?;
                        let kind = parse_kind(input)?;
                        if args.kind.is_some() {
                            return Err(Error::new(kind.span, "`kind` given twice"));
                        }
                        args.kind = Some(kind);
                    }
                    "attrs" => {
                        if attrs_seen.is_some() {
                            return Err(Error::new_spanned(
                                &option,
                                "`attrs` given twice: put all the attributes in one `attrs(...)`",
                            ));
                        }
                        if !input.peek(syn::token::Paren) {
                            return Err(Error::new_spanned(
                                &option,
                                "malformed `attrs`: expected `attrs(key = value, ...)`",
                            ));
                        }
                        let content;
                        syn::parenthesized!(content in input);
                        args.attrs = parse_attrs(&content)?;
                        attrs_seen = Some(option);
                    }
                    "crate" => {
                        expect_eq(input, &option)?;
                        let path = input.call(Path::parse_mod_style).map_err(|err| {
                            Error::new(
                                err.span(),
                                "expected a path after `crate =`, e.g. `crate = ::my_facade::telemetry`",
                            )
                        })?;
                        if args.crate_path.is_some() {
                            return Err(Error::new_spanned(&option, "`crate` given twice"));
                        }
                        args.crate_path = Some(path);
                    }
                    "prefix" => {
                        expect_eq(input, &option)?;
                        let prefix: Expr = input.parse()?;
                        let prefix = match prefix {
                            Expr::Lit(syn::ExprLit {
                                lit: Lit::Str(s),
                                attrs,
                            }) if attrs.is_empty() => s,
                            other => {
                                return Err(Error::new_spanned(
                                    other,
                                    "the name prefix must be a string literal, e.g. `prefix = \"billing.\"`",
                                ));
                            }
                        };
                        if args.prefix.is_some() {
                            return Err(Error::new_spanned(&option, "`prefix` given twice"));
                        }
                        args.prefix = Some(prefix);
                    }
                    "objective" => {
                        if args.objective.is_some() {
                            return Err(Error::new_spanned(&option, "`objective` given twice"));
                        }
                        if !input.peek(syn::token::Paren) {
                            return Err(Error::new_spanned(
                                &option,
                                "malformed `objective`: expected `objective(success = 99.9, latency_ms = 250)`",
                            ));
                        }
                        let content;
                        syn::parenthesized!(content in input);
                        args.objective = Some(parse_objective(&content, &option)?);
                    }
                    "skip" => {
                        if args.skip.is_some() {
                            return Err(Error::new_spanned(&option, "`skip` given twice"));
                        }
                        args.skip = Some(option);
                    }
                    other => {
                        return Err(Error::new_spanned(
                            &option,
                            format!("unknown option `{other}` for #[traced]: {VALID_OPTIONS}"),
                        ));
                    }
                }
            } else {
                let bad: proc_macro2::TokenTree = input.parse()?;
                return Err(Error::new_spanned(
                    bad,
                    format!("expected a span name or an option of #[traced]: {VALID_OPTIONS}"),
                ));
            }
            if input.is_empty() {
                break;
            }
            if !input.peek(Token![,]) {
                let bad: proc_macro2::TokenTree = input.parse()?;
                return Err(Error::new_spanned(bad, "expected `,` between the options of #[traced]"));
            }
            input.parse::<Token![,]>()?;
        }
        if let Some(skip) = &args.skip
            && args.has_span_options()
        {
            return Err(Error::new_spanned(
                skip,
                "`skip` takes no other option: the method is left untraced, so its options would do nothing",
            ));
        }
        Ok(args)
    }
}

impl Args {
    /// True when an option that shapes the span is given (all but `skip`).
    pub(crate) fn has_span_options(&self) -> bool {
        self.name.is_some()
            || self.kind.is_some()
            || !self.attrs.is_empty()
            || self.crate_path.is_some()
            || self.prefix.is_some()
            || self.objective.is_some()
    }

    /// The path of the `zen_telemetry` crate in the generated code.
    pub(crate) fn krate(&self) -> TokenStream {
        match &self.crate_path {
            Some(path) => path.to_token_stream(),
            None => quote::quote!(::zen_telemetry),
        }
    }

    /// This method's options over the block's: each option given on the
    /// method replaces the block's; `attrs` are merged, the method's value
    /// winning for a key given on both.
    pub(crate) fn over(self, block: &Args) -> Args {
        let mut attrs: Vec<Attr> = block
            .attrs
            .iter()
            .filter(|a| !self.attrs.iter().any(|own| own.key.value() == a.key.value()))
            .cloned()
            .collect();
        attrs.extend(self.attrs);
        Args {
            name: self.name,
            kind: self.kind.or_else(|| block.kind.clone()),
            attrs,
            crate_path: self.crate_path.or_else(|| block.crate_path.clone()),
            prefix: self.prefix.or_else(|| block.prefix.clone()),
            skip: self.skip,
            objective: self.objective.or_else(|| block.objective.clone()),
        }
    }

    fn set_name(&mut self, name: LitStr) -> syn::Result<()> {
        if self.name.is_some() {
            return Err(Error::new_spanned(&name, "the span name (`name`) is given twice"));
        }
        self.name = Some(name);
        Ok(())
    }
}

fn expect_eq(input: ParseStream<'_>, option: &Ident) -> syn::Result<()> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        Ok(())
    } else {
        Err(Error::new_spanned(option, format!("expected `{option} = ...`")))
    }
}

/// A positional literal: must be a non-empty string.
fn name_literal(lit: Lit) -> syn::Result<LitStr> {
    match lit {
        Lit::Str(s) => check_name(s),
        other => Err(Error::new_spanned(
            other,
            "the span name must be a string literal, e.g. `\"load_config\"`",
        )),
    }
}

/// The value of `name = ...`: must be a non-empty string literal.
fn name_value(input: ParseStream<'_>) -> syn::Result<LitStr> {
    if input.is_empty() || input.peek(Token![,]) {
        return Err(input.error("expected a string literal after `name =`"));
    }
    let expr: Expr = input.parse()?;
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s),
            attrs,
        }) if attrs.is_empty() => check_name(s),
        other => Err(Error::new_spanned(
            other,
            "the span name must be a string literal, e.g. `name = \"load_config\"`",
        )),
    }
}

fn check_name(name: LitStr) -> syn::Result<LitStr> {
    if name.value().trim().is_empty() {
        return Err(Error::new_spanned(&name, "the span name must not be empty"));
    }
    Ok(name)
}

fn parse_kind(input: ParseStream<'_>) -> syn::Result<Kind> {
    let valid = "expected one of `internal`, `server`, `client`, `producer`, `consumer`";
    if input.is_empty() || input.peek(Token![,]) {
        return Err(input.error(format!("missing span kind after `kind =`: {valid}")));
    }
    if !input.peek(Ident::peek_any) {
        let bad: Expr = input.parse()?;
        return Err(Error::new_spanned(bad, format!("invalid span kind: {valid}")));
    }
    let ident = input.call(Ident::parse_any)?;
    let text = ident.to_string();
    match KINDS.iter().find(|(k, _)| *k == text) {
        Some((_, variant)) => Ok(Kind {
            variant,
            span: ident.span(),
        }),
        None => Err(Error::new_spanned(
            &ident,
            format!("invalid span kind `{text}`: {valid}"),
        )),
    }
}

fn parse_objective(input: ParseStream<'_>, option: &Ident) -> syn::Result<Objective> {
    let mut objective = Objective {
        success: None,
        latency_ms: None,
    };
    while !input.is_empty() {
        let key = input.call(Ident::parse_any)?;
        let slot = match key.to_string().as_str() {
            "success" => &mut objective.success,
            "latency_ms" => &mut objective.latency_ms,
            other => {
                return Err(Error::new_spanned(
                    &key,
                    format!("unknown objective `{other}`: expected `success = PERCENT` or `latency_ms = MS`"),
                ));
            }
        };
        if slot.is_some() {
            return Err(Error::new_spanned(&key, format!("`{key}` given twice")));
        }
        expect_eq(input, &key)?;
        let lit: Lit = input
            .parse()
            .map_err(|err| Error::new(err.span(), format!("expected a number after `{key} =`")))?;
        let value = match &lit {
            Lit::Float(float) => float.base10_parse::<f64>()?,
            Lit::Int(int) => int.base10_parse::<f64>()?,
            other => {
                return Err(Error::new_spanned(
                    other,
                    format!("`{key}` takes a number, e.g. `{key} = 99.9`"),
                ));
            }
        };
        *slot = Some((value, lit));
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    if objective.success.is_none() && objective.latency_ms.is_none() {
        return Err(Error::new_spanned(
            option,
            "empty `objective`: give `success = PERCENT`, `latency_ms = MS` or both",
        ));
    }
    Ok(objective)
}

fn parse_attrs(input: ParseStream<'_>) -> syn::Result<Vec<Attr>> {
    let mut attrs: Vec<Attr> = Vec::new();
    while !input.is_empty() {
        let (key, key_tokens) = parse_key(input)?;
        if !input.peek(Token![=]) {
            return Err(Error::new_spanned(
                key_tokens,
                format!(
                    "malformed `attrs`: attribute `{}` needs a value: `{} = <expression>`",
                    key.value(),
                    key.value()
                ),
            ));
        }
        input.parse::<Token![=]>()?;
        if input.is_empty() || input.peek(Token![,]) {
            return Err(Error::new_spanned(
                key_tokens,
                format!("malformed `attrs`: attribute `{}` needs a value after `=`", key.value()),
            ));
        }
        let value: Expr = input.parse()?;
        if attrs.iter().any(|a| a.key.value() == key.value()) {
            return Err(Error::new_spanned(
                key_tokens,
                format!("attribute `{}` given twice", key.value()),
            ));
        }
        attrs.push(Attr { key, value });
        if input.is_empty() {
            break;
        }
        if !input.peek(Token![,]) {
            let bad: proc_macro2::TokenTree = input.parse()?;
            return Err(Error::new_spanned(
                bad,
                "malformed `attrs`: expected `,` between attributes",
            ));
        }
        input.parse::<Token![,]>()?;
    }
    Ok(attrs)
}

/// A key: a string literal or dotted identifiers (`zen.instance.name`).
/// Returns the key as a string literal and the user's tokens (for spans).
fn parse_key(input: ParseStream<'_>) -> syn::Result<(LitStr, TokenStream)> {
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        if lit.value().is_empty() {
            return Err(Error::new_spanned(
                &lit,
                "malformed `attrs`: an attribute key must not be empty",
            ));
        }
        let tokens = lit.to_token_stream();
        return Ok((lit, tokens));
    }
    if !input.peek(Ident::peek_any) {
        let bad: proc_macro2::TokenTree = input.parse()?;
        return Err(Error::new_spanned(
            bad,
            "malformed `attrs`: expected `key = value`, where the key is an identifier, a dotted path (`zen.instance.name`) or a string literal",
        ));
    }
    let first = input.call(Ident::parse_any)?;
    let mut key = first.unraw().to_string();
    let mut tokens = first.to_token_stream();
    while input.peek(Token![.]) {
        let dot: Token![.] = input.parse()?;
        if !input.peek(Ident::peek_any) {
            dot.to_tokens(&mut tokens);
            return Err(Error::new_spanned(
                tokens,
                "malformed `attrs`: expected an identifier after `.` in the attribute key",
            ));
        }
        let next = input.call(Ident::parse_any)?;
        key.push('.');
        key.push_str(&next.unraw().to_string());
        dot.to_tokens(&mut tokens);
        next.to_tokens(&mut tokens);
    }
    Ok((LitStr::new(&key, first.span()), tokens))
}
