//! The only module that talks to libc: thin checked calls and handle types
//! whose invariants make the `unsafe` blocks below checkable.
//!
//! Conventions: every call returns `Result<T, Errno>`; the caller attaches the
//! operation and the object when it turns the errno into an [`crate::Error`].
//! Nothing here retries on `EINTR`: [`crate::deadline`] does, in one place.

use std::ffi::{CStr, c_int};

#[cfg(all(feature = "tokio", target_os = "linux"))]
pub(crate) mod aio;
mod inline;
pub(crate) mod inspect;
// Android's C library has no POSIX message queues.
#[cfg(target_os = "linux")]
pub(crate) mod mq;
pub(crate) mod mutex;
pub(crate) mod object;
pub(crate) mod ring;
pub(crate) mod sem;
pub(crate) mod shm;

pub(crate) use inline::InlineStr;

/// An errno value.
pub(crate) type Errno = c_int;

/// The calling thread's errno.
///
/// Read straight from the C library's thread-local location: a failing
/// `sem_trywait` in a polling loop is a hot path, and std's
/// `last_os_error` is an out-of-line call there.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "netbsd",
    target_os = "openbsd",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "dragonfly",
))]
#[inline]
pub(crate) fn errno() -> Errno {
    #[cfg(any(target_os = "android", target_os = "netbsd", target_os = "openbsd"))]
    use libc::__errno as location;
    #[cfg(target_os = "linux")]
    use libc::__errno_location as location;
    #[cfg(any(
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "dragonfly"
    ))]
    use libc::__error as location;
    // SAFETY: the C library returns a valid pointer to this thread's errno.
    unsafe { *location() }
}

/// The calling thread's errno.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "netbsd",
    target_os = "openbsd",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "dragonfly",
)))]
#[cold]
pub(crate) fn errno() -> Errno {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// `-1` + errno → `Err(errno)`.
#[inline]
pub(crate) fn cvt(ret: c_int) -> Result<c_int, Errno> {
    if ret == -1 { Err(errno()) } else { Ok(ret) }
}

/// Runs `f` with `name` as a C string built on the stack (no allocation).
///
/// Names were checked by [`crate::name::check`] before they get here, so they
/// hold no NUL and fit in the buffer; a name that does not is `EINVAL`, not a
/// panic.
pub(crate) fn with_cstr<T>(
    name: &str,
    f: impl FnOnce(&CStr) -> Result<T, Errno>,
) -> Result<T, Errno> {
    with_prefixed_cstr(b"", name, f)
}

/// Runs `f` with `prefix` then `name` as one C string built on the stack, as
/// [`with_cstr`]; `prefix` is a constant of this crate without NUL bytes.
pub(crate) fn with_prefixed_cstr<T>(
    prefix: &[u8],
    name: &str,
    f: impl FnOnce(&CStr) -> Result<T, Errno>,
) -> Result<T, Errno> {
    // Left uninitialized: zeroing 512 bytes would cost more than the copy.
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 512];
    let bytes = name.as_bytes();
    let len = prefix.len() + bytes.len();
    if len >= buf.len() {
        return Err(libc::ENAMETOOLONG);
    }
    let start = buf.as_mut_ptr().cast::<u8>();
    // SAFETY: `prefix.len() + bytes.len() < buf.len()` (checked above), so
    // both copies stay in `buf`, one after the other; a slice and a local
    // array cannot overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(prefix.as_ptr(), start, prefix.len());
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), start.add(prefix.len()), bytes.len());
    }
    buf[len].write(0);
    // SAFETY: the first `len + 1` bytes of `buf` were initialized just above
    // (the prefix, the name, then the NUL), and `MaybeUninit<u8>` has `u8`'s
    // layout.
    let init = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), len + 1) };
    // A NUL inside the name makes this an error rather than a shorter name.
    let cstr = CStr::from_bytes_with_nul(init).map_err(|_| libc::EINVAL)?;
    f(cstr)
}

