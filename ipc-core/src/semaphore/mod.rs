//! POSIX named semaphores: [`Semaphore`], [`SemaphoreOptions`], [`SemaphoreGuard`].

#[cfg(target_os = "linux")]
pub(crate) mod file;
mod interruptible;
mod options;
mod spin;

pub use options::SemaphoreOptions;
use spin::Spin;

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::common::checked_name;
use crate::consts::SEMAPHORE_VALUE_MAX;
use crate::deadline::{self, Deadline};
use crate::name::Kind;
use crate::sys::{self, Errno, sem::Sem};
use crate::{Error, Result};
// The docs link to the kinds; the code that returns them is in `file.rs`.
#[cfg(doc)]
use crate::ErrorKind;

/// A POSIX named semaphore (`sem_open`): a counter shared by every process
/// that opens the same name.
///
/// [`acquire`](Semaphore::acquire) waits until the value is positive and
/// decrements it; [`release`](Semaphore::release) increments it. Used with an
/// initial value of 1 it is a lock between processes: [`lock`](Semaphore::lock)
/// returns a guard that releases on drop, also when a panic unwinds.
///
/// What a crash does: a semaphore has no owner, so a process that dies
/// holding it — killed, or leaving by `std::process::exit` or an abort —
/// never releases it, and its value stays low forever; waiters without a
/// timeout hang. When a holder may die, use [`Mutex`](crate::Mutex) (or
/// `#[named_mutex]`), which the next locker recovers.
///
/// The handle closes on drop (`sem_close`); the name stays until
/// [`unlink`](Semaphore::unlink), as the kernel object outlives every process.
///
/// A semaphore created by Python's `posix_ipc`, or by C code calling
/// `sem_open`, is the same object: open it by name.
///
/// # Examples
///
/// ```
/// use ipc::Semaphore;
///
/// let sem = Semaphore::options().initial_value(1).create_unique("/doc.sem")?;
/// {
///     let _guard = sem.lock()?;
///     assert_eq!(sem.value()?, 0);
///     assert!(sem.try_acquire().is_err());
/// }
/// assert_eq!(sem.value()?, 1);
/// sem.unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
pub struct Semaphore {
    raw: Sem,
    name: Arc<str>,
    mode: u32,
    spin: Spin,
}

/// Holds one unit of a [`Semaphore`] and releases it when dropped, also while
/// a panic unwinds. Made by [`Semaphore::lock`] and its variants.
///
/// The guard is not `Send`: a unit taken on one thread is given back on it,
/// which keeps a guard from being held across an `.await` on a work-stealing
/// runtime.
#[must_use = "the semaphore is released as soon as the guard is dropped"]
pub struct SemaphoreGuard<'a> {
    sem: &'a Semaphore,
    _not_send: PhantomData<*const ()>,
}

const OPEN: &str = "sem_open";

