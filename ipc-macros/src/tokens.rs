//! A small kit over `proc_macro` itself: spanned errors that become
//! `compile_error!` invocations, and templates — Rust source with `#hole`s —
//! filled with tokens. With it the macros need neither syn nor quote, so a
//! user's clean build compiles neither (they are most of a proc-macro
//! crate's build time).

use proc_macro::{Delimiter, Group, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// A compile error covering the tokens from `start` to `end`.
pub(crate) struct Error {
    start: Span,
    end: Span,
    message: String,
}

impl Error {
    /// An error on one span.
    pub(crate) fn new(span: Span, message: impl Into<String>) -> Self {
        Error {
            start: span,
            end: span,
            message: message.into(),
        }
    }

    /// An error covering `tokens`, from the first to the last (the call site
    /// if there are none), as syn's `Error::new_spanned` does.
    pub(crate) fn spanned(tokens: &[TokenTree], message: impl Into<String>) -> Self {
        let (start, end) = match (tokens.first(), tokens.last()) {
            (Some(first), Some(last)) => (first.span(), last.span()),
            _ => (Span::call_site(), Span::call_site()),
        };
        Error {
            start,
            end,
            message: message.into(),
        }
    }

    /// `::core::compile_error! { "message" }`: the path and `!` carry the
    /// start span and the braces the end span, so rustc reports the error
    /// on everything between them.
    fn to_tokens(&self, out: &mut Vec<TokenTree>) {
        let start = self.start;
        let punct = |c: char, spacing: Spacing| {
            let mut p = Punct::new(c, spacing);
            p.set_span(start);
            TokenTree::Punct(p)
        };
        out.push(punct(':', Spacing::Joint));
        out.push(punct(':', Spacing::Alone));
        out.push(TokenTree::Ident(proc_macro::Ident::new("core", start)));
        out.push(punct(':', Spacing::Joint));
        out.push(punct(':', Spacing::Alone));
        out.push(TokenTree::Ident(proc_macro::Ident::new(
            "compile_error",
            start,
        )));
        out.push(punct('!', Spacing::Alone));
        let mut message = Literal::string(&self.message);
        message.set_span(self.end);
        let mut body = Group::new(
            Delimiter::Brace,
            TokenStream::from(TokenTree::Literal(message)),
        );
        body.set_span(self.end);
        out.push(TokenTree::Group(body));
    }
}

/// Every error found, reported together, in the order found.
#[derive(Default)]
pub(crate) struct Errors(Vec<Error>);

impl Errors {
    pub(crate) fn push(&mut self, e: Error) {
        self.0.push(e);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// One `compile_error!` per error.
    pub(crate) fn to_compile_errors(&self) -> TokenStream {
        let mut out = Vec::new();
        for e in &self.0 {
            e.to_tokens(&mut out);
        }
        out.into_iter().collect()
    }
}

/// Parses `template` (Rust tokens, spanned at the call site as quote's
/// are) and replaces each `#hole` named in `holes` by its tokens, which
/// keep their own spans. A `#` before anything else stays as written.
pub(crate) fn fill(template: &str, holes: &[(&str, &TokenStream)]) -> TokenStream {
    // The templates are this crate's own source: a failure here is a bug
    // in a template, caught by the ui tests, never by a user's input.
    let tokens: TokenStream = template
        .parse()
        .unwrap_or_else(|_| unreachable!("a template is not Rust tokens"));
    substitute(tokens, holes)
}

fn substitute(tokens: TokenStream, holes: &[(&str, &TokenStream)]) -> TokenStream {
    let mut out: Vec<TokenTree> = Vec::new();
    let mut iter = tokens.into_iter().peekable();
    while let Some(token) = iter.next() {
        match token {
            TokenTree::Punct(p) if p.as_char() == '#' => {
                let hole = match iter.peek() {
                    Some(TokenTree::Ident(name)) => {
                        let name = name.to_string();
                        holes.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
                    }
                    _ => None,
                };
                if let Some(tokens) = hole {
                    iter.next();
                    out.extend(tokens.clone());
                } else {
                    out.push(TokenTree::Punct(p));
                }
            }
            TokenTree::Group(g) => {
                let mut filled = Group::new(g.delimiter(), substitute(g.stream(), holes));
                filled.set_span(g.span());
                out.push(TokenTree::Group(filled));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

/// `tokens` with every token, at every depth, spanned at `span` (quote's
/// `quote_spanned!`): errors in them point at `span`.
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                TokenTree::Group(group)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// The tokens as a stream.
pub(crate) fn stream(tokens: &[TokenTree]) -> TokenStream {
    tokens.iter().cloned().collect()
}

/// A string literal.
pub(crate) fn string(value: &str) -> TokenStream {
    TokenTree::Literal(Literal::string(value)).into()
}

/// A `u32` literal with its suffix, as quote writes a `u32`.
pub(crate) fn u32_suffixed(value: u32) -> TokenStream {
    TokenTree::Literal(Literal::u32_suffixed(value)).into()
}

/// Whether `token` is the punctuation `c`.
pub(crate) fn is_punct(token: &TokenTree, c: char) -> bool {
    matches!(token, TokenTree::Punct(p) if p.as_char() == c)
}

/// Whether `token` is the identifier `name`.
pub(crate) fn is_ident(token: &TokenTree, name: &str) -> bool {
    matches!(token, TokenTree::Ident(i) if i.to_string() == name)
}

/// Splits `tokens` at the commas outside angle brackets (the other
/// brackets are groups already); empty pieces (a trailing comma) are left
/// out.
pub(crate) fn split_commas(tokens: &[TokenTree]) -> Vec<&[TokenTree]> {
    let mut pieces = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, token) in tokens.iter().enumerate() {
        angle_step(tokens, i, &mut depth);
        if depth == 0 && is_punct(token, ',') {
            if i > start {
                pieces.push(&tokens[start..i]);
            }
            start = i + 1;
        }
    }
    if tokens.len() > start {
        pieces.push(&tokens[start..]);
    }
    pieces
}

/// Updates the angle-bracket depth for `tokens[i]`: `<` opens, `>` closes
/// unless it ends `->` (a function type's return) or `=>`.
pub(crate) fn angle_step(tokens: &[TokenTree], i: usize, depth: &mut usize) {
    match &tokens[i] {
        TokenTree::Punct(p) if p.as_char() == '<' => *depth += 1,
        TokenTree::Punct(p) if p.as_char() == '>' => {
            let arrow = i > 0
                && matches!(&tokens[i - 1], TokenTree::Punct(q)
                    if matches!(q.as_char(), '-' | '=') && q.spacing() == Spacing::Joint);
            if !arrow {
                *depth = depth.saturating_sub(1);
            }
        }
        _ => {}
    }
}

/// The tokens with every invisible group at this level replaced by its
/// contents (recursively): a `macro_rules!` macro hands over a `$t:ty`, a
/// `$e:expr`, a `$m:meta` or a `$p:path` inside one.
pub(crate) fn flatten_invisible(tokens: impl IntoIterator<Item = TokenTree>) -> Vec<TokenTree> {
    let mut out = Vec::new();
    for token in tokens {
        match token {
            TokenTree::Group(g) if g.delimiter() == Delimiter::None => {
                out.extend(flatten_invisible(g.stream()));
            }
            other => out.push(other),
        }
    }
    out
}
