//! The generated items, and the fallback that keeps one mistake to one error.

use proc_macro::{Ident, Literal, TokenStream, TokenTree};

use crate::args;
use crate::item::{self, Body, Generics, Item, Kind};
use crate::tokens::{Error, Errors, fill, is_ident, respan, stream, string, u32_suffixed};
use crate::valid::{self, Checked, Object};

/// The type the attribute is on: what the generated impls need.
struct Target {
    ident: Ident,
    vis: TokenStream,
    generics: Generics,
    /// A plain unit struct, which can be named as a value.
    unit: bool,
    /// Whether the struct derives `ShmSafe` (the data of a mutex or a
    /// shared-memory object must); stubs without it use no data.
    shm_safe: bool,
}

/// `#[named_semaphore]`, `#[named_mutex]` and `#[named_shared_memory]`.
pub(crate) fn attribute(object: Object, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = args::parse(args, object == Object::Semaphore, &mut errors);
    // Only structs, enums and unions are read; anything else is named by
    // its keyword in the error.
    let Some(parsed) = item::parse(item.clone()) else {
        errors.push(wrong_item(object, &item));
        let mut out = item;
        out.extend(errors.to_compile_errors());
        return out;
    };
    let checked = valid::check(&args, object, &mut errors);
    let target = target(object, &parsed, &mut errors);
    let mut out = item;
    match checked {
        Some(checked) if errors.is_empty() => {
            out.extend(generate(object, &target, &checked, true));
        }
        _ => {
            // Stub accessors with placeholder values keep the uses of the
            // type compiling, so the user sees only the real mistake.
            let placeholder = Checked {
                name: "/".to_owned(),
                initial: 1,
                mode: 0o600,
            };
            out.extend(generate(object, &target, &placeholder, false));
            out.extend(errors.to_compile_errors());
        }
    }
    out
}

/// What the attribute goes on, for the messages.
fn expected(object: Object) -> &'static str {
    match object {
        Object::Semaphore => "`#[named_semaphore]` goes on a unit struct such as `struct DbLock;`",
        Object::Mutex => {
            "`#[named_mutex]` goes on a unit struct such as `struct DbLock;` (a lock without data), \
             or on a `#[derive(ipc::ShmSafe)]` struct (the data it protects)"
        }
        Object::SharedMemory => {
            "`#[named_shared_memory]` goes on a `#[derive(ipc::ShmSafe)]` `#[repr(C)]` struct"
        }
    }
}

/// Checks that the item is a struct of the right shape without generics;
/// returns what the impls need even when it is not, so stubs can be emitted.
fn target(object: Object, item: &Item, errors: &mut Errors) -> Target {
    let expected = expected(object);
    let mut shm_safe = false;
    let unit = match item.kind {
        Kind::Struct => {
            let unit = matches!(item.body, Body::Unit);
            if let (Body::Named(fields) | Body::Tuple(fields), Object::Semaphore) =
                (&item.body, object)
            {
                errors.push(Error::new(
                    fields.span(),
                    format!("{expected}; remove the fields"),
                ));
            }
            shm_safe = derives_shm_safe(item);
            let needs_derive = match object {
                Object::Semaphore => false,
                Object::Mutex => !unit,
                Object::SharedMemory => true,
            };
            if needs_derive && !shm_safe {
                let why = if object == Object::Mutex {
                    "the data a named mutex protects lives in shared memory"
                } else {
                    "a named shared-memory object holds the struct in shared memory"
                };
                errors.push(Error::new(
                    item.ident.span(),
                    format!(
                        "add `#[derive(ipc::ShmSafe)]` and `#[repr(C)]` below the attribute: {why}"
                    ),
                ));
            }
            unit
        }
        Kind::Enum => {
            errors.push(Error::new(item.keyword, format!("{expected}, not an enum")));
            false
        }
        Kind::Union => {
            errors.push(Error::new(item.keyword, format!("{expected}, not a union")));
            false
        }
    };
    let generics = &item.generics;
    if generics.has_params() || !generics.where_clause.is_empty() {
        let tokens = if generics.has_params() {
            &generics.tokens
        } else {
            &generics.where_clause
        };
        errors.push(Error::spanned(
            tokens,
            format!(
                "a named {} is one object, so its struct takes no generics; remove them",
                object.noun()
            ),
        ));
    }
    Target {
        ident: item.ident.clone(),
        vis: stream(&item.vis),
        generics: generics.clone(),
        unit,
        shm_safe,
    }
}

