//! The [`NamedSemaphore`] trait and the [`critical!`](crate::critical) macro.

use std::time::Duration;

use crate::{Result, Semaphore, SemaphoreGuard};

/// A named semaphore declared once, as a type: implemented by
/// `#[ipc::named_semaphore]`, or by hand.
///
/// A process that dies holding the semaphore leaves it taken for good (a
/// semaphore has no owner); declare the lock with `#[named_mutex]` instead
/// when a holder may die.
///
/// Only the constants and [`semaphore`](NamedSemaphore::semaphore) are
/// required; everything else has a default built on them, so a hand-written
/// impl works with [`critical!`](crate::critical) too.
///
/// # Examples
///
/// The attribute writes the impl:
///
/// ```
/// # mod ipc { pub use ::ipc::*; pub use ipc_macros::*; } // the facade, in named-ipc-core
/// #[ipc::named_semaphore(name = "/ipc-doc.named", initial = 1, mode = 0o600)]
/// pub struct JobsLock;
///
/// let total = ipc::critical!(JobsLock => { 40 + 2 })?;
/// assert_eq!(total, 42);
/// assert_eq!(JobsLock::NAME, "/ipc-doc.named");
/// JobsLock::unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
///
/// By hand, for instance to pick the name at run time:
///
/// ```
/// use std::sync::OnceLock;
/// use ipc::{NamedSemaphore, Semaphore};
///
/// struct Manual;
///
/// impl NamedSemaphore for Manual {
///     const NAME: &'static str = "/ipc-doc.manual";
///     const INITIAL: u32 = 1;
///     const MODE: u32 = 0o600;
///
///     fn semaphore() -> ipc::Result<&'static Semaphore> {
///         static SEM: OnceLock<Semaphore> = OnceLock::new();
///         if let Some(sem) = SEM.get() {
///             return Ok(sem);
///         }
///         let sem = Semaphore::options()
///             .create(true)
///             .initial_value(Self::INITIAL)
///             .mode(Self::MODE)
///             .open(Self::NAME)?;
///         Ok(SEM.get_or_init(|| sem))
///     }
/// }
///
/// assert_eq!(ipc::critical!(try Manual => { "inside" })?, "inside");
/// Manual::unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a named semaphore or a named mutex",
    label = "not declared with `#[ipc::named_semaphore]` or `#[ipc::named_mutex]`",
    note = "declare it: `#[ipc::named_semaphore(name = \"/app.lock\")] struct {Self};`, or \
            `#[ipc::named_mutex(name = \"/app.lock\")]` for a lock that survives its holder's death"
)]
pub trait NamedSemaphore {
    /// The semaphore's name.
    const NAME: &'static str;
    /// The value it starts with when this process creates it.
    const INITIAL: u32;
    /// The permission bits it gets when this process creates it.
    const MODE: u32;

    /// The process-wide handle, opened (and created if needed) on first use.
    ///
    /// # Errors
    ///
    /// As [`crate::SemaphoreOptions::open`].
    fn semaphore() -> Result<&'static Semaphore>;

    /// [`Semaphore::lock`] on the process-wide handle.
    ///
    /// # Errors
    ///
    /// As [`semaphore`](NamedSemaphore::semaphore) and [`Semaphore::lock`].
    #[inline]
    fn lock() -> Result<SemaphoreGuard<'static>> {
        Self::semaphore()?.lock()
    }

    /// [`Semaphore::try_lock`] on the process-wide handle.
    ///
    /// # Errors
    ///
    /// [`crate::ErrorKind::Busy`] if the semaphore is taken; otherwise as
    /// [`semaphore`](NamedSemaphore::semaphore).
    fn try_lock() -> Result<SemaphoreGuard<'static>> {
        Self::semaphore()?.try_lock()
    }

    /// [`Semaphore::lock_timeout`] on the process-wide handle.
    ///
    /// # Errors
    ///
    /// [`crate::ErrorKind::Busy`] when the time is up; otherwise as
    /// [`semaphore`](NamedSemaphore::semaphore).
    fn lock_timeout(timeout: Duration) -> Result<SemaphoreGuard<'static>> {
        Self::semaphore()?.lock_timeout(timeout)
    }

    /// Runs `f` holding the semaphore, released on every way out.
    ///
    /// # Errors
    ///
    /// As [`lock`](NamedSemaphore::lock); `f` does not run then.
    #[inline]
    fn critical<R>(f: impl FnOnce() -> R) -> Result<R> {
        let _guard = Self::lock()?;
        Ok(f())
    }

    /// Runs `f` holding the semaphore, if it is free now.
    ///
    /// # Errors
    ///
    /// As [`try_lock`](NamedSemaphore::try_lock); `f` does not run then.
    fn try_critical<R>(f: impl FnOnce() -> R) -> Result<R> {
        let _guard = Self::try_lock()?;
        Ok(f())
    }

    /// Runs `f` holding the semaphore, waiting at most `timeout` for it.
    ///
    /// # Errors
    ///
    /// As [`lock_timeout`](NamedSemaphore::lock_timeout); `f` does not run then.
    fn critical_timeout<R>(timeout: Duration, f: impl FnOnce() -> R) -> Result<R> {
        let _guard = Self::lock_timeout(timeout)?;
        Ok(f())
    }

    /// Removes the semaphore's name ([`crate::unlink_semaphore`]). Handles
    /// stay usable, but a process that opens the name afterwards creates a
    /// new, distinct semaphore, splitting the application in two: unlink at
    /// teardown, when no process uses the name any more.
    ///
    /// # Errors
    ///
    /// As [`crate::unlink_semaphore`].
    fn unlink() -> Result<()> {
        crate::unlink_semaphore(Self::NAME)
    }
}

