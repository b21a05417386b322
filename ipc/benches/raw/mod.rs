//! What both benchmarks share: the raw-libc baselines they compare `ipc`
//! with (the bare calls, wrapped only to state once why each is sound), and
//! the interleaved A/B timer.
#![allow(unsafe_code, dead_code, unreachable_pub)]

use std::ffi::CString;

/// A raw `sem_t *` opened by name.
pub struct RawSem(*mut libc::sem_t);

impl RawSem {
    pub fn open(name: &str) -> RawSem {
        let c = CString::new(name).unwrap();
        // SAFETY: `c` is NUL-terminated; without O_CREAT sem_open reads no
        // variadic arguments.
        let p = unsafe { libc::sem_open(c.as_ptr(), 0) };
        assert_ne!(p, libc::SEM_FAILED, "sem_open {name}");
        RawSem(p)
    }

    #[inline]
    pub fn wait(&self) -> i32 {
        // SAFETY: `self.0` is an open semaphore until Drop.
        unsafe { libc::sem_wait(self.0) }
    }

    #[inline]
    pub fn post(&self) -> i32 {
        // SAFETY: as in `wait`.
        unsafe { libc::sem_post(self.0) }
    }

    #[inline]
    pub fn try_wait(&self) -> i32 {
        // SAFETY: as in `wait`.
        unsafe { libc::sem_trywait(self.0) }
    }

    /// A correct C poll: `sem_trywait`, and on -1 the errno that tells
    /// "taken" (EAGAIN) from an interrupted call or an error.
    #[inline]
    pub fn poll(&self) -> Option<bool> {
        loop {
            // SAFETY: as in `wait`.
            if unsafe { libc::sem_trywait(self.0) } == 0 {
                return Some(true);
            }
            // SAFETY: __errno_location returns this thread's errno.
            match unsafe { *libc::__errno_location() } {
                libc::EINTR => {}
                libc::EAGAIN => return Some(false),
                _ => return None,
            }
        }
    }

    #[inline]
    pub fn value(&self) -> i32 {
        let mut v = 0;
        // SAFETY: as in `wait`; `v` is a writable int.
        unsafe { libc::sem_getvalue(self.0, &raw mut v) };
        v
    }
}

impl Drop for RawSem {
    fn drop(&mut self) {
        // SAFETY: opened in `open`, closed once here.
        unsafe { libc::sem_close(self.0) };
    }
}

/// A raw `mqd_t` opened by name.
pub struct RawMq(libc::mqd_t);

impl RawMq {
    pub fn open(name: &str) -> RawMq {
        let c = CString::new(name).unwrap();
        // SAFETY: `c` is NUL-terminated; without O_CREAT mq_open reads no
        // variadic arguments.
        let q = unsafe { libc::mq_open(c.as_ptr(), libc::O_RDWR) };
        assert!(q >= 0, "mq_open {name}");
        RawMq(q)
    }

    #[inline]
    pub fn send(&self, msg: &[u8]) {
        // SAFETY: the queue is open until Drop; `msg` is valid for its length.
        unsafe { libc::mq_send(self.0, msg.as_ptr().cast(), msg.len(), 0) };
    }

    #[inline]
    pub fn receive(&self, buf: &mut [u8]) -> usize {
        let mut prio = 0;
        // SAFETY: the queue is open until Drop; `buf` is writable for its length.
        let n =
            unsafe { libc::mq_receive(self.0, buf.as_mut_ptr().cast(), buf.len(), &raw mut prio) };
        n as usize
    }

    /// Receives into a new Vec of `capacity` bytes, as `ipc::receive` does.
    #[inline]
    pub fn receive_vec(&self, capacity: usize) -> Vec<u8> {
        let mut v = Vec::<u8>::with_capacity(capacity);
        let mut prio = 0;
        // SAFETY: the queue is open; the Vec's spare capacity is writable
        // for `capacity` bytes, and only the `n` bytes the kernel wrote are
        // then marked initialized.
        unsafe {
            let n = libc::mq_receive(self.0, v.as_mut_ptr().cast(), capacity, &raw mut prio);
            v.set_len(usize::try_from(n).unwrap_or(0));
        }
        v
    }
}

impl Drop for RawMq {
    fn drop(&mut self) {
        // SAFETY: opened in `open`, closed once here.
        unsafe { libc::mq_close(self.0) };
    }
}

