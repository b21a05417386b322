//! [`Mutex<T>`]: a named lock that a dead holder cannot wedge.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use super::object::{self, Common, InitFn, type_name};
use super::shm_safe::{primitive, struct_field, struct_start};
use crate::deadline::Deadline;
use crate::sys::Errno;
use crate::sys::mutex::{self, Locked, MutexMapping, RawGuard};
use crate::sys::object::{ObjectKind, Spec};
use crate::{Error, ErrorKind, Result, ShmSafe};

/// A crash-safe named lock and the `T` it protects, in one shared-memory
/// object: a robust, process-shared, error-checking pthread mutex.
///
/// When a process dies holding the lock — killed, `exit`ed, aborted — the
/// next [`lock`](Mutex::lock) gets it anyway, with
/// [`recovered()`](MutexGuard::recovered) true: the data is as the dead
/// holder left it, possibly half-updated, and the lock already works
/// normally again, so nothing can wedge it. A POSIX semaphore cannot do
/// this: it has no owner, and a holder that dies leaves it taken forever.
///
/// The guard dereferences to `&mut T` — one holder at a time, in any process
/// — and unlocks when dropped. It is `!Send`: the thread that locked must
/// unlock. Locking again from the thread that holds the lock is an error,
/// not a deadlock.
///
/// Timeouts run on CLOCK_MONOTONIC (`pthread_mutex_clocklock`, glibc) where
/// the platform offers it. This build supports robust mutexes on Linux
/// (glibc and musl); elsewhere (macOS, which has none; FreeBSD, not yet
/// supported) opening one is
/// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported), never a lock
/// that silently is not robust.
///
/// The same declaration as a type, with the name checked at compile time, is
/// [`#[named_mutex]`](attr.named_mutex.html), which also works with
/// [`critical!`](crate::critical).
///
/// # Examples
///
/// ```
/// # mod ipc { pub use ::ipc::*; pub use ipc_macros::*; } // the facade, in named-ipc-core
/// use ipc::Mutex;
///
/// #[derive(ipc::ShmSafe)]
/// #[repr(C)]
/// struct Account {
///     balance: i64,
///     updates: u64,
/// }
///
/// let name = format!("/doc.mutex.{}", std::process::id());
/// let account: Mutex<Account> = Mutex::create(&name)?;
/// {
///     let mut acc = account.lock()?;
///     if acc.recovered() {
///         // The last holder died inside: repair the data if it matters.
///     }
///     acc.balance += 100; // two steps that no other process sees halfway
///     acc.updates += 1;
/// } // unlocked here
/// assert_eq!(account.lock()?.balance, 100);
/// account.unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
pub struct Mutex<T: ShmSafe = ()> {
    region: MutexMapping<T>,
    name: Arc<str>,
}

/// Options for opening or creating a [`Mutex<T>`]: `create`, `create_new`,
/// `mode`, `init`, as [`SharedOptions`](crate::SharedOptions).
#[must_use = "options do nothing until `open` is called"]
pub struct MutexOptions<T: ShmSafe = ()> {
    common: Common,
    init: Option<InitFn<T>>,
}

/// Holds a [`Mutex`] locked; unlocks on drop. Dereferences to the data.
///
/// `!Send`: the thread that locked unlocks (a robust mutex belongs to a
/// thread). To hold a lock across `.await`, do not: lock, copy what you need,
/// unlock; or, with the `tokio` feature, run the critical section in
/// `Mutex::with_lock`, which locks, runs and unlocks on one blocking thread.
///
/// After `fork`, the child's copy of a guard does not hold the lock (the
/// parent's thread does): the child must drop it without using the data.
/// A guard leaked with `mem::forget` keeps the lock until its thread exits,
/// and keeps the mapping (the `Mutex` handle leaks it on drop) so that the
/// C library's robust list never points into memory that was unmapped.
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ShmSafe = ()> {
    raw: RawGuard<'a, T>,
    name: &'a Arc<str>,
    _not_send: PhantomData<*const ()>,
}

impl<T: ShmSafe> MutexOptions<T> {
    /// Creates the object if it does not exist.
    pub fn create(mut self, yes: bool) -> Self {
        self.common.create = yes;
        self
    }

    /// Creates the object, failing with
    /// [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists) if it exists.
    pub fn create_new(mut self, yes: bool) -> Self {
        self.common.create_new = yes;
        self
    }

    /// The permission bits of an object this call creates: default `0o600`,
    /// exactly, whatever the umask.
    pub fn mode(mut self, mode: u32) -> Self {
        self.common.mode = mode;
        self
    }

