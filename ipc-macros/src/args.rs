//! Parses the attribute's arguments into spanned literals, collecting every
//! error instead of stopping at the first.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::{Expr, ExprLit, Lit};

/// The arguments as written: literals with their spans, not yet checked.
#[derive(Default)]
pub(crate) struct Args {
    /// Whether `name` was written at all, even without a usable value.
    pub(crate) name_given: bool,
    pub(crate) name: Option<Lit>,
    pub(crate) initial: Option<Lit>,
    pub(crate) mode: Option<Lit>,
}

/// Parses `name = "...", initial = N, mode = 0oNNN`; `initial` only where
/// `with_initial` (semaphores).
///
/// Returns what could be parsed and the errors found, all of them: unknown
/// and repeated keys, values that are not literals.
pub(crate) fn parse(tokens: TokenStream, with_initial: bool) -> (Args, Option<syn::Error>) {
    let mut args = Args::default();
    let mut errors = Errors::default();
    let expected = if with_initial {
        "`name`, `initial` or `mode`"
    } else {
        "`name` or `mode`"
    };
    let parser = syn::meta::parser(|meta| {
        let slot = if meta.path.is_ident("name") {
            args.name_given = true;
            Some(&mut args.name)
        } else if with_initial && meta.path.is_ident("initial") {
            Some(&mut args.initial)
        } else if meta.path.is_ident("mode") {
            Some(&mut args.mode)
        } else {
            None
        };
        let key = path_text(&meta);
        match slot {
            None => {
                errors.push(meta.error(format!("unknown argument `{key}`; expected {expected}")));
                skip_value(&meta)
            }
            Some(slot) => {
                match literal_value(&meta, &key)? {
                    Ok(lit) => set_once(slot, lit, &meta, &key, &mut errors),
                    Err(e) => errors.push(e),
                }
                Ok(())
            }
        }
    });
    if let Err(e) = parser.parse2(tokens) {
        errors.push(e);
    }
    (args, errors.into_error())
}

/// Stores the first value of a key; a repeated key is an error on the key.
fn set_once(
    slot: &mut Option<Lit>,
    lit: Lit,
    meta: &ParseNestedMeta<'_>,
    key: &str,
    errors: &mut Errors,
) {
    if slot.is_some() {
        // Spanned on the key alone: the value has been parsed by now, and
        // `meta.error` would cover it too.
        errors.push(syn::Error::new_spanned(
            &meta.path,
            format!("duplicate argument `{key}`; give each argument once"),
        ));
    } else {
        *slot = Some(lit);
    }
}

/// `key = <literal>`: the literal, or an error on the value (the outer
/// `Result` is a parse error that stops parsing: a missing `=`).
fn literal_value(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<syn::Result<Lit>> {
    if !meta.input.peek(syn::Token![=]) {
        return Ok(Err(
            meta.error(format!("argument `{key}` needs a value: `{key} = ...`"))
        ));
    }
    let expr: Expr = meta.value()?.parse()?;
    Ok(match expr {
        Expr::Lit(ExprLit { lit, .. }) => Ok(lit),
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            ref expr,
            ..
        }) if matches!(**expr, Expr::Lit(_)) => Err(syn::Error::new_spanned(
            expr,
            format!("`{key}` cannot be negative; write a literal from 0 up"),
        )),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` must be a literal, not an expression"),
        )),
    })
}

/// Consumes `= <expr>` after an unknown key, if present, so parsing goes on.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let _: Expr = meta.value()?.parse()?;
    }
    Ok(())
}

fn path_text(meta: &ParseNestedMeta<'_>) -> String {
    let segments: Vec<String> = meta
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    segments.join("::")
}

/// Errors collected into one `syn::Error` (which holds many).
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub(crate) fn into_error(self) -> Option<syn::Error> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn messages(tokens: TokenStream) -> Vec<String> {
        parse(tokens, true)
            .1
            .map(|e| e.into_iter().map(|e| e.to_string()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn accepts_every_argument() {
        let (args, err) = parse(quote!(name = "/x", initial = 3, mode = 0o640), true);
        assert!(err.is_none());
        assert!(args.name.is_some() && args.initial.is_some() && args.mode.is_some());
    }

    #[test]
    fn reports_all_errors_at_once() {
        let got = messages(quote!(
            colour = 1,
            name = "/x",
            name = "/y",
            mode = SOME_CONST,
            flag
        ));
        assert_eq!(
            got,
            [
                "unknown argument `colour`; expected `name`, `initial` or `mode`",
                "duplicate argument `name`; give each argument once",
                "`mode` must be a literal, not an expression",
                "unknown argument `flag`; expected `name`, `initial` or `mode`",
            ]
        );
    }

    #[test]
    fn initial_is_for_semaphores_only() {
        let (_, err) = parse(quote!(name = "/x", initial = 1), false);
        assert_eq!(
            err.unwrap().to_string(),
            "unknown argument `initial`; expected `name` or `mode`"
        );
    }

    #[test]
    fn a_key_without_value_is_named() {
        assert_eq!(
            messages(quote!(name)),
            ["argument `name` needs a value: `name = ...`"]
        );
    }
}
