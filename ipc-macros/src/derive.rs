//! `#[derive(ShmSafe)]`: the rules for what may live in shared memory, as
//! spanned errors that state the fix, and the impl with its layout fingerprint.

use proc_macro::{Delimiter, Span, TokenStream, TokenTree};

use crate::item::{self, Field, Item, Kind};
use crate::tokens::{
    Error, Errors, angle_step, fill, flatten_invisible, is_ident, is_punct, respan, split_commas,
    stream, string,
};

pub(crate) fn shm_safe(input: TokenStream) -> TokenStream {
    let Some(input) = item::parse(input) else {
        let mut errors = Errors::default();
        errors.push(Error::new(
            Span::call_site(),
            "`ShmSafe` is derived for a #[repr(C)] struct",
        ));
        return errors.to_compile_errors();
    };
    let mut errors = Errors::default();
    let fields = match input.kind {
        Kind::Struct => {
            check_repr(&input, &mut errors);
            input.fields()
        }
        Kind::Enum => {
            errors.push(Error::new(
                input.keyword,
                "`ShmSafe` cannot be derived for an enum: a discriminant written by another \
                 process, or half-written by one that crashed, may be invalid; use an integer \
                 field (`u8`, `u32`) with constants instead",
            ));
            Vec::new()
        }
        Kind::Union => {
            errors.push(Error::new(
                input.keyword,
                "`ShmSafe` cannot be derived for a union: which field is valid is not known \
                 to other processes; use a byte array (`[u8; N]`) or a struct",
            ));
            Vec::new()
        }
    };
    for field in &fields {
        if let Some(why) = refuse(&field.ty) {
            errors.push(Error::spanned(&field.ty, why));
        }
    }
    if !errors.is_empty() {
        // A placeholder impl, so the uses of the type (in `Shared<T>`,
        // `#[named_mutex]`...) do not each report the missing impl: one
        // mistake, one error. The crate does not compile anyway. Not for a
        // struct with a raw pointer, which is not Sync: the placeholder would
        // be an error of its own.
        let has_pointer = fields
            .iter()
            .any(|f| f.ty.first().is_some_and(|t| is_punct(t, '*')));
        let error = errors.to_compile_errors();
        if has_pointer {
            return error;
        }
        // No SAFETY argument is needed for this impl: it is only ever emitted
        // beside a compile_error!, so no program containing it compiles.
        let placeholder = fill(
            r"
            #error
            #[allow(unsafe_code)]
            unsafe impl #impl_generics ::ipc::ShmSafe for #ident #ty_generics #where_clause {
                const LAYOUT: u64 = 0;
            }
            ",
            &[
                ("error", &error),
                ("impl_generics", &input.generics.impl_generics()),
                ("ident", &TokenTree::Ident(input.ident.clone()).into()),
                ("ty_generics", &input.generics.ty_generics()),
                ("where_clause", &input.generics.where_clause()),
            ],
        );
        return placeholder;
    }
    generate(&input, &fields)
}

/// `#[repr(C)]` or `#[repr(transparent)]`, without `packed`.
fn check_repr(input: &Item, errors: &mut Errors) {
    let mut fixed = false;
    for list in input.attrs.iter().filter_map(|a| a.list("repr")) {
        for hint in split_commas(&list) {
            let Some(first) = hint.first() else { continue };
            if is_ident(first, "C") || is_ident(first, "transparent") {
                fixed = true;
            } else if is_ident(first, "packed") {
                errors.push(Error::new(
                    first.span(),
                    "remove `packed`: fields of a packed struct may be unaligned, which atomics \
                     cannot be and which makes a reference to a field undefined behaviour",
                ));
            }
        }
    }
    if !fixed {
        errors.push(Error::new(
            input.ident.span(),
            "add #[repr(C)]: the layout of a repr(Rust) struct may differ between two builds, \
             so two processes could disagree on where a field is",
        ));
    }
}

