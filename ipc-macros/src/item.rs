//! The struct, enum or union a macro is on, read from its tokens: only
//! what the macros need (attributes, name, generics, fields), which is far
//! less than a full Rust parser. The compiler has parsed the item before
//! the macro runs, so the tokens are well-formed Rust.

use proc_macro::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};

use crate::tokens::{angle_step, flatten_invisible, is_ident, is_punct, split_commas, stream};

/// `struct`, `enum` or `union`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Struct,
    Enum,
    Union,
}

/// An outer attribute: `#` and its brackets.
pub(crate) struct Attribute {
    /// The tokens inside the brackets.
    pub(crate) body: Vec<TokenTree>,
}

impl Attribute {
    /// The tokens in `name(...)`'s parentheses, if this is `#[name(...)]`.
    ///
    /// Invisible groups are seen through, at every level: a `macro_rules!`
    /// macro hands over `#[$m]` with `$m:meta` = `repr(packed)`, or
    /// `#[derive($p)]` with `$p:path`, inside one.
    pub(crate) fn list(&self, name: &str) -> Option<Vec<TokenTree>> {
        match flatten_invisible(self.body.iter().cloned()).as_slice() {
            [first, TokenTree::Group(g)]
                if is_ident(first, name) && g.delimiter() == Delimiter::Parenthesis =>
            {
                Some(flatten_invisible(g.stream()))
            }
            _ => None,
        }
    }
}

/// The generic parameters and where clause.
#[derive(Clone, Default)]
pub(crate) struct Generics {
    /// `<...>`, both brackets included; empty without parameters.
    pub(crate) tokens: Vec<TokenTree>,
    /// Each parameter's tokens.
    params: Vec<Vec<TokenTree>>,
    /// `where` and the predicates; empty without a where clause.
    pub(crate) where_clause: Vec<TokenTree>,
}

impl Generics {
    pub(crate) fn has_params(&self) -> bool {
        !self.params.is_empty()
    }

    /// The parameters as an impl declares them: defaults removed.
    pub(crate) fn impl_generics(&self) -> TokenStream {
        self.angled(|param| {
            let mut depth = 0;
            let end = (0..param.len())
                .find(|&i| {
                    angle_step(param, i, &mut depth);
                    depth == 0 && is_default_eq(param, i)
                })
                .unwrap_or(param.len());
            stream(&param[..end])
        })
    }

    /// The parameters as a type names them: `'a`, `T`, `N`.
    pub(crate) fn ty_generics(&self) -> TokenStream {
        self.angled(|param| {
            let param = skip_attributes(param);
            match param {
                [quote @ TokenTree::Punct(p), lifetime, ..] if p.as_char() == '\'' => {
                    stream(&[quote.clone(), lifetime.clone()])
                }
                [first, name, ..] if is_ident(first, "const") => stream(std::slice::from_ref(name)),
                [name, ..] => stream(std::slice::from_ref(name)),
                [] => TokenStream::new(),
            }
        })
    }

    fn angled(&self, each: impl Fn(&[TokenTree]) -> TokenStream) -> TokenStream {
        if self.params.is_empty() {
            return TokenStream::new();
        }
        let mut out: Vec<TokenTree> = vec![self.tokens[0].clone()];
        for param in &self.params {
            out.extend(each(param));
            out.push(punct(','));
        }
        out.push(self.tokens[self.tokens.len() - 1].clone());
        out.into_iter().collect()
    }

    /// The where clause as written (`where` included), or nothing.
    pub(crate) fn where_clause(&self) -> TokenStream {
        stream(&self.where_clause)
    }

    /// The predicates, followed by a comma unless there are none or the
    /// last already has one: more predicates can follow.
    pub(crate) fn predicates_and_comma(&self) -> TokenStream {
        let predicates = self.where_clause.get(1..).unwrap_or_default();
        let mut out = stream(predicates);
        if predicates.last().is_some_and(|t| !is_punct(t, ',')) {
            out.extend([punct(',')]);
        }
        out
    }
}

/// A `=` that starts a default at angle depth 0 of a parameter. Only a
/// `>` can be joined to it there: `T: Tr<u8>= u32` lexes as `>=`.
fn is_default_eq(tokens: &[TokenTree], i: usize) -> bool {
    let TokenTree::Punct(p) = &tokens[i] else {
        return false;
    };
    let joined_before = i > 0
        && matches!(&tokens[i - 1], TokenTree::Punct(q)
            if q.spacing() == proc_macro::Spacing::Joint && q.as_char() != '>');
    p.as_char() == '=' && p.spacing() == proc_macro::Spacing::Alone && !joined_before
}

fn punct(c: char) -> TokenTree {
    TokenTree::Punct(proc_macro::Punct::new(c, proc_macro::Spacing::Alone))
}

/// What follows the name and generics.
pub(crate) enum Body {
    /// `struct X;`
    Unit,
    /// `struct X { .. }`
    Named(Group),
    /// `struct X(..);`
    Tuple(Group),
    /// The braces of an enum or a union.
    Other,
}

/// A field: its name (none in a tuple struct) and its type's tokens.
pub(crate) struct Field {
    pub(crate) ident: Option<Ident>,
    pub(crate) ty: Vec<TokenTree>,
}

/// A struct, enum or union.
pub(crate) struct Item {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Vec<TokenTree>,
    pub(crate) kind: Kind,
    /// The `struct`/`enum`/`union` keyword.
    pub(crate) keyword: Span,
    pub(crate) ident: Ident,
    pub(crate) generics: Generics,
    pub(crate) body: Body,
}