impl Semaphore {
    /// `sem_open(name, 0)` — opens an existing semaphore.
    ///
    /// # Errors
    ///
    /// As [`SemaphoreOptions::open`]; [`ErrorKind::NotFound`] if it does not exist.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::{ErrorKind, Semaphore};
    ///
    /// let made = Semaphore::options().initial_value(2).create_unique("/doc.open")?;
    /// let opened = Semaphore::open(made.name())?;
    /// assert_eq!(opened.value()?, 2);
    /// made.unlink()?;
    /// assert_eq!(Semaphore::open(made.name()).unwrap_err().kind(), ErrorKind::NotFound);
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "sem_open")]
    pub fn open(name: &str) -> Result<Semaphore> {
        Semaphore::options().open(name)
    }

    /// `sem_open(name, O_CREAT, 0o600, initial_value)` — opens the semaphore,
    /// creating it with `initial_value` if it does not exist. The value of an
    /// existing semaphore is left as it is.
    ///
    /// # Errors
    ///
    /// As [`SemaphoreOptions::open`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::Semaphore;
    /// let name = format!("/doc.create.{}", std::process::id());
    /// let first = Semaphore::create(&name, 5)?;
    /// let second = Semaphore::create(&name, 99)?; // exists: 99 is ignored
    /// assert_eq!(second.value()?, 5);
    /// first.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "sem_open")]
    pub fn create(name: &str, initial_value: u32) -> Result<Semaphore> {
        Semaphore::options()
            .create(true)
            .initial_value(initial_value)
            .open(name)
    }

    /// `sem_open(name, O_CREAT | O_EXCL, 0o600, initial_value)` — creates a
    /// semaphore that must not exist yet.
    ///
    /// # Errors
    ///
    /// As [`SemaphoreOptions::open`]; [`ErrorKind::AlreadyExists`] if it exists.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::{ErrorKind, Semaphore};
    /// let name = format!("/doc.create_new.{}", std::process::id());
    /// let sem = Semaphore::create_new(&name, 0)?;
    /// assert_eq!(Semaphore::create_new(&name, 0).unwrap_err().kind(), ErrorKind::AlreadyExists);
    /// sem.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "sem_open")]
    pub fn create_new(name: &str, initial_value: u32) -> Result<Semaphore> {
        Semaphore::options()
            .create_new(true)
            .initial_value(initial_value)
            .open(name)
    }

    /// Options to open or create a semaphore; see [`SemaphoreOptions`].
    pub fn options() -> SemaphoreOptions {
        SemaphoreOptions::default()
    }

    /// `sem_wait` — waits until the value is positive, then decrements it.
    ///
    /// A signal does not interrupt the wait: `EINTR` is retried.
    ///
    /// # Errors
    ///
    /// OS errors are reported as [`ErrorKind::Other`]; with a handle from
    /// this crate none is expected.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::Semaphore;
    ///
    /// let sem = Semaphore::options().initial_value(1).create_unique("/doc.acquire")?;
    /// sem.acquire()?;
    /// assert_eq!(sem.value()?, 0);
    /// sem.release()?;
    /// sem.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "sem_wait")]
    #[inline]
    pub fn acquire(&self) -> Result<()> {
        // The uncontended case costs what a bare sem_wait does: one
        // userspace atomic. Only when it fails is the spin budget consulted.
        if self.raw.try_wait().is_ok() {
            return Ok(());
        }
        self.acquire_contended()
    }

    fn acquire_contended(&self) -> Result<()> {
        if self.spin.enabled() && self.spin.acquire(&self.raw, None) {
            return Ok(());
        }
        deadline::retry(|| self.raw.wait()).map_err(|e| self.error("sem_wait", e))
    }

    /// `sem_trywait` — decrements the value if it is positive, without waiting.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Busy`] (`EAGAIN`) when the value is 0. Other OS errors are
    /// reported as [`ErrorKind::Other`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::Semaphore;
    ///
    /// let sem = Semaphore::options().initial_value(1).create_unique("/doc.try-acquire")?;
    /// sem.try_acquire()?;
    /// assert_eq!(sem.try_acquire().unwrap_err().kind(), ipc::ErrorKind::Busy);
    /// sem.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "sem_trywait")]
    #[inline]
    pub fn try_acquire(&self) -> Result<()> {
        deadline::retry(|| self.raw.try_wait()).map_err(|e| self.error("sem_trywait", e))
    }

    /// `sem_trywait`, for polling loops: `Ok(true)` if a unit was taken,
    /// `Ok(false)` if the value is 0 — without building an error for the
    /// would-block case, which [`try_acquire`](Self::try_acquire) does (its
    /// error names the semaphore), so a failing poll costs what `sem_trywait`
    /// costs.
    ///
    /// # Errors
    ///
    /// OS errors other than `EAGAIN` (there are none on Linux for a valid
    /// handle) are reported as [`ErrorKind::Other`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::Semaphore;
    ///
    /// let sem = Semaphore::options().initial_value(1).create_unique("/doc.nowait")?;
    /// assert!(sem.acquire_nowait()?); // took the unit
    /// assert!(!sem.acquire_nowait()?); // none left: false, no error
    /// sem.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "sem_trywait", alias = "IPC_NOWAIT")]
    #[inline]
    pub fn acquire_nowait(&self) -> Result<bool> {
        match deadline::retry(|| self.raw.try_wait()) {
            Ok(()) => Ok(true),
            Err(libc::EAGAIN) => Ok(false),
            Err(e) => Err(self.error("sem_trywait", e)),
        }
    }

    /// `sem_clockwait(CLOCK_MONOTONIC)` — waits at most `timeout` for the
    /// value to become positive, then decrements it.
    ///
    /// The deadline is on the monotonic clock (glibc's `sem_clockwait`), so
    /// changing the wall clock neither shortens nor stretches the wait;
    /// elsewhere `sem_timedwait`'s wall-clock deadline is re-derived from the
    /// monotonic one at every retry. Signals do not cut the wait short.
    /// `Duration::ZERO` behaves as [`try_acquire`](Self::try_acquire); a
    /// timeout too large to express as a deadline waits forever.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Busy`] (`ETIMEDOUT`, or `EAGAIN` for a zero timeout) when
    /// the time is up. [`ErrorKind::Unsupported`] (`ENOSYS`) for a non-zero
    /// timeout on macOS, which has no timed wait
    /// ([`crate::consts::SEMAPHORE_TIMEOUT_SUPPORTED`]). Other OS errors are
    /// reported as [`ErrorKind::Other`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use ipc::{ErrorKind, Semaphore};
    ///
    /// let sem = Semaphore::options().create_unique("/doc.timeout")?; // value 0
    /// let err = sem.acquire_timeout(Duration::from_millis(10)).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Busy);
    /// sem.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "sem_clockwait", alias = "sem_timedwait")]
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<()> {
        if timeout.is_zero() {
            return self.try_acquire();
        }
        if self.raw.try_wait().is_ok() {
            return Ok(());
        }
        let Some(deadline) = Deadline::after(timeout) else {
            return self.acquire_contended();
        };
        if self.spin.enabled() && self.spin.acquire(&self.raw, Some(timeout)) {
            return Ok(());
        }
        deadline::retry_until(&deadline, Sem::WAIT_CLOCK, |at| self.raw.wait_until(at)).map_err(
            |e| {
                let err = self.error("sem_clockwait", e);
                if e == libc::ETIMEDOUT {
                    err.with_detail(format!("timed out after {timeout:?}"))
                } else {
                    err
                }
            },
        )
    }

    /// [`acquire`](Self::acquire), returning a guard that releases on drop.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::Semaphore;
    ///
    /// let sem = Semaphore::options().initial_value(1).create_unique("/doc.lock")?;
    /// let guard = sem.lock()?;
    /// assert_eq!(sem.value()?, 0);
    /// drop(guard);
    /// assert_eq!(sem.value()?, 1);
    /// sem.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[inline]
    pub fn lock(&self) -> Result<SemaphoreGuard<'_>> {
        self.acquire().map(|()| SemaphoreGuard::new(self))
    }

    /// [`try_acquire`](Self::try_acquire), returning a guard that releases on drop.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::Semaphore;
    ///
    /// let sem = Semaphore::options().initial_value(1).create_unique("/doc.try-lock")?;
    /// let guard = sem.try_lock()?;
    /// assert!(sem.try_lock().is_err());
    /// drop(guard);
    /// assert!(sem.try_lock().is_ok());
    /// sem.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[inline]
    pub fn try_lock(&self) -> Result<SemaphoreGuard<'_>> {
        self.try_acquire().map(|()| SemaphoreGuard::new(self))
    }

    /// [`acquire_timeout`](Self::acquire_timeout), returning a guard that
    /// releases on drop.
    ///
    /// # Errors
    ///
    /// As [`acquire_timeout`](Self::acquire_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::Semaphore;
    ///
    /// let sem = Semaphore::options().initial_value(1).create_unique("/doc.lock-timeout")?;
    /// use std::time::Duration;
    /// let _held = sem.lock()?;
    /// let err = sem.lock_timeout(Duration::from_millis(10)).unwrap_err();
    /// assert_eq!(err.kind(), ipc::ErrorKind::Busy);
    /// sem.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn lock_timeout(&self, timeout: Duration) -> Result<SemaphoreGuard<'_>> {
        self.acquire_timeout(timeout)
            .map(|()| SemaphoreGuard::new(self))
    }

    /// `sem_post` — increments the value, waking one waiter.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] (`EOVERFLOW`) when the value is already
    /// [`SEMAPHORE_VALUE_MAX`]; the value is left unchanged. Other OS errors
    /// are reported as [`ErrorKind::Other`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::Semaphore;
    ///
    /// let sem = Semaphore::options().initial_value(0).create_unique("/doc.release")?;
    /// sem.release()?;
    /// sem.release()?;
    /// assert_eq!(sem.value()?, 2);
    /// sem.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "sem_post")]
    #[inline]
    pub fn release(&self) -> Result<()> {
        self.raw.post().map_err(|e| {
            let err = self.error("sem_post", e);
            if e == libc::EOVERFLOW {
                err.with_detail(format!(
                    "the value would exceed SEMAPHORE_VALUE_MAX ({SEMAPHORE_VALUE_MAX})"
                ))
            } else {
                err
            }
        })
    }

    /// `sem_getvalue` — the current value. On Linux it is 0, never negative,
    /// while processes wait.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] on macOS, which lacks `sem_getvalue`
    /// ([`crate::consts::SEMAPHORE_VALUE_SUPPORTED`]). Other OS errors are
    /// reported as [`ErrorKind::Other`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::Semaphore;
    ///
    /// let sem = Semaphore::options().initial_value(3).create_unique("/doc.value")?;
    /// assert_eq!(sem.value()?, 3);
    /// sem.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "sem_getvalue")]
    #[inline]
    pub fn value(&self) -> Result<u32> {
        if !crate::consts::SEMAPHORE_VALUE_SUPPORTED {
            return Err(self.error("sem_getvalue", libc::ENOSYS));
        }
        let v = self
            .raw
            .value()
            .map_err(|e| self.error("sem_getvalue", e))?;
        Ok(u32::try_from(v).unwrap_or(0))
    }

    /// Sets how long the waits of this handle poll with `sem_trywait` before
    /// sleeping in the kernel; zero (the default) never polls.
    ///
    /// When the process that releases runs on another CPU, a wake-up from
    /// the kernel costs tens of microseconds (48 µs per round trip on the
    /// 2-vCPU machine of the README's benchmarks); a poll that outlasts the
    /// other side's answer takes a fraction of a microsecond. The poll yields
    /// the CPU every half microsecond, so a peer on the same CPU can run, and
    /// it backs off: after 4 polls in a row that ran out, it polls only one
    /// acquire in 256 until one succeeds again. It never polls on a machine
    /// with one CPU online. The price is CPU time: while it polls, the
    /// thread keeps its CPU busy. Budgets of 20–100 µs suit a hand-off whose
    /// other side answers within that time.
    ///
    /// Any budget is kept as given, up to `u64::MAX` nanoseconds (about 584
    /// years, where [`Duration::MAX`] saturates); [`spin`](Self::spin)
    /// returns it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use ipc::Semaphore;
    ///
    /// let sem = Semaphore::options().initial_value(1).create_unique("/doc.spin")?;
    /// sem.set_spin(Duration::from_micros(20));
    /// assert_eq!(sem.spin(), Duration::from_micros(20));
    /// sem.acquire()?; // available: taken by the first poll
    /// sem.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn set_spin(&self, budget: Duration) {
        self.spin.set(budget);
    }

    /// The polling budget of this handle; see [`set_spin`](Self::set_spin).
    #[must_use]
    pub fn spin(&self) -> Duration {
        self.spin.budget()
    }

    /// The name this handle was opened with.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The mode given to the constructor (default `0o600`). For a semaphore
    /// that already existed, this is not its real mode: as in posix_ipc, it
    /// is what was asked.
    #[must_use]
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// `sem_unlink` — removes the name. Handles that are open stay usable;
    /// the semaphore is destroyed when the last one closes. A later create
    /// under the same name makes a new, distinct semaphore.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] (`ENOENT`) if the name is already gone;
    /// [`ErrorKind::PermissionDenied`] (`EACCES`) if this process may not
    /// remove it. Other OS errors are reported as [`ErrorKind::Other`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::{ErrorKind, Semaphore};
    ///
    /// let sem = Semaphore::options().initial_value(1).create_unique("/doc.sem-unlink-method")?;
    /// sem.unlink()?;
    /// sem.acquire()?; // the handle still works
    /// assert_eq!(Semaphore::open(sem.name()).unwrap_err().kind(), ErrorKind::NotFound);
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "sem_unlink")]
    pub fn unlink(&self) -> Result<()> {
        unlink_checked(&self.name)
    }

    /// `sem_close` — closes the handle, reporting an error that Drop would
    /// ignore. The semaphore and its name stay.
    ///
    /// # Errors
    ///
    /// OS errors are reported as [`ErrorKind::Other`]; none is expected.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::Semaphore;
    ///
    /// let sem = Semaphore::options().initial_value(0).create_unique("/doc.close")?;
    /// let other = Semaphore::open(sem.name())?;
    /// other.close()?; // the semaphore stays
    /// sem.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "sem_close")]
    pub fn close(self) -> Result<()> {
        let Semaphore { raw, name, .. } = self;
        raw.close()
            .map_err(|e| Error::os("sem_close", Some(&name), e))
    }

    /// The name, shared, for errors made outside this module.
    #[cfg(feature = "tokio")]
    pub(crate) fn shared_name(&self) -> &Arc<str> {
        &self.name
    }

    #[cold]
    #[inline(never)]
    fn error(&self, op: &'static str, errno: Errno) -> Error {
        Error::os(op, Some(&self.name), errno)
    }
}

