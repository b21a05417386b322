//! Parses the attribute's arguments into spanned literals, collecting every
//! error instead of stopping at the first.

use proc_macro::{Spacing, Span, TokenStream, TokenTree};

use crate::lit::{self, Lit};
use crate::tokens::{Error, Errors, flatten_invisible, is_punct};

/// A literal argument and where it was written.
pub(crate) struct Value {
    pub(crate) lit: Lit,
    pub(crate) span: Span,
}

/// The arguments as written: literals with their spans, not yet checked.
#[derive(Default)]
pub(crate) struct Args {
    /// Whether `name` was written at all, even without a usable value.
    pub(crate) name_given: bool,
    pub(crate) name: Option<Value>,
    pub(crate) initial: Option<Value>,
    pub(crate) mode: Option<Value>,
}

/// Parses `name = "...", initial = N, mode = 0oNNN`; `initial` only where
/// `with_initial` (semaphores).
///
/// Returns what could be parsed, and pushes every error found: unknown and
/// repeated keys, keys without a value, values that are not literals.
pub(crate) fn parse(tokens: TokenStream, with_initial: bool, errors: &mut Errors) -> Args {
    let mut args = Args::default();
    let expected = if with_initial {
        "`name`, `initial` or `mode`"
    } else {
        "`name` or `mode`"
    };
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for argument in split_arguments(&tokens, errors) {
        // The key: `ident` or a path `a::b`, up to `=` or anything else.
        let key_len = path_len(argument);
        let key_tokens = &argument[..key_len];
        if key_tokens.is_empty() {
            errors.push(Error::spanned(
                argument,
                format!("expected an argument such as `name = \"/app.lock\"`; the arguments are {expected}"),
            ));
            continue;
        }
        let key: String = key_tokens.iter().map(ToString::to_string).collect();
        let slot = match key.as_str() {
            "name" => {
                args.name_given = true;
                &mut args.name
            }
            "initial" if with_initial => &mut args.initial,
            "mode" => &mut args.mode,
            _ => {
                errors.push(Error::spanned(
                    key_tokens,
                    format!("unknown argument `{key}`; expected {expected}"),
                ));
                continue;
            }
        };
        let value = match &argument[key_len..] {
            [eq, value @ ..] if is_punct(eq, '=') && !value.is_empty() => value,
            _ => {
                errors.push(Error::spanned(
                    key_tokens,
                    format!("argument `{key}` needs a value: `{key} = ...`"),
                ));
                continue;
            }
        };
        match literal(value, &key) {
            // On the key alone: the value is not the mistake.
            Ok(_) if slot.is_some() => {
                errors.push(Error::spanned(
                    key_tokens,
                    format!("duplicate argument `{key}`; give each argument once"),
                ));
            }
            Ok(value) => *slot = Some(value),
            Err(e) => errors.push(e),
        }
    }
    args
}

/// How many tokens the path at the start of `tokens` takes: `name`,
/// `a::b`, `::a` (0 if it does not start with one).
fn path_len(tokens: &[TokenTree]) -> usize {
    let separator = |i: usize| {
        matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ':' && p.spacing() == Spacing::Joint)
            && tokens.get(i + 1).is_some_and(|t| is_punct(t, ':'))
    };
    let mut i = if separator(0) { 2 } else { 0 };
    let mut len = 0;
    while let Some(TokenTree::Ident(_)) = tokens.get(i) {
        len = i + 1;
        if !separator(i + 1) {
            break;
        }
        i += 3;
    }
    len
}

/// The arguments, split at the commas between them; a comma inside a
/// turbofish (`f::<A, B>()`) stays in its argument. An empty argument (two
/// commas, or a leading one) is an error; a trailing comma is fine.
fn split_arguments<'a>(tokens: &'a [TokenTree], errors: &mut Errors) -> Vec<&'a [TokenTree]> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut turbofish = 0usize;
    for (i, token) in tokens.iter().enumerate() {
        if is_punct(token, '<') && i > 0 && is_punct(&tokens[i - 1], ':') {
            turbofish += 1;
        } else if is_punct(token, '>') && turbofish > 0 {
            turbofish -= 1;
        } else if is_punct(token, ',') && turbofish == 0 {
            if i > start {
                pieces.push(&tokens[start..i]);
            } else {
                errors.push(Error::new(
                    token.span(),
                    "unexpected `,`: separate the arguments with one comma",
                ));
            }
            start = i + 1;
        }
    }
    if tokens.len() > start {
        pieces.push(&tokens[start..]);
    }
    pieces
}

/// `value` as a literal, or an error on it: negative numbers and
/// expressions are refused with the fix.
fn literal(value: &[TokenTree], key: &str) -> Result<Value, Error> {
    let value = flatten_invisible(value.iter().cloned());
    match value.as_slice() {
        [TokenTree::Literal(l)] => {
            let text = l.to_string();
            if text.starts_with('-') {
                return Err(negative(l.span(), key));
            }
            Ok(Value {
                lit: lit::classify(&text),
                span: l.span(),
            })
        }
        [TokenTree::Ident(i)] if matches!(i.to_string().as_str(), "true" | "false") => Ok(Value {
            lit: Lit::Other,
            span: i.span(),
        }),
        [minus, number @ TokenTree::Literal(_)] if is_punct(minus, '-') => {
            Err(negative(number.span(), key))
        }
        // `name = "/x" initial = 1`: a literal, then the next argument.
        [TokenTree::Literal(_), TokenTree::Ident(next), ..] => Err(Error::new(
            next.span(),
            "expected `,`: separate the arguments with commas",
        )),
        other => Err(Error::spanned(
            other,
            format!("`{key}` must be a literal, not an expression"),
        )),
    }
}

fn negative(span: Span, key: &str) -> Error {
    Error::new(
        span,
        format!("`{key}` cannot be negative; write a literal from 0 up"),
    )
}
