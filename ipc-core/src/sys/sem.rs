//! Named semaphores: `sem_open` and friends.

use std::ffi::{CStr, c_int, c_uint};
use std::ptr::NonNull;

use super::{Errno, cvt, errno};

/// An open named semaphore: the pointer `sem_open` returned.
///
/// Invariant: `ptr` came from a `sem_open` that did not return `SEM_FAILED`,
/// and is passed to `sem_close` exactly once, in `close` or `Drop`.
pub(crate) struct Sem {
    ptr: NonNull<libc::sem_t>,
}

// SAFETY: a POSIX semaphore is designed to be used from any thread and any
// process at once: sem_wait, sem_trywait, sem_timedwait, sem_post and
// sem_getvalue are thread-safe (POSIX.1-2008, 2.9.1 lists none of them as
// non-thread-safe), and the pointer refers to a process-wide mapping that does
// not belong to the thread that opened it. `Sem` exposes no interior state
// besides that pointer, so moving it to another thread (Send) or calling its
// `&self` methods from several threads (Sync) is what the API was made for.
unsafe impl Send for Sem {}
// SAFETY: see the `Send` impl above.
unsafe impl Sync for Sem {}

impl Sem {
    /// `sem_open(name, oflag, mode, value)`.
    pub(crate) fn open(name: &CStr, oflag: c_int, mode: u32, value: u32) -> Result<Sem, Errno> {
        // SAFETY: `name` is a NUL-terminated string that outlives the call.
        // sem_open is variadic; `mode` and `value` are read with
        // va_arg(ap, mode_t) and va_arg(ap, unsigned int), and mode_t is
        // promoted to (at most) unsigned int, so both are passed as c_uint.
        let ptr = unsafe { libc::sem_open(name.as_ptr(), oflag, mode as c_uint, value as c_uint) };
        if ptr == libc::SEM_FAILED {
            return Err(errno());
        }
        NonNull::new(ptr).map(|ptr| Sem { ptr }).ok_or(libc::EINVAL)
    }

    /// The address of the semaphore in this process (where glibc mapped its
    /// file); an identity, never dereferenced by the caller.
    #[cfg(target_os = "linux")]
    pub(crate) fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    /// `sem_wait`: blocks until the value is positive, then decrements it.
    #[inline]
    pub(crate) fn wait(&self) -> Result<(), Errno> {
        // SAFETY: `self.ptr` is an open semaphore (type invariant); it stays
        // open while `&self` is borrowed because only `close(self)` and Drop
        // close it.
        cvt(unsafe { libc::sem_wait(self.ptr.as_ptr()) }).map(drop)
    }

    /// `sem_trywait`: decrements the value if it is positive, else `EAGAIN`.
    #[inline]
    pub(crate) fn try_wait(&self) -> Result<(), Errno> {
        // SAFETY: as in `wait`.
        cvt(unsafe { libc::sem_trywait(self.ptr.as_ptr()) }).map(drop)
    }

    /// `sem_clockwait(CLOCK_MONOTONIC, deadline)` on 64-bit Linux glibc,
    /// `sem_timedwait` with a CLOCK_REALTIME deadline on other platforms
    /// that have it, `ENOSYS` on Apple's (no timed wait at all).
    ///
    /// Which clock `deadline` must be on: [`Sem::WAIT_CLOCK`].
    pub(crate) fn wait_until(&self, deadline: &libc::timespec) -> Result<(), Errno> {
        #[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
        {
            // glibc has had sem_clockwait since 2.30; the libc crate does not
            // declare it. (On 32-bit glibc a 64-bit time_t build needs
            // `__sem_clockwait64` instead, which this declaration cannot
            // follow, so those targets use sem_timedwait, which libc maps.)
            unsafe extern "C" {
                fn sem_clockwait(
                    sem: *mut libc::sem_t,
                    clock: libc::clockid_t,
                    abstime: *const libc::timespec,
                ) -> c_int;
            }
            // SAFETY: `self.ptr` is open (as in `wait`); `deadline` is a valid
            // timespec borrowed for the call. The declaration above matches
            // glibc's prototype in <semaphore.h> on 64-bit targets, where
            // time_t has one size.
            cvt(unsafe { sem_clockwait(self.ptr.as_ptr(), libc::CLOCK_MONOTONIC, deadline) })
                .map(drop)
        }
        #[cfg(target_vendor = "apple")]
        {
            let _ = (self, deadline);
            Err(libc::ENOSYS)
        }
        #[cfg(not(any(
            all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"),
            target_vendor = "apple"
        )))]
        {
            // SAFETY: as above, with the standard sem_timedwait.
            cvt(unsafe { libc::sem_timedwait(self.ptr.as_ptr(), deadline) }).map(drop)
        }
    }

    /// The clock [`Sem::wait_until`] measures its deadline on.
    pub(crate) const WAIT_CLOCK: super::Clock = if cfg!(all(
        target_os = "linux",
        target_env = "gnu",
        target_pointer_width = "64"
    )) {
        super::Clock::Monotonic
    } else {
        super::Clock::Realtime
    };

    /// `sem_post`.
    #[inline]
    pub(crate) fn post(&self) -> Result<(), Errno> {
        // SAFETY: as in `wait`.
        cvt(unsafe { libc::sem_post(self.ptr.as_ptr()) }).map(drop)
    }

    /// `sem_getvalue`.
    #[inline]
    pub(crate) fn value(&self) -> Result<c_int, Errno> {
        #[cfg(target_vendor = "apple")]
        {
            // Apple has no sem_getvalue.
            let _ = self;
            Err(libc::ENOSYS)
        }
        #[cfg(not(target_vendor = "apple"))]
        {
            let mut value: c_int = 0;
            // SAFETY: as in `wait`; `value` is a valid, writable c_int.
            cvt(unsafe { libc::sem_getvalue(self.ptr.as_ptr(), &raw mut value) })?;
            Ok(value)
        }
    }

    /// `sem_close`, reporting its error.
    pub(crate) fn close(self) -> Result<(), Errno> {
        let ptr = self.ptr;
        std::mem::forget(self);
        // SAFETY: `ptr` is open (type invariant) and, since `self` was
        // forgotten, Drop will not close it a second time.
        cvt(unsafe { libc::sem_close(ptr.as_ptr()) }).map(drop)
    }
}

impl Drop for Sem {
    fn drop(&mut self) {
        // SAFETY: `self.ptr` is open (type invariant) and this is the only
        // place besides `close(self)` (which forgets `self`) that closes it.
        unsafe { libc::sem_close(self.ptr.as_ptr()) };
    }
}

/// `sem_unlink(name)`.
pub(crate) fn unlink(name: &CStr) -> Result<(), Errno> {
    // SAFETY: `name` is a NUL-terminated string that outlives the call.
    cvt(unsafe { libc::sem_unlink(name.as_ptr()) }).map(drop)
}
