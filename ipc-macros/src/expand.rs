//! The generated items, and the fallback that keeps one mistake to one error.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{Fields, Generics, Ident, Item, Visibility};

use crate::args::{self, Errors};
use crate::valid::{self, Checked};

/// The type the attribute is on: what the generated impls need.
struct Target {
    ident: Ident,
    vis: Visibility,
    generics: Generics,
    /// A plain unit struct, which can be named as a value.
    unit: bool,
}

pub(crate) fn named_semaphore(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let (args, arg_errors) = args::parse(args);
    if let Some(e) = arg_errors {
        errors.push(e);
    }
    let parsed: Item = match syn::parse2(item.clone()) {
        Ok(parsed) => parsed,
        Err(e) => {
            errors.push(e);
            return with_errors(item, errors);
        }
    };
    let checked = valid::check(&args, &mut errors);
    let target = target(&parsed, &mut errors);
    match (errors.into_error(), checked, target) {
        (None, Some(checked), Some(target)) => {
            let items = generate(&target, &checked, true);
            quote!(#parsed #items)
        }
        (error, _, target) => {
            // Stub accessors with placeholder values keep the uses of the
            // type compiling, so the user sees only the real mistake.
            let placeholder = Checked {
                name: "/".to_owned(),
                initial: 1,
                mode: 0o600,
            };
            let stubs = target.map(|t| generate(&t, &placeholder, false));
            let error = error.map(|e| e.to_compile_error());
            quote!(#parsed #stubs #error)
        }
    }
}

fn with_errors(mut item: TokenStream, errors: Errors) -> TokenStream {
    item.extend(errors.into_error().map(|e| e.to_compile_error()));
    item
}

/// Checks that the item is a unit struct without generics; returns what the
/// impls need even when it is not, so stubs can be emitted for it.
fn target(item: &Item, errors: &mut Errors) -> Option<Target> {
    let expected = "`#[named_semaphore]` goes on a unit struct such as `struct DbLock;`";
    let (ident, vis, generics, unit) = match item {
        Item::Struct(s) => {
            let unit = matches!(s.fields, Fields::Unit);
            if !unit {
                errors.push(syn::Error::new_spanned(
                    &s.fields,
                    format!("{expected}; remove the fields"),
                ));
            }
            (&s.ident, &s.vis, &s.generics, unit)
        }
        Item::Enum(e) => {
            errors.push(syn::Error::new_spanned(
                e.enum_token,
                format!("{expected}, not an enum"),
            ));
            (&e.ident, &e.vis, &e.generics, false)
        }
        Item::Union(u) => {
            errors.push(syn::Error::new_spanned(
                u.union_token,
                format!("{expected}, not a union"),
            ));
            (&u.ident, &u.vis, &u.generics, false)
        }
        other => {
            let (span, what) = keyword(other);
            errors.push(syn::Error::new(span, format!("{expected}, not {what}")));
            return None;
        }
    };
    if !generics.params.is_empty() || generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            generics,
            "a named semaphore is one object, so its struct takes no generics; remove them",
        ));
    }
    Some(Target {
        ident: ident.clone(),
        vis: vis.clone(),
        generics: generics.clone(),
        unit,
    })
}

/// The span of an item's keyword, and what to call the item.
fn keyword(item: &Item) -> (Span, &'static str) {
    fn span(t: &impl ToTokens) -> Span {
        t.to_token_stream()
            .into_iter()
            .next()
            .map_or_else(Span::call_site, |t| t.span())
    }
    match item {
        Item::Fn(f) => (span(&f.sig.fn_token), "a function"),
        Item::Trait(t) => (span(&t.trait_token), "a trait"),
        Item::Impl(i) => (span(&i.impl_token), "an impl block"),
        Item::Mod(m) => (span(&m.mod_token), "a module"),
        Item::Const(c) => (span(&c.const_token), "a const"),
        Item::Static(s) => (span(&s.static_token), "a static"),
        Item::Type(t) => (span(&t.type_token), "a type alias"),
        Item::Use(u) => (span(&u.use_token), "a use declaration"),
        other => (span(other), "this item"),
    }
}