impl Item {
    /// The fields of a struct (none for a unit struct, an enum or a union).
    pub(crate) fn fields(&self) -> Vec<Field> {
        match &self.body {
            Body::Named(g) => fields(g, true),
            Body::Tuple(g) => fields(g, false),
            Body::Unit | Body::Other => Vec::new(),
        }
    }
}

/// Reads a struct, enum or union; `None` for any other item.
pub(crate) fn parse(tokens: TokenStream) -> Option<Item> {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut rest = skip_attributes(&tokens);
    // The skipped tokens are `#` and a bracket group, in pairs.
    let attrs = tokens[..tokens.len() - rest.len()]
        .iter()
        .filter_map(|token| match token {
            TokenTree::Group(g) => Some(Attribute {
                body: g.stream().into_iter().collect(),
            }),
            _ => None,
        })
        .collect();
    let vis_len = visibility_len(rest, false);
    let vis = rest[..vis_len].to_vec();
    rest = &rest[vis_len..];
    let [
        TokenTree::Ident(keyword),
        TokenTree::Ident(ident),
        tail @ ..,
    ] = rest
    else {
        return None;
    };
    let kind = match keyword.to_string().as_str() {
        "struct" => Kind::Struct,
        "enum" => Kind::Enum,
        "union" => Kind::Union,
        _ => return None,
    };
    rest = tail;
    let mut generics = Generics::default();
    if rest.first().is_some_and(|t| is_punct(t, '<')) {
        let mut depth = 0;
        let end = (0..rest.len()).find(|&i| {
            angle_step(rest, i, &mut depth);
            depth == 0
        })?;
        generics.tokens = rest[..=end].to_vec();
        generics.params = split_commas(&rest[1..end])
            .into_iter()
            .map(<[TokenTree]>::to_vec)
            .collect();
        rest = &rest[end + 1..];
    }
    // `where` comes before the braces, or after a tuple struct's parentheses.
    // Braces inside angle brackets (`where T: Tr<{ 1 }>`) are a const
    // argument, not the body.
    let mut body = Body::Unit;
    let mut depth = 0;
    for (i, token) in rest.iter().enumerate() {
        angle_step(rest, i, &mut depth);
        if depth > 0 {
            continue;
        }
        match token {
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => {
                body = match kind {
                    Kind::Struct => Body::Named(g.clone()),
                    Kind::Enum | Kind::Union => Body::Other,
                };
                generics.where_clause = rest[..i].to_vec();
                break;
            }
            TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis && i == 0 => {
                body = Body::Tuple(g.clone());
            }
            t if is_punct(t, ';') => {
                let start = usize::from(matches!(body, Body::Tuple(_)));
                generics.where_clause = rest[start..i].to_vec();
                break;
            }
            _ => {}
        }
    }
    Some(Item {
        attrs,
        vis,
        kind,
        keyword: keyword.span(),
        ident: ident.clone(),
        generics,
        body,
    })
}

/// How many tokens the visibility at the start of `tokens` takes: `pub`,
/// and `(crate)`, `(self)`, `(super)` or `(in path)` after it. In a tuple
/// field, `pub (u8, u16)` is `pub` and a tuple type.
///
/// A `$v:vis` from a `macro_rules!` macro is one invisible group, empty for
/// the private visibility.
fn visibility_len(tokens: &[TokenTree], in_tuple: bool) -> usize {
    match tokens {
        [TokenTree::Group(g), ..] if g.delimiter() == Delimiter::None => {
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            let is_vis = match inner.as_slice() {
                [] => true,
                [first, ..] => {
                    is_ident(first, "pub") && visibility_len(&inner, false) == inner.len()
                }
            };
            usize::from(is_vis)
        }
        [first, TokenTree::Group(g), ..]
            if is_ident(first, "pub") && g.delimiter() == Delimiter::Parenthesis =>
        {
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            let restricted = match inner.as_slice() {
                [only] => ["crate", "self", "super"].iter().any(|k| is_ident(only, k)),
                [first, ..] => is_ident(first, "in"),
                [] => false,
            };
            if restricted || !in_tuple { 2 } else { 1 }
        }
        [first, ..] if is_ident(first, "pub") => 1,
        _ => 0,
    }
}

/// The tokens from an item's keyword on: after its outer attributes and
/// its visibility.
pub(crate) fn after_attributes_and_visibility(tokens: &[TokenTree]) -> &[TokenTree] {
    let rest = skip_attributes(tokens);
    &rest[visibility_len(rest, false)..]
}

/// The tokens after the outer attributes (`#` and brackets) at the start.
fn skip_attributes(mut tokens: &[TokenTree]) -> &[TokenTree] {
    while let [pound, TokenTree::Group(g), rest @ ..] = tokens {
        if !is_punct(pound, '#') || g.delimiter() != Delimiter::Bracket {
            break;
        }
        tokens = rest;
    }
    tokens
}

fn fields(group: &Group, named: bool) -> Vec<Field> {
    let tokens: Vec<TokenTree> = group.stream().into_iter().collect();
    split_commas(&tokens)
        .into_iter()
        .map(|field| {
            let field = skip_attributes(field);
            let field = &field[visibility_len(field, !named)..];
            match field {
                [TokenTree::Ident(ident), colon, ty @ ..] if named && is_punct(colon, ':') => {
                    Field {
                        ident: Some(ident.clone()),
                        ty: ty.to_vec(),
                    }
                }
                ty => Field {
                    ident: None,
                    ty: ty.to_vec(),
                },
            }
        })
        .collect()
}