/// shm_open + ftruncate + mmap + munmap + close + shm_unlink of a 4 KiB object.
pub fn shm_cycle(name: &std::ffi::CStr) {
    // SAFETY: `name` is NUL-terminated; every result is checked; what is made
    // is undone (munmap, close, shm_unlink) before returning.
    unsafe {
        let fd = libc::shm_open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
            0o600,
        );
        assert!(fd >= 0);
        assert_eq!(libc::ftruncate(fd, 4096), 0);
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        libc::munmap(p, 4096);
        libc::close(fd);
        libc::shm_unlink(name.as_ptr());
    }
}

/// Opens the existing object `name` and closes it: what
/// `SharedMemory::open` and its drop do.
pub fn shm_open_close(name: &std::ffi::CStr) {
    // SAFETY: `name` is NUL-terminated; the result is checked, and the
    // descriptor closed before returning.
    unsafe {
        let fd = libc::shm_open(name.as_ptr(), libc::O_RDWR, 0);
        assert!(fd >= 0);
        libc::close(fd);
    }
}

/// Copies `src` into `dst` with memcpy, as `ipc::Mapping::write_at` does
/// minus its checks. `dst` must be valid for `src.len()` bytes.
#[inline]
pub fn copy_to(dst: *mut u8, src: &[u8]) {
    // SAFETY: the callers pass a pointer into a live mapping with room for
    // `src.len()` bytes; `src` is a distinct Rust buffer.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) };
}

/// Copies out of `src` into `dst`; `src` must be valid for `dst.len()` bytes.
#[inline]
pub fn copy_from(src: *const u8, dst: &mut [u8]) {
    // SAFETY: as in `copy_to`, the other way round.
    unsafe { std::ptr::copy_nonoverlapping(src, dst.as_mut_ptr(), dst.len()) };
}

/// Times `a` and `b` in alternating blocks of `block` calls, `rounds` times,
/// so both see the same machine; returns the median ns per call of each.
pub fn alternate(
    rounds: usize,
    block: u32,
    a: &mut dyn FnMut(),
    b: &mut dyn FnMut(),
) -> (f64, f64) {
    let time = |f: &mut dyn FnMut()| {
        let t = std::time::Instant::now();
        for _ in 0..block {
            f();
        }
        t.elapsed().as_secs_f64() * 1e9 / f64::from(block)
    };
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        ta.push(time(a));
        tb.push(time(b));
    }
    (median(ta), median(tb))
}

/// A robust, process-shared, error-checking pthread mutex in an anonymous
/// shared mapping, set up exactly as `ipc::Mutex` sets up its own: the raw
/// baseline for it.
pub struct RawRobustMutex(*mut libc::pthread_mutex_t);

impl RawRobustMutex {
    pub fn new() -> RawRobustMutex {
        // SAFETY: a fresh anonymous shared mapping aliases nothing; the
        // attribute and mutex calls get valid, aligned storage (mmap returns
        // page-aligned memory), initialised in order before use.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            let m = p.cast::<libc::pthread_mutex_t>();
            let mut attr = std::mem::zeroed::<libc::pthread_mutexattr_t>();
            assert_eq!(libc::pthread_mutexattr_init(&raw mut attr), 0);
            libc::pthread_mutexattr_setpshared(&raw mut attr, libc::PTHREAD_PROCESS_SHARED);
            libc::pthread_mutexattr_settype(&raw mut attr, libc::PTHREAD_MUTEX_ERRORCHECK);
            libc::pthread_mutexattr_setrobust(&raw mut attr, libc::PTHREAD_MUTEX_ROBUST);
            assert_eq!(libc::pthread_mutex_init(m, &raw const attr), 0);
            libc::pthread_mutexattr_destroy(&raw mut attr);
            RawRobustMutex(m)
        }
    }

    #[inline]
    pub fn lock_unlock(&self) {
        // SAFETY: `self.0` is an initialised mutex until Drop; this thread
        // unlocks what it locked.
        unsafe {
            libc::pthread_mutex_lock(self.0);
            libc::pthread_mutex_unlock(self.0);
        }
    }
}

impl Drop for RawRobustMutex {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once.
        unsafe { libc::munmap(self.0.cast(), 4096) };
    }
}

/// An `AtomicU64` at the start of a shared mapping of the shm object `name`
/// (raw `shm_open` + `mmap`): the baseline for typed access.
pub struct RawShmWord {
    ptr: *mut u8,
    len: usize,
}