/// The constants, accessors and trait impl. `checks` adds the compile-time
/// assertions that run ipc's own const rules on the literal values.
fn generate(target: &Target, checked: &Checked, checks: bool) -> TokenStream {
    let Target {
        ident,
        vis,
        generics,
        unit,
    } = target;
    let Checked {
        name,
        initial,
        mode,
    } = checked;
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let doc_name = format!(" The name of this semaphore, `{name}`.");
    let doc_semaphore = format!(
        " Opens the semaphore `{name}` on first use — creating it with value \
         {initial} and mode {mode:#o} if it does not exist — and returns the \
         handle cached for the whole process."
    );
    let asserts = checks.then(|| {
        let construct = unit.then(|| quote!(let _ = #ident;));
        quote! {
            const _: () = {
                ::core::assert!(
                    ::ipc::__private::is_semaphore_name(#name),
                    "the semaphore name breaks a rule of ipc::name::check",
                );
                ::core::assert!(
                    #initial <= ::ipc::consts::SEMAPHORE_VALUE_MAX,
                    "`initial` exceeds SEMAPHORE_VALUE_MAX on this platform",
                );
                #construct
            };
        }
    });
    quote! {
        #[allow(dead_code)]
        impl #impl_generics #ident #ty_generics #where_clause {
            #[doc = #doc_name]
            #vis const NAME: &'static str = #name;
            /// The value the semaphore starts with when this process creates it.
            #vis const INITIAL: u32 = #initial;
            /// The permission bits the semaphore gets when this process creates it.
            #vis const MODE: u32 = #mode;

            #[doc = #doc_semaphore]
            ///
            /// # Errors
            ///
            /// As `ipc::SemaphoreOptions::open`; a failed open is not cached,
            /// the next call tries again.
            #vis fn semaphore() -> ::ipc::Result<&'static ::ipc::Semaphore> {
                static SEMAPHORE: ::ipc::__private::StaticSemaphore =
                    ::ipc::__private::StaticSemaphore::new(#name, #initial, #mode);
                SEMAPHORE.get()
            }

            /// Acquires the semaphore; the guard releases it on drop.
            ///
            /// # Errors
            ///
            /// As `semaphore()` and `ipc::Semaphore::lock`.
            #vis fn lock() -> ::ipc::Result<::ipc::SemaphoreGuard<'static>> {
                <Self as ::ipc::NamedSemaphore>::lock()
            }

            /// Runs `f` while holding the semaphore, released on every way
            /// out, unwinding included.
            ///
            /// # Errors
            ///
            /// As `lock()`; `f` does not run then.
            #vis fn critical<R>(f: impl ::core::ops::FnOnce() -> R) -> ::ipc::Result<R> {
                <Self as ::ipc::NamedSemaphore>::critical(f)
            }

            /// Runs `f` while holding the semaphore if it is free now.
            ///
            /// # Errors
            ///
            /// `ErrorKind::Busy` if it is taken; otherwise as `lock()`.
            #vis fn try_critical<R>(f: impl ::core::ops::FnOnce() -> R) -> ::ipc::Result<R> {
                <Self as ::ipc::NamedSemaphore>::try_critical(f)
            }

            /// Runs `f` while holding the semaphore, waiting at most `timeout` for it.
            ///
            /// # Errors
            ///
            /// `ErrorKind::Busy` when the time is up; otherwise as `lock()`.
            #vis fn critical_timeout<R>(
                timeout: ::core::time::Duration,
                f: impl ::core::ops::FnOnce() -> R,
            ) -> ::ipc::Result<R> {
                <Self as ::ipc::NamedSemaphore>::critical_timeout(timeout, f)
            }

            /// Removes the semaphore's name (`sem_unlink`); handles stay usable.
            ///
            /// # Errors
            ///
            /// As `ipc::unlink_semaphore`.
            #vis fn unlink() -> ::ipc::Result<()> {
                <Self as ::ipc::NamedSemaphore>::unlink()
            }
        }

        impl #impl_generics ::ipc::NamedSemaphore for #ident #ty_generics #where_clause {
            const NAME: &'static str = #name;
            const INITIAL: u32 = #initial;
            const MODE: u32 = #mode;

            fn semaphore() -> ::ipc::Result<&'static ::ipc::Semaphore> {
                Self::semaphore()
            }
        }

        #asserts
    }
}