    /// Runs `f` on the zeroed data once, in the process that initialises
    /// the object, before any other process can lock it.
    pub fn init(mut self, f: impl FnOnce(&mut T) + Send + 'static) -> Self {
        self.init = Some(Box::new(f));
        self
    }

    /// Opens the mutex `name` (creating it if the options say so).
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported): the
    ///   platform has no robust process-shared mutexes (macOS).
    /// - [`ErrorKind::InvalidData`](crate::ErrorKind::InvalidData): the
    ///   object is not a `Mutex<T>` of this layout (a `Shared`, another `T`,
    ///   a plain shared-memory object, garbage).
    /// - As [`SharedOptions::open`](crate::SharedOptions::open) otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::Mutex;
    ///
    /// let name = format!("/doc.mutex-options.{}", std::process::id());
    /// let m = Mutex::<[u32; 4]>::options()
    ///     .create(true)
    ///     .mode(0o640)
    ///     .init(|v| v[0] = 7)
    ///     .open(&name)?;
    /// assert_eq!(m.lock()?[0], 7);
    /// m.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn open(self, name: &str) -> Result<Mutex<T>> {
        if !mutex::SUPPORTED {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "Mutex::open",
                None,
                "this platform has no robust process-shared mutexes",
            ));
        }
        let spec = Spec::new::<Locked<T>>(ObjectKind::Mutex, layout::<T>(), 0, 0);
        let mut init = self.init;
        let opened = object::open(
            "Mutex::open",
            name,
            self.common,
            spec,
            &|| type_name::<T>("Mutex"),
            &mut |locked: &mut Locked<T>, _| -> std::result::Result<(), Errno> {
                locked.init()?;
                if let Some(f) = init.take() {
                    f(locked.init_data());
                }
                Ok(())
            },
        )?;
        Ok(Mutex {
            region: MutexMapping::new(opened.region),
            name: opened.name,
        })
    }
}

/// The fingerprint of `Locked<T>`: the pthread mutex and `T` at their offsets.
fn layout<T: ShmSafe>() -> u64 {
    let mutex = primitive(
        "pthread_mutex_t",
        size_of::<libc::pthread_mutex_t>(),
        align_of::<libc::pthread_mutex_t>(),
    );
    let hash = struct_start(size_of::<Locked<T>>(), align_of::<Locked<T>>());
    let hash = struct_field(hash, mutex::LIBC, 0, mutex);
    struct_field(hash, "data", Locked::<T>::DATA_OFFSET, T::LAYOUT)
}