/// Why a field type can never be `ShmSafe`, for the types recognisable by
/// their spelling alone: references, pointers, the primitives `bool` and
/// `char`. Names that a user type could also have (`Box`, `Option`, `Vec`)
/// are left to the trait bound, whose message lists them.
fn refuse(ty: &[TokenTree]) -> Option<&'static str> {
    let ty = flatten_invisible(ty.iter().cloned());
    let first = ty.first()?;
    Some(match first {
        TokenTree::Punct(p) if p.as_char() == '&' => {
            "a reference points into one process's memory: it means nothing in another; store \
             an index, or the data itself in a fixed-size array"
        }
        TokenTree::Punct(p) if p.as_char() == '*' => {
            "a raw pointer points into one process's memory: it means nothing in another; store \
             an offset or an index instead"
        }
        // `for<'a> fn(&'a u8)` is a function pointer, `for<'a> Fn(&'a u8)`
        // (edition 2018, without `dyn`) a trait object.
        TokenTree::Ident(i) if i.to_string() == "for" => {
            let mut depth = 0;
            let after = (1..ty.len())
                .find(|&k| {
                    angle_step(&ty, k, &mut depth);
                    depth == 0
                })
                .and_then(|end| ty.get(end + 1));
            if after.is_some_and(|t| ["fn", "unsafe", "extern"].iter().any(|k| is_ident(t, k))) {
                "a function pointer is an address in one process: it means nothing in another; \
                 store a number that says which function"
            } else {
                "a trait object holds a vtable pointer of one process; use a concrete type"
            }
        }
        TokenTree::Ident(i) if matches!(i.to_string().as_str(), "fn" | "unsafe" | "extern") => {
            "a function pointer is an address in one process: it means nothing in another; store \
             a number that says which function"
        }
        TokenTree::Ident(i) if matches!(i.to_string().as_str(), "dyn" | "impl") => {
            "a trait object holds a vtable pointer of one process; use a concrete type"
        }
        TokenTree::Group(g) if g.delimiter() == Delimiter::Bracket => {
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            if inner.iter().any(|t| is_punct(t, ';')) {
                return None;
            }
            "a slice has no fixed size; use a fixed-size array `[T; N]`"
        }
        TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis && ty.len() == 1 => {
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            if inner.is_empty() {
                return None;
            }
            let mut depth = 0;
            let tuple = (0..inner.len()).any(|i| {
                angle_step(&inner, i, &mut depth);
                depth == 0 && is_punct(&inner[i], ',')
            });
            if !tuple {
                return refuse(&inner);
            }
            "a tuple has no fixed layout (it is repr(Rust)); use a #[repr(C)] struct"
        }
        TokenTree::Ident(_) | TokenTree::Punct(_) if is_path_start(first) => {
            match last_segment(&ty)?.as_str() {
                "bool" => {
                    "`bool` has invalid bit patterns (only 0 and 1 are valid), which another process \
                 or a crash halfway through a write could leave; use `u8`"
                }
                "char" => {
                    "`char` has invalid bit patterns (surrogates, values above 0x10FFFF); use `u32`"
                }
                "AtomicBool" => {
                    "`AtomicBool` has invalid bit patterns (only 0 and 1 are valid); use `AtomicU8`"
                }
                "AtomicPtr" => {
                    "`AtomicPtr` holds an address in one process; use `AtomicUsize` with an offset or \
                 index"
                }
                "str" => "`str` has no fixed size; use `[u8; N]` and a length",
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// An identifier, or the `::` of a path from the crate root.
fn is_path_start(token: &TokenTree) -> bool {
    matches!(token, TokenTree::Ident(_)) || is_punct(token, ':')
}

/// The last identifier of a path type outside its generic arguments
/// (`AtomicBool` in `std::sync::atomic::AtomicBool`, `Vec` in `Vec<bool>`);
/// `None` for anything that is not a plain path.
fn last_segment(ty: &[TokenTree]) -> Option<String> {
    let mut depth = 0;
    let mut last = None;
    for (i, token) in ty.iter().enumerate() {
        angle_step(ty, i, &mut depth);
        match token {
            TokenTree::Ident(ident) if depth == 0 => last = Some(ident.to_string()),
            TokenTree::Punct(p) if depth == 0 && !matches!(p.as_char(), ':' | '<' | '>') => {
                // `Fn(u8) -> bool`, `A + B`, `m!()`: not a plain path.
                return None;
            }
            TokenTree::Group(_) if depth == 0 => return None,
            _ => {}
        }
    }
    last
}

/// The impl: every field's type bound to `ShmSafe` (spanned on the field's
/// type, so an error points at it), and `LAYOUT` folded from the fields.
fn generate(input: &Item, fields: &[Field]) -> TokenStream {
    let mut bounds = TokenStream::new();
    let mut folds = TokenStream::new();
    for (i, field) in fields.iter().enumerate() {
        let ty = stream(&field.ty);
        let span = field
            .ty
            .first()
            .map_or_else(Span::call_site, TokenTree::span);
        // As quote_spanned! would: the bound's own tokens on the type's span,
        // so an unmet bound is reported on the field's type.
        bounds.extend(ty.clone());
        bounds.extend(respan(fill(": ::ipc::ShmSafe", &[]), span));
        bounds.extend(fill(",", &[]));
        let (member, label) = match &field.ident {
            Some(name) => (TokenTree::Ident(name.clone()), name.to_string()),
            None => (
                TokenTree::Literal(proc_macro::Literal::usize_unsuffixed(i)),
                i.to_string(),
            ),
        };
        folds.extend(fill(
            r"
            let hash = ::ipc::__private::struct_field(
                hash,
                #label,
                ::core::mem::offset_of!(Self, #member),
                <#ty as ::ipc::ShmSafe>::LAYOUT,
            );
            ",
            &[
                ("label", &string(&label)),
                ("member", &member.into()),
                ("ty", &ty),
            ],
        ));
    }
    // SAFETY (of the generated impl): the derive checked that the struct is
    // #[repr(C)] or #[repr(transparent)] without packed, and every field's
    // type is bound to ShmSafe below, so every bit pattern of the struct is
    // valid (padding included: it is never read as a value) and it holds
    // nothing meaningful in one process only.
    fill(
        r"
        #[automatically_derived]
        #[allow(unsafe_code)]
        unsafe impl #impl_generics ::ipc::ShmSafe for #ident #ty_generics
        where
            #predicates
            #bounds
        {
            const LAYOUT: u64 = {
                let hash = ::ipc::__private::struct_start(
                    ::core::mem::size_of::<Self>(),
                    ::core::mem::align_of::<Self>(),
                );
                #folds
                hash
            };
        }
        ",
        &[
            ("impl_generics", &input.generics.impl_generics()),
            ("ident", &TokenTree::Ident(input.ident.clone()).into()),
            ("ty_generics", &input.generics.ty_generics()),
            ("predicates", &input.generics.predicates_and_comma()),
            ("bounds", &bounds),
            ("folds", &folds),
        ],
    )
}