/// A value made once per process incarnation and never freed: `slot`'s
/// value if this process made it, else a new one from `make` (in a forked
/// child, the parent's stays as it was). Looked up without a lock, so a
/// fork at any moment leaves the child nothing locked to wait for.
#[cfg(target_os = "linux")] // for message-queue notifications
pub(crate) fn per_process<T: Sync>(
    slot: &'static std::sync::atomic::AtomicPtr<(u32, T)>,
    make: impl FnOnce() -> T,
) -> &'static T {
    use std::sync::atomic::Ordering;
    let pid = std::process::id();
    let current = slot.load(Ordering::Acquire);
    // SAFETY: `slot` only ever holds null or a pointer from `Box::leak`
    // below, never freed, so it is valid for 'static; the release/acquire
    // pair publishes its initialised contents.
    if let Some((owner, value)) = unsafe { current.as_ref() } {
        if *owner == pid {
            return value;
        }
    }
    // Never freed: leaked on purpose, as a raw pointer from the start so
    // that every reference to it derives from the one pointer published.
    let fresh = Box::into_raw(Box::new((pid, make())));
    let chosen = match slot.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => fresh,
        // Another thread of this process installed one first: use it.
        // `fresh` was never shared and stays leaked (once per race).
        Err(installed) => {
            // SAFETY: as above, a leaked pair that is never freed.
            if unsafe { (*installed).0 } == pid {
                installed
            } else {
                fresh
            }
        }
    };
    // SAFETY: `chosen` is a leaked pair, never freed nor written after its
    // initialisation, so a shared reference to it is valid for 'static.
    unsafe { &(*chosen).1 }
}

/// Runs `child` in a forked child process, which exits 0 if it returns
/// true; a child still running after 10 s is killed (`SIGALRM`). Returns
/// `Err(wait status)` unless the child exited 0. For unit tests of fork
/// behaviour: the child must only call what is safe after `fork` in a
/// multithreaded process (this crate's calls, malloc with glibc).
#[cfg(test)]
pub(crate) fn in_forked_child(child: impl FnOnce() -> bool) -> Result<(), i32> {
    // SAFETY: the child runs `child` and `_exit`s, never returning into the
    // test harness; glibc's fork handlers keep malloc usable in the child.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: alarm takes no pointers.
        unsafe { libc::alarm(10) };
        let ok = child();
        // SAFETY: _exit takes no pointers and ends only this process.
        unsafe { libc::_exit(i32::from(!ok)) };
    }
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer; `pid` is this process's child.
    let reaped = unsafe { libc::waitpid(pid, &raw mut status, 0) };
    assert_eq!(reaped, pid, "waitpid");
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else {
        Err(status)
    }
}

/// `fstat(fd)`: the one `struct stat` call of the crate.
pub(crate) fn fstat(fd: std::os::fd::BorrowedFd<'_>) -> Result<libc::stat, Errno> {
    use std::os::fd::AsRawFd;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `fd` is live for the borrow; `st` is writable and large enough
    // for a `struct stat`.
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded, so it filled `st`.
    Ok(unsafe { st.assume_init() })
}

/// `(st_dev, st_ino)` of the file open on `fd`: which object it is.
#[cfg(target_os = "linux")] // for message-queue notifications
pub(crate) fn file_id(fd: std::os::fd::BorrowedFd<'_>) -> Result<(u64, u64), Errno> {
    let st = fstat(fd)?;
    // dev_t and ino_t differ by target; both are numbers that fit u64.
    #[allow(
        clippy::useless_conversion,
        clippy::unnecessary_cast,
        clippy::cast_sign_loss,
        clippy::cast_lossless
    )]
    Ok((st.st_dev as u64, st.st_ino as u64))
}

/// A file as `/proc/<pid>/maps` names it: device major, minor, inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    major: u64,
    minor: u64,
    ino: u64,
}

impl FileId {
    /// The file with `st_dev` `dev` and inode `ino`.
    pub(crate) fn of(dev: u64, ino: u64) -> FileId {
        // dev_t, and what major() and minor() return, differ by target
        // (unsigned on Linux, int on the BSDs); the numbers are never
        // negative.
        #[allow(
            clippy::useless_conversion,
            clippy::unnecessary_cast,
            clippy::cast_sign_loss,
            clippy::cast_lossless,
            clippy::cast_possible_wrap,
            clippy::cast_possible_truncation
        )]
        let (major, minor) = {
            let dev = dev as libc::dev_t;
            (libc::major(dev) as u64, libc::minor(dev) as u64)
        };
        FileId { major, minor, ino }
    }
}

/// One line of `/proc/<pid>/maps`: `start-end perms offset major:minor inode path`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MapsLine {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) file: FileId,
}

impl MapsLine {
    /// The line's address range and file; `None` for a malformed line.
    pub(crate) fn parse(line: &str) -> Option<MapsLine> {
        let mut fields = line.split_ascii_whitespace();
        let (start, end) = fields.next()?.split_once('-')?;
        let (major, minor) = fields.nth(2)?.split_once(':')?;
        Some(MapsLine {
            start: usize::from_str_radix(start, 16).ok()?,
            end: usize::from_str_radix(end, 16).ok()?,
            file: FileId {
                major: u64::from_str_radix(major, 16).ok()?,
                minor: u64::from_str_radix(minor, 16).ok()?,
                ino: fields.next()?.parse().ok()?,
            },
        })
    }
}

