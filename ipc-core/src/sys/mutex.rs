//! A robust, process-shared, error-checking pthread mutex and the data it
//! guards, laid out in shared memory.

use std::cell::UnsafeCell;
use std::ffi::c_int;
use std::mem::ManuallyDrop;
#[cfg(target_os = "linux")]
use std::sync::atomic::{AtomicU32, Ordering};

use super::Errno;
use super::object::{Payload, Region};
use crate::ShmSafe;
use crate::deadline::Deadline;

/// Whether this build has robust process-shared mutexes: Linux, where the
/// owner of a locked mutex can be read (see [`MutexMapping`]). FreeBSD has
/// them too, but its mutexes are not laid out in the shared memory itself;
/// it is not supported yet.
pub(crate) const SUPPORTED: bool = cfg!(target_os = "linux");

/// Where the lock word (the owner's thread id, with the FUTEX_WAITERS and
/// FUTEX_OWNER_DIED bits) sits in a `pthread_mutex_t`: glibc's `__lock` is
/// its first int, musl's `_m_lock` its second.
#[cfg(target_os = "linux")]
const LOCK_WORD_OFFSET: usize = if cfg!(target_env = "musl") { 4 } else { 0 };

/// The C library, for the layout fingerprint: a glibc and a musl process
/// must not share one mutex, their layouts differ.
pub(crate) const LIBC: &str = if cfg!(target_env = "musl") {
    "musl"
} else if cfg!(target_env = "gnu") {
    "glibc"
} else {
    "libc"
};

/// The mutex and its data, as they sit in the shared object.
#[repr(C)]
pub(crate) struct Locked<T> {
    raw: UnsafeCell<libc::pthread_mutex_t>,
    data: UnsafeCell<T>,
}

// SAFETY: `data` is only reached through a RawGuard, which exists only
// while this thread holds `raw` (a process-shared mutex, so no other thread
// of any process holds it meanwhile), or through `init_data`, which takes
// `&mut self`. `raw` is only passed to pthread calls, which synchronise
// themselves. T: ShmSafe is Sync and holds nothing process-specific.
unsafe impl<T: ShmSafe> Sync for Locked<T> {}

// SAFETY: every bit pattern of a pthread_mutex_t (a C struct of integers)
// and of a ShmSafe T is a valid value; the mutex is process-shared, so its
// bytes mean the same in every process; all mutation through `&Locked` is
// done by pthread calls or under the lock (see the Sync impl).
unsafe impl<T: ShmSafe> Payload for Locked<T> {}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
unsafe extern "C" {
    // glibc 2.30+; the libc crate does not bind it yet.
    fn pthread_mutex_clocklock(
        mutex: *mut libc::pthread_mutex_t,
        clock: libc::clockid_t,
        abstime: *const libc::timespec,
    ) -> c_int;
}

impl<T: ShmSafe> Locked<T> {
    /// `pthread_mutex_init` with PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST
    /// and PTHREAD_MUTEX_ERRORCHECK. `&mut self`: nobody else can use it yet.
    #[cfg_attr(not(target_os = "linux"), allow(clippy::unused_self))]
    pub(crate) fn init(&mut self) -> Result<(), Errno> {
        #[cfg(not(target_os = "linux"))]
        return Err(libc::ENOSYS);
        #[cfg(target_os = "linux")]
        self.init_linux()
    }

    #[cfg(target_os = "linux")]
    fn init_linux(&mut self) -> Result<(), Errno> {
        let mut attr = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
        // SAFETY: `attr` is writable storage for a pthread_mutexattr_t.
        check(unsafe { libc::pthread_mutexattr_init(attr.as_mut_ptr()) })?;
        let attr = attr.as_mut_ptr();
        let result = (|| {
            // SAFETY: `attr` was initialised by pthread_mutexattr_init above
            // and is destroyed only after this closure.
            check(unsafe {
                libc::pthread_mutexattr_setpshared(attr, libc::PTHREAD_PROCESS_SHARED)
            })?;
            // SAFETY: as above.
            check(unsafe {
                libc::pthread_mutexattr_settype(attr, libc::PTHREAD_MUTEX_ERRORCHECK)
            })?;
            set_robust(attr)?;
            // SAFETY: `raw` is exclusively ours (`&mut self`), aligned (part
            // of a repr(C) struct placed aligned by Spec::new), and not an
            // initialised mutex that anyone holds (the object is being
            // initialised); `attr` is initialised.
            check(unsafe { libc::pthread_mutex_init(self.raw.get(), attr) })
        })();
        // SAFETY: `attr` was initialised and is not used after this.
        unsafe { libc::pthread_mutexattr_destroy(attr) };
        result
    }

    /// Where the data starts in the object's payload.
    pub(crate) const DATA_OFFSET: usize = std::mem::offset_of!(Locked<T>, data);

