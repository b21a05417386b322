//! The attribute macros of [`ipc`](https://docs.rs/ipc); use them through
//! `ipc` (`#[ipc::named_semaphore(...)]`), whose documentation has the
//! runnable examples.

use proc_macro::TokenStream;

mod args;
mod expand;
// The name rules are ipc's own source file, so that the compile-time checks
// and the runtime checks cannot drift apart. (A crates.io release must ship a
// copy of that file inside this crate: `cargo package` only takes files under
// the package directory.)
#[path = "../../ipc/src/name.rs"]
#[allow(dead_code, unreachable_pub)]
mod name;
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
/// ```
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
    expand::named_semaphore(args.into(), item.into()).into()
}