impl<T: ShmSafe> Mutex<T> {
    /// Opens an existing mutex.
    ///
    /// # Errors
    ///
    /// As [`MutexOptions::open`];
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) if it does not exist.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = ipc::Mutex::<()>::open("/doc.mutex-missing").unwrap_err();
    /// assert_eq!(err.kind(), ipc::ErrorKind::NotFound);
    /// ```
    pub fn open(name: &str) -> Result<Mutex<T>> {
        Self::options().open(name)
    }

    /// Opens the mutex, creating it (unlocked, the data all zeros) if it
    /// does not exist.
    ///
    /// # Errors
    ///
    /// As [`MutexOptions::open`].
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.mutex-create.{}", std::process::id());
    /// let lock = ipc::Mutex::<()>::create(&name)?;
    /// drop(lock.lock()?);
    /// lock.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn create(name: &str) -> Result<Mutex<T>> {
        Self::options().create(true).open(name)
    }

    /// Creates the mutex, unlocked, the data all zeros.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists) if it
    /// exists; otherwise as [`MutexOptions::open`].
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.mutex-create-new.{}", std::process::id());
    /// let lock = ipc::Mutex::<u64>::create_new(&name)?;
    /// assert!(ipc::Mutex::<u64>::create_new(&name).is_err());
    /// lock.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn create_new(name: &str) -> Result<Mutex<T>> {
        Self::options().create_new(true).open(name)
    }

    /// Options for opening or creating a `Mutex<T>`.
    pub fn options() -> MutexOptions<T> {
        MutexOptions {
            common: Common::default(),
            init: None,
        }
    }

    /// `pthread_mutex_lock` — waits for the lock.
    ///
    /// If the last holder died holding it, this returns the guard with
    /// [`recovered()`](MutexGuard::recovered) true.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if this
    /// thread already holds it (`EDEADLK`). Other OS errors are reported as
    /// [`ErrorKind::Other`](crate::ErrorKind::Other).
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.mutex-lock.{}", std::process::id());
    /// let m = ipc::Mutex::<u64>::create(&name)?;
    /// *m.lock()? += 1;
    /// let held = m.lock()?;
    /// assert_eq!(m.lock().unwrap_err().kind(), ipc::ErrorKind::InvalidInput); // no deadlock
    /// drop(held);
    /// m.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "pthread_mutex_lock")]
    #[inline]
    pub fn lock(&self) -> Result<MutexGuard<'_, T>> {
        self.guard("pthread_mutex_lock", self.locked().lock())
    }

    /// `pthread_mutex_trylock` — takes the lock if it is free now.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Busy`](crate::ErrorKind::Busy) if another thread or
    /// process holds it; otherwise as [`lock`](Mutex::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.mutex-try.{}", std::process::id());
    /// let m = ipc::Mutex::<()>::create(&name)?;
    /// let guard = m.try_lock()?;
    /// assert!(!guard.recovered());
    /// # drop(guard);
    /// m.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "pthread_mutex_trylock")]
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>> {
        self.guard("pthread_mutex_trylock", self.locked().try_lock())
    }

    /// Waits at most `timeout` for the lock, on CLOCK_MONOTONIC where the
    /// platform allows; `Duration::ZERO` only tries.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Busy`](crate::ErrorKind::Busy) when the time is up;
    /// otherwise as [`lock`](Mutex::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let name = format!("/doc.mutex-timeout.{}", std::process::id());
    /// let m = ipc::Mutex::<()>::create(&name)?;
    /// let guard = m.lock_timeout(Duration::from_millis(10))?;
    /// # drop(guard);
    /// m.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "pthread_mutex_clocklock")]
    pub fn lock_timeout(&self, timeout: Duration) -> Result<MutexGuard<'_, T>> {
        if timeout.is_zero() {
            return self.try_lock();
        }
        match Deadline::after(timeout) {
            None => self.lock(),
            Some(deadline) => self.guard(
                "pthread_mutex_clocklock",
                self.locked().lock_until(&deadline),
            ),
        }
    }

    /// The name this handle was opened with.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Removes the name ([`crate::unlink_shared_memory`]). Handles stay
    /// usable, but a process that opens the name afterwards gets a new,
    /// distinct lock: unlink only at teardown, when no process uses it.
    ///
    /// # Errors
    ///
    /// As [`crate::unlink_shared_memory`].
    pub fn unlink(&self) -> Result<()> {
        crate::unlink_shared_memory(&self.name)
    }

    /// The name, shared, for errors made outside this module.
    #[cfg(feature = "tokio")]
    pub(crate) fn name_arc(&self) -> &Arc<str> {
        &self.name
    }

    #[inline]
    fn locked(&self) -> &Locked<T> {
        self.region.locked()
    }

    #[inline]
    fn guard<'a>(
        &'a self,
        op: &'static str,
        raw: std::result::Result<RawGuard<'a, T>, Errno>,
    ) -> Result<MutexGuard<'a, T>> {
        match raw {
            Ok(raw) => Ok(MutexGuard {
                raw,
                name: &self.name,
                _not_send: PhantomData,
            }),
            Err(e) => Err(self.error(op, e)),
        }
    }

    #[cold]
    #[inline(never)]
    fn error(&self, op: &'static str, errno: Errno) -> Error {
        match errno {
            libc::EDEADLK => Error::new(
                ErrorKind::InvalidInput,
                op,
                Some(&self.name),
                "already held by this thread: unlock (drop the guard) before locking again",
            ),
            libc::ENOTRECOVERABLE => Error::os(op, Some(&self.name), errno)
                .with_detail("the mutex is not recoverable (made by another program?)"),
            e => Error::os(op, Some(&self.name), e),
        }
    }
}

impl<T: ShmSafe> MutexGuard<'_, T> {
    /// True when the previous holder died holding the lock (EOWNERDEAD):
    /// the data is as it left it, possibly half-updated. The lock is already
    /// usable again; repair the data if it matters.
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.mutex-recovered.{}", std::process::id());
    /// let m = ipc::Mutex::<u64>::create(&name)?;
    /// assert!(!m.lock()?.recovered()); // nobody died
    /// m.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[must_use]
    pub fn recovered(&self) -> bool {
        self.raw.recovered()
    }
}

impl<T: ShmSafe> Deref for MutexGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        self.raw.get()
    }
}

impl<T: ShmSafe> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        self.raw.get_mut()
    }
}

impl<T: ShmSafe> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mutex")
            .field("name", &self.name)
            .field("type", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}

impl<T: ShmSafe> fmt::Display for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl<T: ShmSafe> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MutexGuard")
            .field("name", self.name)
            .field("recovered", &self.recovered())
            .finish_non_exhaustive()
    }
}

impl<T: ShmSafe> fmt::Debug for MutexOptions<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MutexOptions")
            .field("common", &self.common)
            .field("init", &self.init.is_some())
            .finish()
    }
}