impl RawShmWord {
    pub fn create(name: &str, len: usize) -> RawShmWord {
        let c = CString::new(name).unwrap();
        // SAFETY: `c` is NUL-terminated; the descriptor is closed after the
        // mapping is made; the mapping aliases nothing.
        unsafe {
            let fd = libc::shm_open(
                c.as_ptr(),
                libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
                0o600,
            );
            assert!(fd >= 0, "shm_open {name}");
            assert_eq!(libc::ftruncate(fd, len as libc::off_t), 0);
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            );
            libc::close(fd);
            libc::shm_unlink(c.as_ptr());
            assert_ne!(p, libc::MAP_FAILED);
            RawShmWord { ptr: p.cast(), len }
        }
    }

    #[allow(clippy::cast_ptr_alignment)] // mmap returns page-aligned memory
    pub fn word(&self) -> &std::sync::atomic::AtomicU64 {
        // SAFETY: the mapping is page-aligned, at least 8 bytes, and lives
        // as long as `self`; AtomicU64 tolerates concurrent access.
        unsafe { &*self.ptr.cast::<std::sync::atomic::AtomicU64>() }
    }
}

impl Drop for RawShmWord {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `create`, unmapped once.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// A robust pthread mutex and a counter in a named shared-memory object,
/// for processes started separately: the raw baseline of contended
/// `ipc::Mutex<u64>`.
pub struct RawNamedMutex {
    ptr: *mut u8,
}

const RAW_NAMED_LEN: usize = 4096;

impl RawNamedMutex {
    /// Creates the object and initialises the mutex as `ipc::Mutex` does.
    pub fn create(name: &str) -> RawNamedMutex {
        let m = RawNamedMutex::map(name, libc::O_CREAT | libc::O_EXCL);
        // SAFETY: the fresh object is zeroed, page-aligned and ours alone
        // until the children start; the attribute is initialised first.
        unsafe {
            let mut attr = std::mem::zeroed::<libc::pthread_mutexattr_t>();
            libc::pthread_mutexattr_init(&raw mut attr);
            libc::pthread_mutexattr_setpshared(&raw mut attr, libc::PTHREAD_PROCESS_SHARED);
            libc::pthread_mutexattr_settype(&raw mut attr, libc::PTHREAD_MUTEX_ERRORCHECK);
            libc::pthread_mutexattr_setrobust(&raw mut attr, libc::PTHREAD_MUTEX_ROBUST);
            assert_eq!(libc::pthread_mutex_init(m.mutex(), &raw const attr), 0);
            libc::pthread_mutexattr_destroy(&raw mut attr);
        }
        m
    }

    /// Opens an object made by `create`.
    pub fn open(name: &str) -> RawNamedMutex {
        RawNamedMutex::map(name, 0)
    }

    fn map(name: &str, flags: i32) -> RawNamedMutex {
        let c = CString::new(name).unwrap();
        // SAFETY: `c` is NUL-terminated; the descriptor is closed once
        // mapped; the mapping aliases nothing.
        unsafe {
            let fd = libc::shm_open(c.as_ptr(), libc::O_RDWR | flags, 0o600);
            assert!(fd >= 0, "shm_open {name}");
            if flags != 0 {
                assert_eq!(libc::ftruncate(fd, RAW_NAMED_LEN as libc::off_t), 0);
            }
            let p = libc::mmap(
                std::ptr::null_mut(),
                RAW_NAMED_LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            );
            libc::close(fd);
            assert_ne!(p, libc::MAP_FAILED);
            RawNamedMutex { ptr: p.cast() }
        }
    }

    #[allow(clippy::cast_ptr_alignment)] // page-aligned mapping
    fn mutex(&self) -> *mut libc::pthread_mutex_t {
        self.ptr.cast()
    }

    /// Locks, adds one to the counter, unlocks.
    #[inline]
    #[allow(clippy::cast_ptr_alignment)] // page-aligned mapping, offset 64
    pub fn section(&self) {
        // SAFETY: the mutex was initialised by `create`; the counter at
        // offset 64 is only touched under it.
        unsafe {
            let r = libc::pthread_mutex_lock(self.mutex());
            if r == libc::EOWNERDEAD {
                libc::pthread_mutex_consistent(self.mutex());
            }
            *self.ptr.add(64).cast::<u64>() += 1;
            libc::pthread_mutex_unlock(self.mutex());
        }
    }

    /// The counter (read when no process is in a section).
    #[allow(clippy::cast_ptr_alignment)] // page-aligned mapping, offset 64
    pub fn count(&self) -> u64 {
        // SAFETY: as in `section`; the children have exited.
        unsafe { *self.ptr.add(64).cast::<u64>() }
    }
}

impl Drop for RawNamedMutex {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, unmapped once.
        unsafe { libc::munmap(self.ptr.cast(), RAW_NAMED_LEN) };
    }
}

/// CLOCK_MONOTONIC in nanoseconds: comparable across processes.
pub fn monotonic_ns() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}