/// `0o600`, as the user writes it (rustdoc shows a const's literal as is).
fn octal(mode: u32) -> TokenStream {
    format!("{mode:#o}")
        .parse::<Literal>()
        .map_or_else(|_| u32_suffixed(mode), |l| TokenTree::Literal(l).into())
}

fn ident(target: &Target) -> TokenStream {
    TokenTree::Ident(target.ident.clone()).into()
}

fn generate(object: Object, target: &Target, checked: &Checked, checks: bool) -> TokenStream {
    if object != Object::Semaphore && target.generics.has_params() {
        // Refused above; statics cannot be generic, so no stubs either.
        return TokenStream::new();
    }
    match object {
        Object::Semaphore => generate_semaphore(target, checked, checks),
        Object::Mutex => generate_mutex(target, checked, checks),
        Object::SharedMemory => generate_shared(target, checked, checks),
    }
}

/// Whether `#[derive(..)]` on the item lists `ShmSafe` (any path ending so).
fn derives_shm_safe(item: &Item) -> bool {
    item.attrs
        .iter()
        .filter_map(|a| a.list("derive"))
        .any(|list| {
            crate::tokens::split_commas(&list).iter().any(|path| {
                path.iter()
                    .rev()
                    .find_map(|t| match t {
                        TokenTree::Ident(i) => Some(i.to_string() == "ShmSafe"),
                        _ => None,
                    })
                    .unwrap_or(false)
            })
        })
}

/// For an item that is not a struct, enum or union: the error, spanned on
/// its keyword, naming what it is.
fn wrong_item(object: Object, item: &TokenStream) -> Error {
    let tokens: Vec<TokenTree> = item.clone().into_iter().collect();
    let [TokenTree::Ident(keyword), rest @ ..] = item::after_attributes_and_visibility(&tokens)
    else {
        return Error::new(
            proc_macro::Span::call_site(),
            format!("{}, not this item", expected(object)),
        );
    };
    let next_is_fn = rest.first().is_some_and(|t| is_ident(t, "fn"));
    let what = match keyword.to_string().as_str() {
        "const" if next_is_fn => "a function",
        "fn" | "async" | "unsafe" | "extern" => "a function",
        "trait" => "a trait",
        "impl" => "an impl block",
        "mod" => "a module",
        "const" => "a const",
        "static" => "a static",
        "type" => "a type alias",
        "use" => "a use declaration",
        "macro_rules" => "a macro",
        _ => "this item",
    };
    Error::new(keyword.span(), format!("{}, not {what}", expected(object)))
}