    /// The data, while nobody else can use the object yet.
    pub(crate) fn init_data(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// `pthread_mutex_lock`.
    #[inline]
    pub(crate) fn lock(&self) -> Result<RawGuard<'_, T>, Errno> {
        if !self.kind_is_ours() {
            return Err(libc::EINVAL);
        }
        // SAFETY: `raw` was initialised as a process-shared mutex before the
        // object was published (Payload init), and lives as long as `self`.
        self.locked(unsafe { libc::pthread_mutex_lock(self.raw.get()) })
    }

    /// `pthread_mutex_trylock`; `EDEADLK` if this thread holds it.
    pub(crate) fn try_lock(&self) -> Result<RawGuard<'_, T>, Errno> {
        if !self.kind_is_ours() {
            return Err(libc::EINVAL);
        }
        // SAFETY: as in `lock`.
        match self.locked(unsafe { libc::pthread_mutex_trylock(self.raw.get()) }) {
            // POSIX lets trylock say EBUSY when the caller is the holder:
            // a lock with an expired deadline tells the two apart (EDEADLK).
            Err(libc::EBUSY) => match self.lock_until(&Deadline::expired_now()) {
                Err(libc::ETIMEDOUT) => Err(libc::EBUSY),
                other => other,
            },
            other => other,
        }
    }

    /// Locks, waiting until `deadline` (CLOCK_MONOTONIC where the platform
    /// can, else re-derived on CLOCK_REALTIME at each attempt); `ETIMEDOUT`.
    pub(crate) fn lock_until(&self, deadline: &Deadline) -> Result<RawGuard<'_, T>, Errno> {
        if !self.kind_is_ours() {
            return Err(libc::EINVAL);
        }
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        let ret = crate::deadline::retry_until(deadline, super::Clock::Monotonic, |at| {
            // SAFETY: as in `lock`; `at` is a valid timespec for the call.
            match unsafe { pthread_mutex_clocklock(self.raw.get(), libc::CLOCK_MONOTONIC, at) } {
                0 => Ok(0),
                e => Err(e),
            }
        });
        #[cfg(all(target_os = "linux", not(target_env = "gnu")))]
        let ret = crate::deadline::retry_until(deadline, super::Clock::Realtime, |at| {
            // SAFETY: as in `lock`; `at` is a valid timespec for the call.
            match unsafe { libc::pthread_mutex_timedlock(self.raw.get(), at) } {
                0 => Ok(0),
                e => Err(e),
            }
        });
        // No robust mutexes here (SUPPORTED is false): never reached.
        #[cfg(not(target_os = "linux"))]
        let ret: Result<c_int, Errno> = {
            let _ = deadline;
            Err(libc::ENOSYS)
        };
        match ret {
            Ok(_) => self.locked(0),
            Err(e) => self.locked(e),
        }
    }

    /// Turns a lock call's result into a guard: EOWNERDEAD is a lock that
    /// is ours, made consistent at once, and reported as recovered.
    #[inline]
    fn locked(&self, ret: c_int) -> Result<RawGuard<'_, T>, Errno> {
        if ret == 0 {
            return Ok(RawGuard {
                lock: self,
                recovered: false,
            });
        }
        self.owner_died(ret)
    }

    #[cold]
    fn owner_died(&self, ret: c_int) -> Result<RawGuard<'_, T>, Errno> {
        match ret {
            libc::EOWNERDEAD => {
                let guard = RawGuard {
                    lock: self,
                    recovered: true,
                };
                // SAFETY: this thread holds the mutex (EOWNERDEAD), which is
                // what pthread_mutex_consistent requires.
                check(unsafe { consistent(self.raw.get()) })?;
                Ok(guard)
            }
            e => Err(e),
        }
    }
}

impl<T> Locked<T> {
    /// Whether the mutex's `__kind` word still says what this crate made:
    /// robust and process-shared, without priority inheritance, priority
    /// protection or lock elision. glibc trusts that word: another process
    /// that overwrote it with one of those made the next lock abort the
    /// process (assertions in `pthread_mutex_lock.c` and `tpp.c`, "The futex
    /// facility returned an unexpected error code") or execute `xabort` on
    /// a CPU without it (SIGILL). Checked before every call into glibc; a
    /// writer racing the check can still get through, and nothing can stop
    /// one that corrupts the robust-list pointers glibc writes through:
    /// everyone who may write the object must be trusted.
    #[inline]
    fn kind_is_ours(&self) -> bool {
        #[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
        {
            use std::sync::atomic::{AtomicU32, Ordering};
            const ROBUST: u32 = 16;
            const PRIO_INHERIT: u32 = 32;
            const PRIO_PROTECT: u32 = 64;
            const PSHARED: u32 = 128;
            const ELISION: u32 = 256;
            const KNOWN: u32 = 1023;
            #[allow(clippy::cast_ptr_alignment)] // 4-aligned: see SAFETY
            // SAFETY: `raw` is a pthread_mutex_t (40 bytes on 64-bit glibc,
            // 8-aligned), so the int `__kind` at `KIND` (16) is inside it and
            // 4-aligned; other processes write it only as a whole int, and an
            // atomic load of it is not a data race.
            let kind = unsafe {
                (*self
                    .raw
                    .get()
                    .cast::<u8>()
                    .add(super::inspect::glibc_mutex::KIND)
                    .cast::<AtomicU32>())
                .load(Ordering::Relaxed)
            };
            kind & (ROBUST | PSHARED) == ROBUST | PSHARED
                && kind & (PRIO_INHERIT | PRIO_PROTECT | ELISION) == 0
                && kind & !KNOWN == 0
        }
        #[cfg(not(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64")))]
        {
            // Another C library's layout is not known here.
            let _ = self;
            true
        }
    }