/// Runs a block inside the critical section of a named lock — a
/// [`NamedSemaphore`] (`#[named_semaphore]`) or a `#[named_mutex]` — and
/// evaluates to `ipc::Result<T>`, `T` being the block's value.
///
/// - `critical!(X => { .. })` waits for the lock;
/// - `critical!(X, timeout = d => { .. })` waits at most `d`
///   ([`ErrorKind::Busy`](crate::ErrorKind::Busy) on expiry);
/// - `critical!(try X => { .. })` does not wait (`Busy` if taken);
/// - `critical!(X as g => { .. })` (and `X as g, timeout = d`, `try X as g`)
///   binds `g` to the guard inside the block: for a `#[named_mutex]` on a
///   struct, `g.field` reads and writes the protected data and
///   `g.recovered()` tells whether the last holder died inside.
///
/// The block is inline, not a closure: `return`, `?`, `break` and `continue`
/// inside it act on the enclosing code. The lock is released on every
/// way out of the block, unwinding included. If it cannot be taken, the
/// block does not run and the error is the value.
///
/// What a crash does: a process that dies inside the block — killed, or
/// `std::process::exit` — releases a `#[named_mutex]` (the next holder sees
/// `recovered()`), but leaves a semaphore taken forever: POSIX semaphores
/// have no owner. Use `#[named_mutex]` when a holder may die.
///
/// Nesting `critical!` on the same lock in one thread: for a
/// `#[named_mutex]` the inner one is an `Err` ("already held by this
/// thread"); for a semaphore of value 1 it is a deadlock that cannot be
/// detected, since a semaphore does not know who holds it — and two types
/// declared with the same name are the same semaphore. The way out: take the
/// lock once at the outermost level, use the `timeout` form where nesting is
/// possible, or declare the lock with `#[named_mutex]`.
///
/// # Examples
///
/// ```
/// # mod ipc { pub use ::ipc::*; pub use ipc_macros::*; } // the facade, in named-ipc-core
/// use std::time::Duration;
///
/// #[ipc::named_semaphore(name = "/ipc-doc.critical")]
/// struct Db;
///
/// fn first_even(xs: &[i32]) -> ipc::Result<Option<i32>> {
///     for &x in xs {
///         ipc::critical!(Db => {
///             if x % 2 != 0 {
///                 continue; // the next iteration, after releasing
///             }
///             return Ok(Some(x)); // returns from first_even, after releasing
///         })?;
///     }
///     Ok(None)
/// }
///
/// assert_eq!(first_even(&[1, 3, 4, 5])?, Some(4));
/// let v = ipc::critical!(Db, timeout = Duration::from_millis(50) => { "timed" })?;
/// assert_eq!(v, "timed");
/// let _held = Db::lock()?;
/// let err = ipc::critical!(try Db => { unreachable!() }).unwrap_err();
/// assert_eq!(err.kind(), ipc::ErrorKind::Busy);
/// # drop(_held);
/// Db::unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
///
/// With a `#[named_mutex]` that protects data:
///
/// ```
/// # mod ipc { pub use ::ipc::*; pub use ipc_macros::*; } // the facade, in named-ipc-core
/// #[ipc::named_mutex(name = "/ipc-doc.critical-state")]
/// #[derive(ipc::ShmSafe)]
/// #[repr(C)]
/// struct AppState {
///     jobs: u64,
///     last_pid: u32,
/// }
///
/// let jobs = ipc::critical!(AppState as state => {
///     if state.recovered() {
///         // a process died in here: the fields may be half-updated
///     }
///     state.jobs += 1;
///     state.last_pid = std::process::id();
///     state.jobs
/// })?;
/// assert_eq!(jobs, 1);
/// AppState::unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
#[macro_export]
macro_rules! critical {
    // The `try` forms come first: `try` is a keyword, which a `path`
    // fragment would reject with a hard error instead of trying the next arm.
    (try $sem:path as $guard:ident => $body:block) => {
        $crate::__critical!(
            <$sem as $crate::__private::CriticalSection>::try_lock(),
            $guard,
            $body
        )
    };
    (try $sem:path => $body:block) => {
        $crate::__critical!(
            <$sem as $crate::__private::CriticalSection>::try_lock(),
            $body
        )
    };
    (try $sem:path $(as $guard:ident)?, timeout $($rest:tt)*) => {
        ::core::compile_error!(
            "`try` and `timeout` cannot be combined: `try` does not wait at all; \
             write `critical!(try X => { .. })` or `critical!(X, timeout = d => { .. })`"
        )
    };
    (try $($rest:tt)*) => {
        ::core::compile_error!(
            "expected `critical!(try X => { .. })` or `critical!(try X as guard => { .. })`: \
             X is a #[named_semaphore] or #[named_mutex] type, `guard` a name, and the body \
             a block in braces"
        )
    };
    ($sem:path as $guard:ident, timeout = $timeout:expr => $body:block) => {
        $crate::__critical!(
            <$sem as $crate::__private::CriticalSection>::lock_timeout($timeout),
            $guard,
            $body
        )
    };
    ($sem:path as $guard:ident => $body:block) => {
        $crate::__critical!(
            <$sem as $crate::__private::CriticalSection>::lock(),
            $guard,
            $body
        )
    };
    ($sem:path, timeout = $timeout:expr => $body:block) => {
        $crate::__critical!(
            <$sem as $crate::__private::CriticalSection>::lock_timeout($timeout),
            $body
        )
    };
    ($sem:path => $body:block) => {
        $crate::__critical!(<$sem as $crate::__private::CriticalSection>::lock(), $body)
    };
    ($sem:path as $($rest:tt)*) => {
        ::core::compile_error!(
            "expected `critical!(X as guard => { .. })` or \
             `critical!(X as guard, timeout = d => { .. })`: `guard` is the name the block \
             gives the lock's guard, and the body a block in braces"
        )
    };
    ($($rest:tt)*) => {
        ::core::compile_error!(
            "expected `critical!(X => { .. })`, `critical!(X, timeout = d => { .. })` \
             or `critical!(try X => { .. })` (add `as guard` after X to name the guard): \
             X is a #[named_semaphore] or #[named_mutex] type, and the body a block in braces"
        )
    };
}

