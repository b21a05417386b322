//! The attributes and derive of [`named-ipc`](https://docs.rs/named-ipc);
//! use them through it (`#[ipc::named_semaphore(...)]`), whose
//! documentation has the runnable examples. The examples here are marked
//! `ignore` because this crate cannot depend on the runtime it serves: the
//! same forms compile and run in `ui-tests` and in named-ipc's own doc tests.

use proc_macro::TokenStream;

mod args;
mod derive;
mod expand;
mod item;
mod lit;
// The name rules are ipc's own source file (src/name.rs is a symbolic link
// to it, which `cargo package` turns into a copy), so that the compile-time
// checks and the runtime checks cannot drift apart.
#[allow(dead_code, unreachable_pub)]
mod name;
mod tokens;
mod valid;

/// Declares a named semaphore on a unit struct:
/// `#[named_semaphore(name = "/app.db", initial = 1, mode = 0o600)]`.
///
/// - `name`: a string literal, checked at compile time with the rules of
///   `ipc::name` for semaphores (required).
/// - `initial`: the value a new semaphore starts with, a `u32` literal at
///   most `SEMAPHORE_VALUE_MAX` (default 1).
/// - `mode`: the permission bits of a new semaphore, an octal literal at
///   most `0o777` (default `0o600`).
///
/// It generates the constants `NAME`, `INITIAL` and `MODE`; `semaphore()`,
/// which opens (creating if needed) the semaphore on first use and caches
/// the handle for the process; `lock()`, `critical(f)`, `try_critical(f)`,
/// `critical_timeout(d, f)` and `unlink()`; and an `impl ipc::NamedSemaphore`,
/// so the struct works with `ipc::critical!`.
///
/// ```ignore
/// #[ipc::named_semaphore(name = "/ipc-macros.doc", initial = 1)]
/// struct Lock;
///
/// let n = Lock::critical(|| 40 + 2)?;
/// assert_eq!(n, 42);
/// Lock::unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
#[proc_macro_attribute]
pub fn named_semaphore(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(valid::Object::Semaphore, args, item)
}

/// Declares a crash-safe named mutex: `#[named_mutex(name = "/app.db", mode = 0o600)]`
/// on a unit struct (a lock without data) or on a `#[derive(ipc::ShmSafe)]`
/// struct (the data the lock protects).
///
/// - `name`: a string literal, checked at compile time with the rules of
///   `ipc::name` for shared memory (required).
/// - `mode`: the permission bits of a new mutex, an octal literal at most
///   `0o777` (default `0o600`).
///
/// It generates the constants `NAME` and `MODE`; `mutex()`, which opens
/// (creating if needed) the `ipc::Mutex` on first use and caches it for the
/// process; `lock()`, `try_lock()`, `lock_timeout(d)` and `unlink()`; and
/// the impl that makes `ipc::critical!` work on the type.
///
/// ```ignore
/// #[ipc::named_mutex(name = "/ipc-macros.doc-mutex")]
/// struct Lock;
///
/// let n = ipc::critical!(Lock => { 40 + 2 })?;
/// assert_eq!(n, 42);
/// Lock::unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
#[proc_macro_attribute]
pub fn named_mutex(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(valid::Object::Mutex, args, item)
}

/// Declares typed shared memory: `#[named_shared_memory(name = "/app.stats", mode = 0o600)]`
/// on a `#[derive(ipc::ShmSafe)]` `#[repr(C)]` struct.
///
/// - `name`: a string literal, checked at compile time with the rules of
///   `ipc::name` for shared memory (required).
/// - `mode`: the permission bits of a new object, an octal literal at most
///   `0o777` (default `0o600`).
///
/// It generates the constants `NAME` and `MODE`; `shared()`, which opens
/// (creating, all zeros, if needed) the object on first use and returns the
/// `&'static` value mapped for the process; and `unlink()`.
///
/// ```ignore
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// #[ipc::named_shared_memory(name = "/ipc-macros.doc-stats")]
/// #[derive(ipc::ShmSafe)]
/// #[repr(C)]
/// struct Stats {
///     hits: AtomicU64,
/// }
///
/// Stats::shared()?.hits.fetch_add(1, Ordering::Relaxed);
/// Stats::unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
#[proc_macro_attribute]
pub fn named_shared_memory(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(valid::Object::SharedMemory, args, item)
}

/// `#[derive(ShmSafe)]`: implements `ipc::ShmSafe` for a `#[repr(C)]` or
/// `#[repr(transparent)]` struct whose fields are all `ShmSafe`, with its
/// `LAYOUT` fingerprint computed at compile time. Anything else is a compile
/// error on the offending token that says the fix.
///
/// ```ignore
/// use std::sync::atomic::AtomicU32;
///
/// #[derive(ipc::ShmSafe)]
/// #[repr(C)]
/// struct Slot {
///     seq: AtomicU32,
///     bytes: [u8; 60],
/// }
/// ```
#[proc_macro_derive(ShmSafe)]
pub fn derive_shm_safe(input: TokenStream) -> TokenStream {
    derive::shm_safe(input)
}