/// `sem_unlink(name)` — removes the named semaphore.
///
/// # Errors
///
/// [`ErrorKind::InvalidName`] if `name` breaks a rule of [`crate::name`];
/// otherwise as [`Semaphore::unlink`].
///
/// # Examples
///
/// ```
/// use ipc::{ErrorKind, Semaphore};
///
/// let sem = Semaphore::options().create_unique("/doc.unlink")?;
/// ipc::unlink_semaphore(sem.name())?;
/// assert_eq!(ipc::unlink_semaphore(sem.name()).unwrap_err().kind(), ErrorKind::NotFound);
/// # Ok::<(), ipc::Error>(())
/// ```
#[doc(alias = "sem_unlink")]
pub fn unlink_semaphore(name: &str) -> Result<()> {
    let name = checked_name("sem_unlink", name, Kind::Semaphore)?;
    unlink_checked(&name)
}

fn unlink_checked(name: &Arc<str>) -> Result<()> {
    sys::with_cstr(name, sys::sem::unlink).map_err(|e| Error::os("sem_unlink", Some(name), e))
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("name", &self.name)
            .field("mode", &format_args!("{:#o}", self.mode))
            .field("value", &self.value().ok())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Semaphore {
    /// `Semaphore(/name, value=1)`, or `value=?` where it cannot be read.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value() {
            Ok(v) => write!(f, "Semaphore({}, value={v})", self.name),
            Err(_) => write!(f, "Semaphore({}, value=?)", self.name),
        }
    }
}