/// The clocks a deadline can be expressed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clock {
    Monotonic,
    Realtime,
}

impl Clock {
    pub(crate) fn id(self) -> libc::clockid_t {
        match self {
            Clock::Monotonic => libc::CLOCK_MONOTONIC,
            Clock::Realtime => libc::CLOCK_REALTIME,
        }
    }
}

/// `clock_gettime(clock)`.
pub(crate) fn now(clock: Clock) -> libc::timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC and
    // CLOCK_REALTIME exist on every platform this crate builds for, so the
    // call cannot fail (if it did, `ts` would stay zero, which is still a
    // valid timespec).
    unsafe { libc::clock_gettime(clock.id(), &raw mut ts) };
    ts
}

/// 64 bits from the OS random source.
pub(crate) fn random_u64() -> Result<u64, Errno> {
    let mut bytes = [0u8; 8];
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mut filled = 0;
        while filled < bytes.len() {
            let rest = &mut bytes[filled..];
            // SAFETY: `rest` is a valid, writable buffer of `rest.len()` bytes.
            let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
            match n {
                -1 if errno() == libc::EINTR => {}
                -1 => return Err(errno()),
                n => filled += n as usize,
            }
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        use std::io::Read;
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
    }
    Ok(u64::from_ne_bytes(bytes))
}

/// `sysconf(name)`, or `None` when the system has no value for it.
pub(crate) fn sysconf(name: c_int) -> Option<i64> {
    // SAFETY: sysconf has no memory preconditions; an unknown `name` is
    // reported as -1, which we turn into None.
    let v = unsafe { libc::sysconf(name) };
    (v >= 0).then_some(v as i64)
}

/// The number of CPUs online — not this thread's affinity: a peer pinned to
/// another CPU is exactly the case where polling before sleeping pays.
pub(crate) fn online_cpus() -> i64 {
    static ONLINE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *ONLINE.get_or_init(|| sysconf(libc::_SC_NPROCESSORS_ONLN).unwrap_or(1))
}

/// The first and last real-time signal numbers.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn realtime_signals() -> (c_int, c_int) {
    (libc::SIGRTMIN(), libc::SIGRTMAX())
}

/// `close(fd)`, reporting its error (OwnedFd's Drop ignores it).
#[inline]
pub(crate) fn close(fd: std::os::fd::OwnedFd) -> Result<(), Errno> {
    use std::os::fd::IntoRawFd;
    let raw = fd.into_raw_fd();
    // SAFETY: `raw` came from an OwnedFd given up by `into_raw_fd`, so this
    // is its only owner and it is closed exactly once.
    cvt(unsafe { libc::close(raw) }).map(drop)
}

#[cfg(test)]
mod tests {
    use super::{with_cstr, with_prefixed_cstr};

    /// Every length the buffer takes, and the ones it refuses. Run under
    /// valgrind (see RELIABILITY.md) this also shows that nothing reads the
    /// buffer's uninitialized tail.
    #[test]
    fn with_cstr_copies_exactly_the_name() {
        for len in 0..=520 {
            let name = "n".repeat(len);
            let got = with_cstr(&name, |c| Ok(c.to_bytes().to_vec()));
            if len < 512 {
                assert_eq!(got, Ok(name.into_bytes()), "length {len}");
            } else {
                assert_eq!(got, Err(libc::ENAMETOOLONG), "length {len}");
            }
        }
        for name in ["\0", "/a\0b", "/ab\0"] {
            assert_eq!(with_cstr(name, |_| Ok(())), Err(libc::EINVAL), "{name:?}");
        }
    }

    #[test]
    fn with_prefixed_cstr_copies_the_prefix_then_the_name() {
        for len in 0..=520 {
            let name = "n".repeat(len);
            let got = with_prefixed_cstr(b"/dev/shm", &name, |c| Ok(c.to_bytes().to_vec()));
            if len + 8 < 512 {
                assert_eq!(
                    got,
                    Ok(format!("/dev/shm{name}").into_bytes()),
                    "length {len}"
                );
            } else {
                assert_eq!(got, Err(libc::ENAMETOOLONG), "length {len}");
            }
        }
        assert_eq!(
            with_prefixed_cstr(b"/dev/shm", "/a\0b", |_| Ok(())),
            Err(libc::EINVAL)
        );
    }
}
