//! Typed objects in shared memory: the header, the race-free creation
//! protocol, and the mapping that hands out `&P`.
//!
//! Layout of every object made by [`crate::Shared`], [`crate::Mutex`] and
//! [`crate::Channel`]: a 64-byte [`Header`] of atomics (so that a reference to
//! it is sound while other processes write it), padding up to the payload's
//! alignment, then the payload `P`.
//!
//! The state word (`Header::state`) drives creation. Its low 32 bits are
//! [`EMPTY`], [`INIT`] or [`READY`]; its high 32 bits the pid of the process
//! that initialises (or initialised) the object, for diagnostics only.
//!
//! 1. An opener allowed to create that finds the object empty grows it to
//!    its size (`posix_fallocate` where it exists, which never shrinks, so
//!    two racing openers cannot cut each other's mapping short).
//! 2. It takes the *init lock*, `flock(LOCK_EX)` on its descriptor: a lock
//!    the kernel releases when the holder's descriptors close, which a dying
//!    process does before it is even a zombie, whatever its pid namespace.
//! 3. Holding it, it re-reads the state: `READY` means someone else won;
//!    `EMPTY` is a fresh object; `INIT` means the last initialiser died
//!    holding the lock. In both cases it writes `INIT | pid`, zeroes the
//!    payload, writes the header, runs the caller's `init`, and publishes
//!    with a release store of `READY`.
//! 4. An opener that finds `READY` checks the header (magic, format version,
//!    kind, layout fingerprint, size) after an acquire load, and maps the
//!    payload only if all match. A plain `open` (no create) never
//!    initialises: it waits, bounded, for someone who may.

use std::marker::PhantomData;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{Errno, cvt, errno};
use crate::ShmSafe;

/// The first eight bytes of every typed object: `"ipc-rs"`, then 0, then 1.
pub(crate) const MAGIC: u64 = u64::from_le_bytes(*b"ipc-rs\0\x01");
/// The format of the header and of the creation protocol.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// Nobody has claimed the object yet (all zeros: a fresh object).
const EMPTY: u64 = 0;
/// A process (pid in the high bits) is initialising it.
const INIT: u64 = 1;
/// Initialised and published.
const READY: u64 = 2;

/// How long an opener waits for a live initialiser before it gives up.
pub(crate) const INIT_WAIT: Duration = Duration::from_secs(10);

/// What kind of typed object a header describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum ObjectKind {
    Shared = 1,
    Mutex = 2,
    Channel = 3,
}

impl ObjectKind {
    pub(crate) fn from_u32(v: u32) -> Option<ObjectKind> {
        match v {
            1 => Some(ObjectKind::Shared),
            2 => Some(ObjectKind::Mutex),
            3 => Some(ObjectKind::Channel),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Shared => "Shared",
            ObjectKind::Mutex => "Mutex",
            ObjectKind::Channel => "Channel",
        }
    }
}

/// The header at the start of every typed object: atomics only, so `&Header`
/// is sound while other processes write it.
#[repr(C, align(64))]
pub(crate) struct Header {
    magic: AtomicU64,
    state: AtomicU64,
    /// `FORMAT_VERSION << 32 | kind`.
    version_kind: AtomicU64,
    layout: AtomicU64,
    /// The whole object's size in bytes.
    size: AtomicU64,
    /// Kind-specific: a channel's capacity.
    pub(crate) extra: AtomicU64,
    _reserved: [AtomicU64; 2],
}

/// The size of the header in bytes.
pub(crate) const HEADER_LEN: usize = size_of::<Header>();

/// A snapshot of a header, read field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeaderView {
    pub(crate) magic: u64,
    pub(crate) state: u64,
    pub(crate) version: u32,
    pub(crate) kind: u32,
    pub(crate) layout: u64,
    pub(crate) size: u64,
    pub(crate) extra: u64,
}

impl Header {
    pub(crate) fn view(&self) -> HeaderView {
        let state = self.state.load(Ordering::Acquire);
        let vk = self.version_kind.load(Ordering::Relaxed);
        HeaderView {
            magic: self.magic.load(Ordering::Relaxed),
            state,
            version: (vk >> 32) as u32,
            kind: vk as u32,
            layout: self.layout.load(Ordering::Relaxed),
            size: self.size.load(Ordering::Relaxed),
            extra: self.extra.load(Ordering::Relaxed),
        }
    }
}