/// The constants, accessors and trait impl. `checks` adds the compile-time
/// assertions that run ipc's own const rules on the literal values.
// One template of the generated impl, which reads best whole.
#[allow(clippy::too_many_lines)]
fn generate_semaphore(target: &Target, checked: &Checked, checks: bool) -> TokenStream {
    let Checked {
        name,
        initial,
        mode,
    } = checked;
    let doc_name = format!(" The name of this semaphore, `{name}`.");
    let doc_mode = format!(
        " The permission bits the semaphore gets when this process creates it: `{mode:#o}`."
    );
    let doc_semaphore = format!(
        " Opens the semaphore `{name}` on first use — creating it with value \
         {initial} and mode {mode:#o} if it does not exist — and returns the \
         handle cached for the whole process."
    );
    let ident = ident(target);
    let name = string(name);
    let initial = u32_suffixed(*initial);
    let asserts = if checks {
        let construct = if target.unit {
            fill("let _ = #ident;", &[("ident", &ident)])
        } else {
            TokenStream::new()
        };
        fill(
            r#"
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

        "#,
            &[
                ("name", &name),
                ("initial", &initial),
                ("construct", &construct),
            ],
        )
    } else {
        TokenStream::new()
    };
    fill(
        r"
        #[allow(dead_code)]
        impl #impl_generics #ident #ty_generics #where_clause {
            #[doc = #doc_name]
            #vis const NAME: &'static str = #name;
            /// The value the semaphore starts with when this process creates it.
            #vis const INITIAL: u32 = #initial;
            #[doc = #doc_mode]
            #vis const MODE: u32 = #mode_lit;

            #[doc = #doc_semaphore]
            ///
            /// # Errors
            ///
            /// As `ipc::SemaphoreOptions::open`; a failed open is not cached,
            /// the next call tries again.
            #[inline]
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
            #[inline]
            #vis fn lock() -> ::ipc::Result<::ipc::SemaphoreGuard<'static>> {
                <Self as ::ipc::NamedSemaphore>::lock()
            }

            /// Acquires the semaphore if it is free now; the guard releases it on drop.
            ///
            /// # Errors
            ///
            /// `ErrorKind::Busy` if it is taken; otherwise as `semaphore()`.
            #[inline]
            #vis fn try_lock() -> ::ipc::Result<::ipc::SemaphoreGuard<'static>> {
                <Self as ::ipc::NamedSemaphore>::try_lock()
            }

            /// Acquires the semaphore, waiting at most `timeout`; the guard
            /// releases it on drop.
            ///
            /// # Errors
            ///
            /// `ErrorKind::Busy` when the time is up; otherwise as `semaphore()`.
            #[inline]
            #vis fn lock_timeout(
                timeout: ::core::time::Duration,
            ) -> ::ipc::Result<::ipc::SemaphoreGuard<'static>> {
                <Self as ::ipc::NamedSemaphore>::lock_timeout(timeout)
            }

            /// Runs `f` while holding the semaphore, released on every way
            /// out, unwinding included.
            ///
            /// # Errors
            ///
            /// As `lock()`; `f` does not run then.
            #[inline]
            #vis fn critical<R>(f: impl ::core::ops::FnOnce() -> R) -> ::ipc::Result<R> {
                <Self as ::ipc::NamedSemaphore>::critical(f)
            }

            /// Runs `f` while holding the semaphore if it is free now.
            ///
            /// # Errors
            ///
            /// `ErrorKind::Busy` if it is taken; otherwise as `lock()`.
            #[inline]
            #vis fn try_critical<R>(f: impl ::core::ops::FnOnce() -> R) -> ::ipc::Result<R> {
                <Self as ::ipc::NamedSemaphore>::try_critical(f)
            }

            /// Runs `f` while holding the semaphore, waiting at most `timeout` for it.
            ///
            /// # Errors
            ///
            /// `ErrorKind::Busy` when the time is up; otherwise as `lock()`.
            #[inline]
            #vis fn critical_timeout<R>(
                timeout: ::core::time::Duration,
                f: impl ::core::ops::FnOnce() -> R,
            ) -> ::ipc::Result<R> {
                <Self as ::ipc::NamedSemaphore>::critical_timeout(timeout, f)
            }

            /// Removes the semaphore's name (`sem_unlink`, under `ipc::namespace()`
            /// if one is set); handles stay usable.
            ///
            /// # Errors
            ///
            /// As `ipc::unlink_semaphore`.
            #[inline]
            #vis fn unlink() -> ::ipc::Result<()> {
                ::ipc::__private::unlink_declared(#name, ::ipc::name::Kind::Semaphore)
            }
        }

        impl #impl_generics ::ipc::NamedSemaphore for #ident #ty_generics #where_clause {
            const NAME: &'static str = #name;
            const INITIAL: u32 = #initial;
            const MODE: u32 = #mode_lit;

            #[inline]
            fn semaphore() -> ::ipc::Result<&'static ::ipc::Semaphore> {
                Self::semaphore()
            }

            #[inline]
            fn unlink() -> ::ipc::Result<()> {
                Self::unlink()
            }
        }

        #asserts

        ",
        &[
            ("impl_generics", &target.generics.impl_generics()),
            ("ident", &ident),
            ("ty_generics", &target.generics.ty_generics()),
            ("where_clause", &target.generics.where_clause()),
            ("doc_name", &string(&doc_name)),
            ("vis", &target.vis),
            ("name", &name),
            ("initial", &initial),
            ("doc_mode", &string(&doc_mode)),
            ("mode_lit", &octal(*mode)),
            ("doc_semaphore", &string(&doc_semaphore)),
            ("mode", &u32_suffixed(*mode)),
            ("asserts", &asserts),
        ],
    )
}