    /// Whether a live thread of this process holds the mutex: its lock word
    /// names a thread id that `tgkill(getpid(), tid, 0)` finds.
    #[allow(clippy::cast_ptr_alignment)] // a pthread_mutex_t is int-aligned
    #[cfg_attr(not(target_os = "linux"), allow(clippy::unused_self))]
    fn held_in_this_process(&self) -> bool {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: the lock word is an aligned 32-bit int inside the
            // mutex (LOCK_WORD_OFFSET), which other threads and processes
            // change only with atomic instructions, so an atomic load of it
            // is not a data race.
            let word = unsafe {
                &*self
                    .raw
                    .get()
                    .cast::<u8>()
                    .add(LOCK_WORD_OFFSET)
                    .cast::<AtomicU32>()
            };
            let tid = word.load(Ordering::Relaxed) & 0x3fff_ffff;
            if tid == 0 {
                return false;
            }
            // SAFETY: signal 0 only checks that the thread exists in the
            // thread group of this process.
            unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid as libc::pid_t, 0) == 0 }
        }
        #[cfg(not(target_os = "linux"))]
        {
            false
        }
    }
}

/// The mapping of a mutex object. Unmapped on drop — unless a thread of
/// this process still holds the mutex (a guard was leaked with
/// `mem::forget`): then that thread's robust list, which the C library and
/// the kernel walk, still points into the mapping, and unmapping it would
/// let them write into whatever is mapped there next. The mapping is leaked
/// instead.
pub(crate) struct MutexMapping<T: ShmSafe> {
    region: ManuallyDrop<Region<Locked<T>>>,
}

impl<T: ShmSafe> MutexMapping<T> {
    pub(crate) fn new(region: Region<Locked<T>>) -> MutexMapping<T> {
        MutexMapping {
            region: ManuallyDrop::new(region),
        }
    }

    #[inline]
    pub(crate) fn locked(&self) -> &Locked<T> {
        self.region.payload()
    }
}

impl<T: ShmSafe> Drop for MutexMapping<T> {
    fn drop(&mut self) {
        if self.locked().held_in_this_process() {
            return; // leaked: see the type's documentation
        }
        // SAFETY: `region` is dropped exactly once, here, and not used
        // after; no guard borrows it (guards borrow the handle that owns
        // this mapping, which is being dropped).
        unsafe { ManuallyDrop::drop(&mut self.region) };
    }
}

/// Proof that this thread holds a [`Locked`]'s mutex; unlocks on drop.
pub(crate) struct RawGuard<'a, T> {
    lock: &'a Locked<T>,
    recovered: bool,
}

impl<T> RawGuard<'_, T> {
    /// Whether the previous holder died holding the lock.
    pub(crate) fn recovered(&self) -> bool {
        self.recovered
    }

    pub(crate) fn get(&self) -> &T {
        // SAFETY: this thread holds the mutex while the guard lives, so no
        // thread of any process writes `data` meanwhile (all access goes
        // through a guard); the bytes are a valid T (ShmSafe, Payload).
        unsafe { &*self.lock.data.get() }
    }

    pub(crate) fn get_mut(&mut self) -> &mut T {
        // SAFETY: as in `get`, and `&mut self` rules out other references
        // from this guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for RawGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Overwritten while held: glibc would act on the garbage (abort);
        // the mutex is broken for everyone anyway.
        if !self.lock.kind_is_ours() {
            return;
        }
        // SAFETY: this thread holds the mutex (the guard exists only then;
        // guards are not Send, see crate::MutexGuard), and unlocks it once.
        unsafe { libc::pthread_mutex_unlock(self.lock.raw.get()) };
    }
}

fn check(ret: c_int) -> Result<(), Errno> {
    if ret == 0 { Ok(()) } else { Err(ret) }
}

#[cfg(target_os = "linux")]
fn set_robust(attr: *mut libc::pthread_mutexattr_t) -> Result<(), Errno> {
    // SAFETY: `attr` is an initialised attribute object (caller).
    check(unsafe { libc::pthread_mutexattr_setrobust(attr, libc::PTHREAD_MUTEX_ROBUST) })
}

#[cfg(target_os = "linux")]
unsafe fn consistent(m: *mut libc::pthread_mutex_t) -> c_int {
    // SAFETY: forwarded from the caller's contract.
    unsafe { libc::pthread_mutex_consistent(m) }
}

#[cfg(not(target_os = "linux"))]
unsafe fn consistent(_m: *mut libc::pthread_mutex_t) -> c_int {
    libc::ENOSYS
}