impl<'a> SemaphoreGuard<'a> {
    fn new(sem: &'a Semaphore) -> Self {
        SemaphoreGuard {
            sem,
            _not_send: PhantomData,
        }
    }

    /// The semaphore this guard holds a unit of.
    #[must_use]
    pub fn semaphore(&self) -> &'a Semaphore {
        self.sem
    }

    /// Releases the unit now and reports the result, which dropping the
    /// guard would ignore.
    ///
    /// # Errors
    ///
    /// As [`Semaphore::release`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::Semaphore;
    ///
    /// let sem = Semaphore::options().initial_value(1).create_unique("/doc.unlock")?;
    /// let guard = sem.lock()?;
    /// guard.unlock()?;
    /// assert_eq!(sem.value()?, 1);
    /// sem.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn unlock(self) -> Result<()> {
        let sem = self.sem;
        std::mem::forget(self);
        sem.release()
    }
}

impl Drop for SemaphoreGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // Nothing to report to: Drop cannot fail, and sem_post on a handle we
        // hold only fails at SEMAPHORE_VALUE_MAX, which a guard cannot reach
        // unless someone else released a unit they never took.
        let _ = self.sem.release();
    }
}

impl fmt::Debug for SemaphoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard")
            .field("semaphore", &self.sem.name)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn bad_arguments_fail_before_any_system_call() {
        // No such name exists, so an error other than NotFound proves that
        // sem_open was never called.
        let opts = || Semaphore::options().create(true);
        let e = opts().mode(0o1000).open("/ipc-unit-never").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("0o777"), "{e}");
        let e = opts()
            .initial_value(SEMAPHORE_VALUE_MAX + 1)
            .open("/ipc-unit-never")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("SEMAPHORE_VALUE_MAX"), "{e}");
        let e = opts()
            .initial_value(u32::MAX)
            .open("/ipc-unit-never")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        for bad in ["", "/", "x", "/a/b", "/a\0b", "/.", "/.."] {
            let e = opts().open(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidName, "{bad:?}");
            assert_eq!(
                unlink_semaphore(bad).unwrap_err().kind(),
                ErrorKind::InvalidName
            );
        }
    }
}