/// The `NAME`/`MODE` constants and the compile-time check of the name, for
/// the objects that live in shared memory.
fn shm_consts(target: &Target, checked: &Checked, checks: bool, noun: &str) -> TokenStream {
    let Checked { name, mode, .. } = checked;
    let doc_name = format!(" The name of this {noun}, `{name}`.");
    let doc_mode =
        format!(" The permission bits the {noun} gets when this process creates it: `{mode:#o}`.");
    let name = string(name);
    let asserts = if checks {
        fill(
            r#"
        const _: () = ::core::assert!(
            ::ipc::__private::is_shared_memory_name(#name),
            "the name breaks a rule of ipc::name::check",
        );

        "#,
            &[("name", &name)],
        )
    } else {
        TokenStream::new()
    };
    fill(
        r"
        #[allow(dead_code)]
        impl #ident {
            #[doc = #doc_name]
            #vis const NAME: &'static str = #name;
            #[doc = #doc_mode]
            #vis const MODE: u32 = #mode_lit;
        }
        #asserts

        ",
        &[
            ("ident", &ident(target)),
            ("doc_name", &string(&doc_name)),
            ("vis", &target.vis),
            ("name", &name),
            ("doc_mode", &string(&doc_mode)),
            ("mode_lit", &octal(*mode)),
            ("asserts", &asserts),
        ],
    )
}

/// The bound checked on the struct's name, so a struct that is not
/// ShmSafe gets one error that points at it.
fn assert_shm_safe(target: &Target) -> TokenStream {
    respan(
        fill(
            r"
        
                const _: fn() = || {
                    fn shm_safe<T: ::ipc::ShmSafe>() {}
                    shm_safe::<#ident>();
                };

        ",
            &[("ident", &ident(target))],
        ),
        target.ident.span(),
    )
}

/// `#[named_shared_memory]`: `shared()` and `unlink()`.
fn generate_shared(target: &Target, checked: &Checked, checks: bool) -> TokenStream {
    let consts = shm_consts(target, checked, checks, "shared-memory object");
    let ident = ident(target);
    if !checks || !target.shm_safe {
        // Stubs that need no bound: the real error is reported elsewhere.
        return fill(
            r"
        #consts
        #[allow(dead_code, clippy::unreachable)]
        impl #ident {
            #[inline]
            #vis fn shared() -> ::ipc::Result<&'static Self> {
                ::core::unreachable!()
            }
            #[inline]
            #vis fn unlink() -> ::ipc::Result<()> {
                ::core::unreachable!()
            }
        }

        ",
            &[("consts", &consts), ("ident", &ident), ("vis", &target.vis)],
        );
    }
    let Checked { name, mode, .. } = checked;
    let doc_shared = format!(
        " Opens the shared-memory object `{name}` on first use — creating it, all \
         zeros, with mode {mode:#o} if it does not exist — and returns the value \
         mapped for the whole process."
    );
    fill(
        r"
        #consts
        #[allow(dead_code)]
        impl #ident {
            #[doc = #doc_shared]
            ///
            /// # Errors
            ///
            /// As `ipc::SharedOptions::open`; a failed open is not cached,
            /// the next call tries again.
            #[inline]
            #vis fn shared() -> ::ipc::Result<&'static Self> {
                static SHARED: ::ipc::__private::StaticShared<#ident> =
                    ::ipc::__private::StaticShared::new(#ident::NAME, #ident::MODE);
                SHARED.get()
            }

            /// Removes the name (`shm_unlink`); mappings stay usable, but a
            /// process that opens the name afterwards gets a new object.
            ///
            /// # Errors
            ///
            /// As `ipc::unlink_shared_memory`.
            #[inline]
            #vis fn unlink() -> ::ipc::Result<()> {
                ::ipc::__private::unlink_declared(#ident::NAME, ::ipc::name::Kind::SharedMemory)
            }
        }
        #assert_shm_safe

        ",
        &[
            ("consts", &consts),
            ("ident", &ident),
            ("doc_shared", &string(&doc_shared)),
            ("vis", &target.vis),
            ("assert_shm_safe", &assert_shm_safe(target)),
        ],
    )
}