/// What a typed object must look like.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub(crate) kind: ObjectKind,
    pub(crate) layout: u64,
    /// The offset of the payload: the header, padded to the payload's alignment.
    pub(crate) offset: usize,
    /// The whole object's size in bytes.
    pub(crate) len: usize,
    /// Kind-specific header word (a channel's capacity), checked on open.
    pub(crate) extra: u64,
}

impl Spec {
    /// The spec for a payload `P` of `payload_len` bytes (more than
    /// `size_of::<P>()` for a channel's slots), or `None` when it cannot be
    /// mapped: larger than `isize::MAX`, or aligned above 4096 bytes.
    pub(crate) fn new<P: Payload>(
        kind: ObjectKind,
        layout: u64,
        payload_len: usize,
        extra: u64,
    ) -> Option<Spec> {
        // mmap aligns to the page, at least 4096 bytes: a payload that needs
        // more could not be placed at the same offset in every process.
        if align_of::<P>() > 4096 {
            return None;
        }
        let offset = HEADER_LEN.next_multiple_of(align_of::<P>());
        let len = offset.checked_add(payload_len.max(size_of::<P>()))?;
        // mmap and off_t take at most isize::MAX.
        isize::try_from(len).ok()?;
        Some(Spec {
            kind,
            layout,
            offset,
            len,
            extra,
        })
    }
}

/// A type that may be referenced in shared memory once initialised.
///
/// # Safety
///
/// Every bit pattern, zeros included, is a valid `Self`; it holds nothing
/// that is meaningful in one process only; any mutation through `&Self` goes
/// through atomics or through `UnsafeCell`s guarded by a process-shared lock.
pub(crate) unsafe trait Payload: Sync + 'static {}

// SAFETY: the ShmSafe contract is this one for a type without interior
// mutability other than atomics (ShmSafe types are Sync and hold no
// UnsafeCell outside atomics, since only primitives, atomics, arrays and
// structs of them implement it).
unsafe impl<T: ShmSafe> Payload for T {}

/// The initialiser of a payload: the zeroed value, and its first byte for
/// payloads longer than `P`.
pub(crate) type Init<'a, P> = &'a mut dyn FnMut(&mut P, NonNull<u8>) -> Result<(), Errno>;

