//! `#[derive(ShmSafe)]`: the rules for what may live in shared memory, as
//! spanned errors that state the fix, and the impl with its layout fingerprint.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Type};

use crate::args::Errors;

pub(crate) fn shm_safe(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Errors::default();
    let fields = match &input.data {
        Data::Struct(s) => {
            check_repr(&input, &mut errors);
            Some(&s.fields)
        }
        Data::Enum(e) => {
            errors.push(syn::Error::new_spanned(
                e.enum_token,
                "`ShmSafe` cannot be derived for an enum: a discriminant written by another \
                 process, or half-written by one that crashed, may be invalid; use an integer \
                 field (`u8`, `u32`) with constants instead",
            ));
            None
        }
        Data::Union(u) => {
            errors.push(syn::Error::new_spanned(
                u.union_token,
                "`ShmSafe` cannot be derived for a union: which field is valid is not known \
                 to other processes; use a byte array (`[u8; N]`) or a struct",
            ));
            None
        }
    };
    if let Some(fields) = fields {
        for field in fields {
            if let Some(why) = refuse(&field.ty) {
                errors.push(syn::Error::new_spanned(&field.ty, why));
            }
        }
    }
    if let Some(e) = errors.into_error() {
        return e.to_compile_error();
    }
    let Some(fields) = fields else {
        return TokenStream::new();
    };
    generate(&input, fields)
}

/// `#[repr(C)]` or `#[repr(transparent)]`, without `packed`.
fn check_repr(input: &DeriveInput, errors: &mut Errors) {
    let mut fixed = false;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("repr")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("C") || meta.path.is_ident("transparent") {
                fixed = true;
            } else if meta.path.is_ident("packed") {
                errors.push(meta.error(
                    "remove `packed`: fields of a packed struct may be unaligned, which atomics \
                     cannot be and which makes a reference to a field undefined behaviour",
                ));
            }
            if meta.input.peek(syn::token::Paren) {
                let _content;
                syn::parenthesized!(_content in meta.input);
            }
            Ok(())
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    if !fixed {
        let Data::Struct(s) = &input.data else { return };
        let span = s
            .struct_token
            .span
            .join(input.ident.span())
            .unwrap_or(input.ident.span());
        errors.push(syn::Error::new(
            span,
            "add #[repr(C)]: the layout of a repr(Rust) struct may differ between two builds, \
             so two processes could disagree on where a field is",
        ));
    }
}

/// Why a field type can never be `ShmSafe`, for the types recognisable by
/// their spelling; the rest are checked by the trait bound.
fn refuse(ty: &Type) -> Option<String> {
    Some(match ty {
        Type::Reference(_) => "a reference points into one process's memory: it means nothing \
                               in another; store an index, or the data itself in a fixed-size \
                               array"
            .to_owned(),
        Type::Ptr(_) => "a raw pointer points into one process's memory: it means nothing in \
                         another; store an offset or an index instead"
            .to_owned(),
        Type::BareFn(_) => "a function pointer is an address in one process: it means nothing \
                            in another; store a number that says which function"
            .to_owned(),
        Type::Slice(_) => "a slice has no fixed size; use a fixed-size array `[T; N]`".to_owned(),
        Type::TraitObject(_) | Type::ImplTrait(_) => {
            "a trait object holds a vtable pointer of one process; use a concrete type".to_owned()
        }
        Type::Tuple(t) if !t.elems.is_empty() => "a tuple has no fixed layout (it is repr(Rust)); \
                                                  use a #[repr(C)] struct"
            .to_owned(),
        Type::Paren(p) => return refuse(&p.elem),
        Type::Group(g) => return refuse(&g.elem),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            let name = last.ident.to_string();
            match name.as_str() {
                "bool" => "`bool` has invalid bit patterns (only 0 and 1 are valid), which \
                           another process or a crash halfway through a write could leave; use \
                           `u8`"
                    .to_owned(),
                "char" => "`char` has invalid bit patterns (surrogates, values above \
                           0x10FFFF); use `u32`"
                    .to_owned(),
                "AtomicBool" => "`AtomicBool` has invalid bit patterns (only 0 and 1 are \
                                 valid); use `AtomicU8`"
                    .to_owned(),
                "AtomicPtr" => "`AtomicPtr` holds an address in one process; use `AtomicUsize` \
                                with an offset or index"
                    .to_owned(),
                "Option" => "`Option` has invalid bit patterns (its discriminant); use a \
                             sentinel value, or a separate `u8` flag"
                    .to_owned(),
                "Box" | "Vec" | "String" | "Rc" | "Arc" | "HashMap" | "BTreeMap" | "VecDeque" => {
                    format!(
                        "`{name}` points into one process's heap: it means nothing in another; \
                         use a fixed-size array (`[u8; N]`, `[T; N]`) and a length"
                    )
                }
                "Cell" | "RefCell" | "UnsafeCell" => format!(
                    "`{name}` is not synchronised across processes; use atomics, or \
                     `ipc::Mutex<T>` for data that changes in several steps"
                ),
                "str" => "`str` has no fixed size; use `[u8; N]` and a length".to_owned(),
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// The impl: every field's type bound to `ShmSafe` (spanned on the field's
/// type, so an error points at it), and `LAYOUT` folded from the fields.
fn generate(input: &DeriveInput, fields: &Fields) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut bounds = Vec::new();
    let mut folds = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        let ty = &field.ty;
        bounds.push(quote_spanned!(ty.span()=> #ty: ::ipc::ShmSafe));
        let (member, label) = if let Some(name) = &field.ident {
            (quote!(#name), name.to_string())
        } else {
            let index = syn::Index::from(i);
            (quote!(#index), i.to_string())
        };
        folds.push(quote! {
            let hash = ::ipc::__private::struct_field(
                hash,
                #label,
                ::core::mem::offset_of!(Self, #member),
                <#ty as ::ipc::ShmSafe>::LAYOUT,
            );
        });
    }
    let predicates = where_clause.map(|w| &w.predicates);
    let comma = predicates
        .filter(|p| !p.empty_or_trailing())
        .map(|_| quote!(,));
    let hash = format_ident!("hash");
    quote! {
        // SAFETY: the derive checked that the struct is #[repr(C)] or
        // #[repr(transparent)] without packed, and every field's type is
        // bound to ShmSafe below, so every bit pattern of the struct is
        // valid (padding included: it is never read as a value) and it holds
        // nothing meaningful in one process only.
        #[automatically_derived]
        #[allow(unsafe_code)]
        unsafe impl #impl_generics ::ipc::ShmSafe for #ident #ty_generics
        where
            #predicates #comma
            #(#bounds,)*
        {
            const LAYOUT: u64 = {
                let #hash = ::ipc::__private::struct_start(
                    ::core::mem::size_of::<Self>(),
                    ::core::mem::align_of::<Self>(),
                );
                #(#folds)*
                #hash
            };
        }
    }
}
