//! Only what the expansions of the attributes and `critical!` need. Not public API.

use std::sync::{OnceLock, PoisonError};

use crate::name::{Kind, check};
use std::time::Duration;

use crate::{Mutex, NamedSemaphore, Result, Semaphore, SemaphoreGuard, Shared, ShmSafe};

pub use crate::typed::{struct_field, struct_start};

/// The process-wide handle of a `#[named_semaphore]`: opened with `O_CREAT`
/// on first use, then one atomic load per access. A failed open is not
/// cached: the next call tries again.
pub struct StaticSemaphore {
    name: &'static str,
    initial: u32,
    mode: u32,
    lazy: Lazy<Semaphore>,
}

impl StaticSemaphore {
    /// A handle not opened yet.
    #[must_use]
    pub const fn new(name: &'static str, initial: u32, mode: u32) -> Self {
        StaticSemaphore {
            name,
            initial,
            mode,
            lazy: Lazy::new(),
        }
    }

    /// The handle, opening it on first use.
    ///
    /// # Errors
    ///
    /// As [`crate::SemaphoreOptions::open`].
    #[inline]
    pub fn get(&'static self) -> Result<&'static Semaphore> {
        self.lazy.get(|| {
            Semaphore::options()
                .create(true)
                .initial_value(self.initial)
                .mode(self.mode)
                .open(&declared_name(self.name))
        })
    }
}

impl std::fmt::Debug for StaticSemaphore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticSemaphore")
            .field("name", &self.name)
            .field("opened", &self.lazy.cell.get().is_some())
            .finish_non_exhaustive()
    }
}

/// [`check`] for semaphores, as a `bool` for a `const` assertion.
#[must_use]
pub const fn is_semaphore_name(name: &str) -> bool {
    check(name, Kind::Semaphore).is_ok()
}

/// [`check`] for shared memory (and mutexes), as a `bool` for a `const` assertion.
#[must_use]
pub const fn is_shared_memory_name(name: &str) -> bool {
    check(name, Kind::SharedMemory).is_ok()
}

/// A process-wide value opened on first use; a failed open is not cached.
struct Lazy<T> {
    cell: OnceLock<T>,
    opening: std::sync::Mutex<()>,
}

impl<T> Lazy<T> {
    const fn new() -> Self {
        Lazy {
            cell: OnceLock::new(),
            opening: std::sync::Mutex::new(()),
        }
    }

    #[inline]
    fn get(&self, open: impl FnOnce() -> Result<T>) -> Result<&T> {
        match self.cell.get() {
            Some(value) => Ok(value),
            None => self.open(open),
        }
    }

    #[cold]
    fn open(&self, open: impl FnOnce() -> Result<T>) -> Result<&T> {
        // One opener at a time, so a race opens the object once.
        let _opening = self.opening.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(value) = self.cell.get() {
            return Ok(value);
        }
        let value = open()?;
        Ok(self.cell.get_or_init(|| value))
    }
}

/// The process-wide mapping of a `#[named_shared_memory]`.
pub struct StaticShared<T: ShmSafe> {
    name: &'static str,
    mode: u32,
    lazy: Lazy<Shared<T>>,
}

impl<T: ShmSafe> StaticShared<T> {
    /// Not opened yet.
    #[must_use]
    pub const fn new(name: &'static str, mode: u32) -> Self {
        StaticShared {
            name,
            mode,
            lazy: Lazy::new(),
        }
    }

    /// The value, opening (or creating) the object on first use.
    ///
    /// # Errors
    ///
    /// As [`crate::SharedOptions::open`].
    #[inline]
    pub fn get(&'static self) -> Result<&'static T> {
        let shared = self.lazy.get(|| {
            Shared::options()
                .create(true)
                .mode(self.mode)
                .open(&declared_name(self.name))
        })?;
        Ok(shared)
    }
}

/// The process-wide handle of a `#[named_mutex]`.
pub struct StaticMutex<T: ShmSafe> {
    name: &'static str,
    mode: u32,
    lazy: Lazy<Mutex<T>>,
}

impl<T: ShmSafe> StaticMutex<T> {
    /// Not opened yet.
    #[must_use]
    pub const fn new(name: &'static str, mode: u32) -> Self {
        StaticMutex {
            name,
            mode,
            lazy: Lazy::new(),
        }
    }

    /// The handle, opening (or creating) the mutex on first use.
    ///
    /// # Errors
    ///
    /// As [`crate::MutexOptions::open`].
    #[inline]
    pub fn get(&'static self) -> Result<&'static Mutex<T>> {
        self.lazy.get(|| {
            Mutex::options()
                .create(true)
                .mode(self.mode)
                .open(&declared_name(self.name))
        })
    }
}

/// What `critical!` locks: a `#[named_semaphore]` (or any
/// [`NamedSemaphore`]) or a `#[named_mutex]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a named semaphore or a named mutex",
    label = "`critical!` needs a lock declared with `#[ipc::named_semaphore]` or `#[ipc::named_mutex]`",
    note = "declare it: `#[ipc::named_semaphore(name = \"/app.lock\")] struct {Self};`"
)]
pub trait CriticalSection {
    /// What holds the lock; released on drop.
    type Guard;
    /// Waits for the lock.
    ///
    /// # Errors
    ///
    /// As the lock's own `lock`.
    fn lock() -> Result<Self::Guard>;
    /// Takes the lock if it is free.
    ///
    /// # Errors
    ///
    /// As the lock's own `try_lock`.
    fn try_lock() -> Result<Self::Guard>;
    /// Waits at most `timeout` for the lock.
    ///
    /// # Errors
    ///
    /// As the lock's own `lock_timeout`.
    fn lock_timeout(timeout: Duration) -> Result<Self::Guard>;
}

impl<S: NamedSemaphore> CriticalSection for S {
    type Guard = SemaphoreGuard<'static>;

    #[inline]
    fn lock() -> Result<Self::Guard> {
        <S as NamedSemaphore>::lock()
    }

    fn try_lock() -> Result<Self::Guard> {
        <S as NamedSemaphore>::try_lock()
    }

    fn lock_timeout(timeout: Duration) -> Result<Self::Guard> {
        <S as NamedSemaphore>::lock_timeout(timeout)
    }
}

/// The name a declared object really has: `NAME` under [`crate::namespace`].
#[must_use]
pub fn declared_name(name: &'static str) -> std::borrow::Cow<'static, str> {
    match crate::namespace() {
        Some(ns) => format!("/{ns}.{}", &name[1..]).into(),
        None => name.into(),
    }
}

/// Unlinks a declared object under its real name.
///
/// # Errors
///
/// As [`crate::unlink_semaphore`] or [`crate::unlink_shared_memory`].
pub fn unlink_declared(name: &'static str, kind: Kind) -> Result<()> {
    let name = declared_name(name);
    match kind {
        Kind::Semaphore => crate::unlink_semaphore(&name),
        Kind::SharedMemory => crate::unlink_shared_memory(&name),
        #[cfg(target_os = "linux")]
        Kind::MessageQueue => crate::unlink_message_queue(&name),
        #[cfg(not(target_os = "linux"))]
        Kind::MessageQueue => Ok(()),
    }
}