/// The body shared by the forms of [`critical!`](crate::critical).
#[doc(hidden)]
#[macro_export]
macro_rules! __critical {
    // Without a binding: the same, with a name the block cannot see (macro
    // hygiene), so both forms share one body.
    ($lock:expr, $body:block) => {
        $crate::__critical!($lock, guard_ref, $body)
    };
    ($lock:expr, $guard:ident, $body:block) => {
        match $lock {
            ::core::result::Result::Ok(mut guard) => {
                // The block's name for the guard, borrowed mutably for it;
                // the guard itself lives to the end of this arm: dropped
                // after the block on a normal exit, and by unwinding or by
                // the jump of a `return`/`break`/`continue`/`?` otherwise.
                #[allow(unused_variables, unused_mut, clippy::needless_borrow)]
                let $guard = &mut guard;
                // A block that always leaves early is the point of an inline
                // block, not a diverging sub-expression to warn about.
                #[allow(clippy::diverging_sub_expression)]
                let value = $body;
                // Unreachable when the block always leaves by return, break,
                // continue or panic; that is not the user's mistake, and the
                // allow does not reach into the block.
                #[allow(unreachable_code)]
                let result = {
                    ::core::mem::drop(guard);
                    ::core::result::Result::Ok::<_, $crate::Error>(value)
                };
                result
            }
            ::core::result::Result::Err(error) => ::core::result::Result::Err(error),
        }
    };
}