/// `#[named_mutex]`: `mutex()`, the lock methods, `unlink()`, and the impl
/// that makes `critical!` work.
fn generate_mutex(target: &Target, checked: &Checked, checks: bool) -> TokenStream {
    let consts = shm_consts(target, checked, checks, "mutex");
    let ident = ident(target);
    let Checked { name, mode, .. } = checked;
    // Without a ShmSafe derive (an error reported already), the stubs
    // protect no data, so they raise no error of their own.
    let with_data = !target.unit && target.shm_safe;
    let data = if with_data {
        ident.clone()
    } else {
        fill("()", &[])
    };
    let doc_mutex = format!(
        " Opens the crash-safe mutex `{name}` on first use — creating it, its data \
         all zeros, with mode {mode:#o} if it does not exist — and returns the \
         handle cached for the whole process."
    );
    let assert_shm_safe = if with_data {
        assert_shm_safe(target)
    } else {
        TokenStream::new()
    };
    fill(
        r"
        #consts
        #[allow(dead_code)]
        impl #ident {
            #[doc = #doc_mutex]
            ///
            /// # Errors
            ///
            /// As `ipc::MutexOptions::open`; a failed open is not cached,
            /// the next call tries again.
            #[inline]
            #vis fn mutex() -> ::ipc::Result<&'static ::ipc::Mutex<#data>> {
                static MUTEX: ::ipc::__private::StaticMutex<#data> =
                    ::ipc::__private::StaticMutex::new(#ident::NAME, #ident::MODE);
                MUTEX.get()
            }

            /// Locks the mutex; the guard unlocks it on drop. If the last
            /// holder died holding it, the guard's `recovered()` is true.
            ///
            /// # Errors
            ///
            /// As `mutex()` and `ipc::Mutex::lock`.
            #[inline]
            #vis fn lock() -> ::ipc::Result<::ipc::MutexGuard<'static, #data>> {
                Self::mutex()?.lock()
            }

            /// Locks the mutex if it is free now.
            ///
            /// # Errors
            ///
            /// `ErrorKind::Busy` if it is held; otherwise as `lock()`.
            #[inline]
            #vis fn try_lock() -> ::ipc::Result<::ipc::MutexGuard<'static, #data>> {
                Self::mutex()?.try_lock()
            }

            /// Locks the mutex, waiting at most `timeout`.
            ///
            /// # Errors
            ///
            /// `ErrorKind::Busy` when the time is up; otherwise as `lock()`.
            #[inline]
            #vis fn lock_timeout(
                timeout: ::core::time::Duration,
            ) -> ::ipc::Result<::ipc::MutexGuard<'static, #data>> {
                Self::mutex()?.lock_timeout(timeout)
            }

            /// Removes the name (`shm_unlink`); handles stay usable, but a
            /// process that opens the name afterwards gets a new, distinct
            /// lock: unlink only when no process uses it any more.
            ///
            /// # Errors
            ///
            /// As `ipc::unlink_shared_memory`.
            #[inline]
            #vis fn unlink() -> ::ipc::Result<()> {
                ::ipc::__private::unlink_declared(#ident::NAME, ::ipc::name::Kind::SharedMemory)
            }
        }

        impl ::ipc::__private::CriticalSection for #ident {
            type Guard = ::ipc::MutexGuard<'static, #data>;

            #[inline]
            fn lock() -> ::ipc::Result<Self::Guard> {
                Self::lock()
            }

            #[inline]
            fn try_lock() -> ::ipc::Result<Self::Guard> {
                Self::try_lock()
            }

            #[inline]
            fn lock_timeout(timeout: ::core::time::Duration) -> ::ipc::Result<Self::Guard> {
                Self::lock_timeout(timeout)
            }
        }
        #assert_shm_safe

        ",
        &[
            ("consts", &consts),
            ("ident", &ident),
            ("doc_mutex", &string(&doc_mutex)),
            ("vis", &target.vis),
            ("data", &data),
            ("assert_shm_safe", &assert_shm_safe),
        ],
    )
}