/// Why establishing an object failed.
#[derive(Debug)]
pub(crate) enum Fail {
    /// A system call failed.
    Os(&'static str, Errno),
    /// The object exists but is not the expected one; the header or size
    /// found, for the message.
    Mismatch(Found),
    /// A live process has been initialising it for longer than [`INIT_WAIT`].
    StillInitialising(u32),
    /// A plain open found it uninitialised for [`INIT_WAIT`], and nobody
    /// initialising it.
    NotInitialised,
}

/// What was found in an object that does not match.
#[derive(Debug)]
pub(crate) enum Found {
    /// The object's size, too small for the header.
    TooSmall(u64),
    /// No typed object: the first eight bytes.
    NoMagic(u64),
    /// A typed object with another header (or size).
    Other(HeaderView, u64),
    /// A header whose state word is not one of ours.
    BadState(u64),
    /// A typed object still being initialised (by this pid), of another size.
    Initialising(u32, u64),
    /// Not a regular file (a FIFO or a directory put under the name).
    NotRegular,
}

/// A shared mapping of a typed object whose header has been checked, giving
/// `&P`. Unmapped on drop.
pub(crate) struct Region<P> {
    ptr: NonNull<u8>,
    len: usize,
    offset: usize,
    _payload: PhantomData<P>,
}

// SAFETY: the region is process memory with no thread affinity; `&Region`
// hands out `&Header` (atomics) and `&P` with `P: Sync` (Payload), so it may
// be shared and moved between threads.
unsafe impl<P: Payload> Send for Region<P> {}
// SAFETY: as above.
unsafe impl<P: Payload> Sync for Region<P> {}

impl<P> Drop for Region<P> {
    fn drop(&mut self) {
        // SAFETY: `ptr..ptr+len` is the region mmap returned in `map`, not
        // unmapped before (this is the only munmap); references into it
        // borrow `self`, so none outlives it.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

impl<P: Payload> Region<P> {
    /// `mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED)` of `fd`; `len` is at
    /// least `HEADER_LEN` and no more than the object's size (checked by
    /// the caller, re-checked here for the header).
    fn map(fd: BorrowedFd<'_>, len: usize, offset: usize) -> Result<Region<P>, Errno> {
        if len < HEADER_LEN || len == 0 {
            return Err(libc::EINVAL);
        }
        // SAFETY: a fresh shared mapping at an address of the kernel's
        // choosing cannot alias any Rust object; `fd` is live for the call.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(errno());
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or(libc::EINVAL)?;
        Ok(Region {
            ptr,
            len,
            offset,
            _payload: PhantomData,
        })
    }

    /// The header.
    #[allow(clippy::cast_ptr_alignment)] // mmap returns page-aligned memory
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: the mapping is at least HEADER_LEN bytes (checked in `map`)
        // and page-aligned, so aligned for Header; Header is all atomics, so
        // other processes writing it concurrently is not a data race, and
        // every bit pattern is a valid Header.
        unsafe { &*self.ptr.as_ptr().cast::<Header>() }
    }

    /// The payload.
    #[inline]
    pub(crate) fn payload(&self) -> &P {
        // SAFETY: a Region<P> with `offset > 0` is only returned by
        // `establish`, after the object was checked to be `len` bytes with
        // the payload at `offset` (aligned for P by Spec::new, the mapping
        // being page-aligned) and published READY (acquire load), so the
        // bytes were initialised by the initialiser; Payload guarantees every
        // bit pattern is a valid P and that shared mutation goes through
        // atomics or lock-guarded cells. No `&mut P` exists after `establish`.
        unsafe { &*self.ptr.as_ptr().add(self.offset).cast::<P>() }
    }

    /// The payload's length in bytes: the rest of the mapping.
    pub(crate) fn payload_len(&self) -> usize {
        self.len - self.offset
    }

    /// The payload's first byte, for payloads longer than `size_of::<P>()`.
    pub(crate) fn payload_ptr(&self) -> NonNull<u8> {
        // SAFETY: `offset < len` (Spec::new), so the pointer stays inside
        // the mapping and is not null.
        unsafe { self.ptr.add(self.offset) }
    }
}

/// Opens the typed object on `fd` as `spec` says: grows a fresh object and
/// initialises it with `init` (only when `may_init`: the caller asked to
/// create), or checks what is there.
///
/// `init` gets the payload zeroed and exclusive; it may panic, which puts
/// the object back to `EMPTY` for the next opener.
pub(crate) fn establish<P: Payload>(
    fd: BorrowedFd<'_>,
    spec: &Spec,
    may_init: bool,
    init: Init<'_, P>,
) -> Result<Region<P>, Fail> {
    let mut wait = Wait::new();
    // The size: grown by a creator, waited for by a plain opener.
    let size = loop {
        let Some(size) = super::shm::regular_size(fd).map_err(|e| Fail::Os("fstat", e))? else {
            return Err(Fail::Mismatch(Found::NotRegular));
        };
        if size != 0 {
            break size;
        }
        if may_init {
            grow(fd, spec.len).map_err(|e| Fail::Os("posix_fallocate", e))?;
        } else {
            wait.pause().map_err(|()| Fail::NotInitialised)?;
        }
    };
    if size < HEADER_LEN as u64 {
        return Err(Fail::Mismatch(Found::TooSmall(size)));
    }
    if size != spec.len as u64 {
        // Map the header alone to say what is there.
        let region = Region::<P>::map(fd, HEADER_LEN, 0).map_err(|e| Fail::Os("mmap", e))?;
        let view = region.header().view();
        return Err(Fail::Mismatch(if view.magic == MAGIC {
            Found::Other(view, size)
        } else if view.magic == 0 && view.state & 0xffff_ffff == INIT {
            Found::Initialising((view.state >> 32) as u32, size)
        } else {
            Found::NoMagic(view.magic)
        }));
    }
    let region = Region::<P>::map(fd, spec.len, spec.offset).map_err(|e| Fail::Os("mmap", e))?;
    loop {
        let header = region.header();
        let state = header.state.load(Ordering::Acquire);
        let magic = header.magic.load(Ordering::Relaxed);
        match state & 0xffff_ffff {
            READY => return check(region, spec, size),
            EMPTY if state == EMPTY && magic == 0 => {}
            // Magic is 0 while initialising, MAGIC if the initialiser died
            // between writing it and publishing.
            INIT if magic == 0 || magic == MAGIC => {}
            EMPTY | INIT => return Err(Fail::Mismatch(Found::NoMagic(magic))),
            _ => return Err(Fail::Mismatch(Found::BadState(state))),
        }
        if !may_init {
            wait.pause().map_err(|()| match state & 0xffff_ffff {
                INIT => Fail::StillInitialising((state >> 32) as u32),
                _ => Fail::NotInitialised,
            })?;
            continue;
        }
        let Some(_lock) = InitLock::try_take(fd).map_err(|e| Fail::Os("flock", e))? else {
            // A live process is initialising it.
            wait.pause()
                .map_err(|()| Fail::StillInitialising((state >> 32) as u32))?;
            continue;
        };
        // The lock is ours: nobody else initialises now, and whoever held
        // it last either published READY or died.
        if header.state.load(Ordering::Acquire) & 0xffff_ffff == READY {
            continue;
        }
        let me = u64::from(std::process::id());
        header.state.store(me << 32 | INIT, Ordering::Relaxed);
        initialise(&region, spec, init).map_err(|e| Fail::Os("init", e))?;
        header.state.store(me << 32 | READY, Ordering::Release);
        return check(region, spec, size);
    }
}

/// A bounded wait with a growing pause: 50 µs up to 5 ms, [`INIT_WAIT`] in all.
struct Wait {
    started: Instant,
    pause: Duration,
}

impl Wait {
    fn new() -> Wait {
        Wait {
            started: Instant::now(),
            pause: Duration::from_micros(50),
        }
    }

    /// Sleeps a little, or `Err` once the whole wait is used up.
    fn pause(&mut self) -> Result<(), ()> {
        if self.started.elapsed() >= INIT_WAIT {
            return Err(());
        }
        std::thread::sleep(self.pause);
        self.pause = (self.pause * 2).min(Duration::from_millis(5));
        Ok(())
    }
}

/// `flock(LOCK_EX)` on an object's descriptor while this process initialises
/// it; released on drop, and by the kernel if the process dies.
struct InitLock<'a>(BorrowedFd<'a>);

impl<'a> InitLock<'a> {
    /// The lock, or `None` if another descriptor holds it.
    fn try_take(fd: BorrowedFd<'a>) -> Result<Option<InitLock<'a>>, Errno> {
        loop {
            // SAFETY: `fd` is live for the borrow; flock has no memory
            // preconditions.
            match cvt(unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }) {
                Ok(_) => return Ok(Some(InitLock(fd))),
                Err(libc::EWOULDBLOCK) => return Ok(None),
                Err(libc::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for InitLock<'_> {
    fn drop(&mut self) {
        // SAFETY: the descriptor is live for the borrow; unlocking a lock we
        // hold has no other effect.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// Zeroes the payload, writes the header and runs `init`, holding the init
/// lock. A panic in `init` puts the state back to `EMPTY`.
fn initialise<P: Payload>(region: &Region<P>, spec: &Spec, init: Init<'_, P>) -> Result<(), Errno> {
    struct Unclaim<'a>(&'a AtomicU64, bool);
    impl Drop for Unclaim<'_> {
        fn drop(&mut self) {
            if !self.1 {
                self.0.store(EMPTY, Ordering::Release);
            }
        }
    }
    let header = region.header();
    let mut unclaim = Unclaim(&header.state, false);
    header.magic.store(0, Ordering::Relaxed);
    let payload = region.payload_ptr();
    // SAFETY: `payload..payload + (len - offset)` lies inside the mapping
    // (Spec::new); this process holds the init lock (`establish`), so no
    // other process initialises, and no process reads the payload before
    // READY, so nothing else accesses these bytes now.
    unsafe { std::ptr::write_bytes(payload.as_ptr(), 0, region.len - region.offset) };
    // SAFETY: as above, the payload is exclusively ours until READY is
    // published; it is aligned for P (Spec::new) and all zeros, a valid P
    // (Payload). The reference ends before this function returns.
    let value = unsafe { &mut *payload.as_ptr().cast::<P>() };
    init(value, payload)?;
    header.version_kind.store(
        u64::from(FORMAT_VERSION) << 32 | spec.kind as u64,
        Ordering::Relaxed,
    );
    header.layout.store(spec.layout, Ordering::Relaxed);
    header.size.store(spec.len as u64, Ordering::Relaxed);
    header.extra.store(spec.extra, Ordering::Relaxed);
    header.magic.store(MAGIC, Ordering::Relaxed);
    unclaim.1 = true;
    Ok(())
}

/// Checks a published header against `spec`.
fn check<P: Payload>(region: Region<P>, spec: &Spec, size: u64) -> Result<Region<P>, Fail> {
    let view = region.header().view();
    let expected = HeaderView {
        magic: MAGIC,
        state: view.state,
        version: FORMAT_VERSION,
        kind: spec.kind as u32,
        layout: spec.layout,
        size: spec.len as u64,
        extra: spec.extra,
    };
    if view != expected {
        return Err(Fail::Mismatch(if view.magic == MAGIC {
            Found::Other(view, size)
        } else {
            Found::NoMagic(view.magic)
        }));
    }
    Ok(region)
}

/// Grows an empty object to `len` bytes of zeros without ever shrinking it.
fn grow(fd: BorrowedFd<'_>, len: usize) -> Result<(), Errno> {
    let len = libc::off_t::try_from(len).map_err(|_| libc::EFBIG)?;
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    {
        loop {
            // SAFETY: `fd` is live for the borrow; posix_fallocate has no
            // memory preconditions and returns its error instead of errno.
            match unsafe { libc::posix_fallocate(fd.as_raw_fd(), 0, len) } {
                0 => return Ok(()),
                libc::EINTR => {}
                libc::EOPNOTSUPP | libc::EINVAL => break,
                e => return Err(e),
            }
        }
    }
    // No fallocate for this object: only grow a still-empty object, so a
    // racing opener's ftruncate to another size is the only way to shrink.
    if super::shm::size(fd)? == 0 {
        super::shm::truncate(fd, len)?;
    }
    Ok(())
}

/// Whether the process with this pid has ended, for the channel's slot
/// claims: no process has it (`kill(pid, 0)` fails with `ESRCH`), or, on
/// Linux, it is a zombie its parent has not reaped yet — it has exited,
/// its mappings are gone, and it will never finish a claim. A pid reused by
/// an unrelated process looks alive; pids compare only within one pid
/// namespace.
pub(crate) fn pid_is_dead(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    match cvt(unsafe { libc::kill(pid, 0) }) {
        Err(libc::ESRCH) => true,
        _ => is_zombie(pid),
    }
}

/// Whether `/proc/<pid>/stat` shows the process as a zombie (`Z`) or dead
/// (`X`). False when it cannot be read, or when this `/proc` belongs to
/// another pid namespace (its `self` is not our pid): there `<pid>` would
/// name another process, and calling a live claimant dead would let two
/// processes write one slot.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn is_zombie(pid: libc::pid_t) -> bool {
    let ours = std::fs::read_link("/proc/self")
        .is_ok_and(|own| own.as_os_str() == std::process::id().to_string().as_str());
    if !ours {
        return false;
    }
    let Ok(stat) = std::fs::read(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "pid (comm) S ...": comm may hold spaces and parentheses, so the state
    // is the first field after the last ')'.
    let Some(end) = stat.iter().rposition(|&b| b == b')') else {
        return false;
    };
    matches!(
        stat[end + 1..].iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'Z' | b'X')
    )
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn is_zombie(_pid: libc::pid_t) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::pid_is_dead;

    /// A child that has exited but is not reaped yet is dead for the
    /// channel's recovery (it will never finish a claim); a live process
    /// is not.
    #[test]
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn zombies_are_dead() {
        assert!(!pid_is_dead(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let started = std::time::Instant::now();
        while !pid_is_dead(pid) {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "the exited child never looked dead"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        child.wait().unwrap();
    }
}
