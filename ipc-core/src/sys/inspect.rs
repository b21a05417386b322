//! Read-only views of typed objects for [`crate::inspect`]: the header's
//! words and a robust mutex's lock word, read by relaxed atomic loads from a
//! `PROT_READ` mapping. Nothing is written, locked or initialised.
//!
//! The Rust memory model allows relaxed atomic loads of at most a pointer's
//! size on read-only memory (std's "Atomic accesses to read-only memory"), so
//! the loads here are relaxed and 64-bit targets only; the acquire ordering
//! the state word needs comes from a fence after its load.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::Errno;
use super::errno;
use super::object::HEADER_LEN;

/// Whether this target can read the header (64-bit loads no larger than a
/// pointer) and a glibc robust mutex's words.
pub(crate) const SUPPORTED: bool = cfg!(target_pointer_width = "64");

/// A read-only shared mapping of an object's first `len` bytes.
pub(crate) struct View {
    ptr: NonNull<u8>,
    len: usize,
}

impl Drop for View {
    fn drop(&mut self) {
        // SAFETY: `ptr..ptr+len` is the mapping made in `map` and unmapped
        // only here; no reference into it outlives the `&self` borrows of
        // `load_*`, which end before drop.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

impl View {
    /// `mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0)`. The caller checked
    /// with `fstat` that the object has at least `len` bytes.
    pub(crate) fn map(fd: BorrowedFd<'_>, len: usize) -> Result<View, Errno> {
        if len == 0 {
            return Err(libc::EINVAL);
        }
        // SAFETY: a fresh mapping at an address of the kernel's choosing
        // cannot alias any Rust object; `fd` is live for the call.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(errno());
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or(libc::EINVAL)?;
        Ok(View { ptr, len })
    }

    /// A relaxed atomic load of the `u64` at `offset`, or `None` when it is
    /// not 8-aligned or not inside the view.
    #[allow(clippy::cast_ptr_alignment)] // checked: page-aligned base, offset % 8 == 0
    pub(crate) fn load_u64(&self, offset: usize) -> Option<u64> {
        if !SUPPORTED || offset % 8 != 0 || offset.checked_add(8)? > self.len {
            return None;
        }
        // SAFETY: `offset + 8 <= len`, so the 8 bytes lie inside the live
        // mapping (unmapped only in Drop, which cannot run during `&self`);
        // the mapping is page-aligned and `offset` a multiple of 8, so the
        // address is aligned for AtomicU64; every bit pattern is a valid
        // u64; other processes write these words only atomically or not at
        // all, so this is not a data race; and a relaxed load no larger than
        // a pointer (64-bit target, SUPPORTED) is allowed on read-only memory.
        let word = unsafe { &*self.ptr.as_ptr().add(offset).cast::<AtomicU64>() };
        Some(word.load(Ordering::Relaxed))
    }

    /// A relaxed atomic load of the `u32` at `offset`, or `None` when it is
    /// not 4-aligned or not inside the view.
    #[allow(clippy::cast_ptr_alignment)] // checked: page-aligned base, offset % 4 == 0
    pub(crate) fn load_u32(&self, offset: usize) -> Option<u32> {
        if !SUPPORTED || offset % 4 != 0 || offset.checked_add(4)? > self.len {
            return None;
        }
        // SAFETY: as in `load_u64`, for 4 bytes at a 4-aligned offset; a
        // glibc mutex's lock word is only changed with atomic instructions,
        // and its other words are plain aligned ints.
        let word = unsafe { &*self.ptr.as_ptr().add(offset).cast::<AtomicU32>() };
        Some(word.load(Ordering::Relaxed))
    }

    /// The mapped length.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// The header's words, at their offsets in [`super::object::Header`].
pub(crate) mod header {
    /// `magic`.
    pub(crate) const MAGIC: usize = 0;
    /// `state`: pid << 32 | EMPTY/INIT/READY.
    pub(crate) const STATE: usize = 8;
    /// `version_kind`: format version << 32 | kind.
    pub(crate) const VERSION_KIND: usize = 16;
    /// `layout`: the payload's fingerprint.
    pub(crate) const LAYOUT: usize = 24;
    /// `size`: the whole object's size.
    pub(crate) const SIZE: usize = 32;
    /// `extra`: kind-specific.
    pub(crate) const EXTRA: usize = 40;
}

const _: () = assert!(header::EXTRA + 8 <= HEADER_LEN);

/// The words of a glibc `pthread_mutex_t` that tell its state, on 64-bit
/// targets (`struct __pthread_mutex_s`: `__lock`, `__count`, `__owner`,
/// `__nusers`, `__kind`, each an `int`).
pub(crate) mod glibc_mutex {
    /// `__lock`: for a robust mutex, the holder's tid | the two bits below.
    pub(crate) const LOCK: usize = 0;
    /// `__owner`: the holder's tid; left as it was when the holder died.
    pub(crate) const OWNER: usize = 8;
    /// `__kind`: the type and attribute bits given to `pthread_mutex_init`.
    pub(crate) const KIND: usize = 16;
    /// The kernel sets this bit when the holder dies (robust futex).
    pub(crate) const OWNER_DIED: u32 = 0x4000_0000;
    /// Set while threads wait in the kernel.
    pub(crate) const WAITERS: u32 = 0x8000_0000;
    /// The tid bits of the lock word.
    pub(crate) const TID_MASK: u32 = 0x3fff_ffff;
}

/// The `__kind` word glibc gives a mutex made as `crate::sys::mutex::Locked`
/// makes its own (process-shared, robust, error-checking), read from one
/// initialised here; `None` where this is not a 64-bit glibc.
pub(crate) fn robust_mutex_kind() -> Option<u32> {
    #[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
    {
        use std::sync::OnceLock;
        static KIND: OnceLock<Option<u32>> = OnceLock::new();
        *KIND.get_or_init(|| {
            let mut mutex = std::mem::MaybeUninit::<libc::pthread_mutex_t>::zeroed();
            let mut attr = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
            // SAFETY: `attr` is writable storage for a pthread_mutexattr_t.
            if unsafe { libc::pthread_mutexattr_init(attr.as_mut_ptr()) } != 0 {
                return None;
            }
            let attr = attr.as_mut_ptr();
            // SAFETY: `attr` was initialised just above and is destroyed
            // only after these calls; `mutex` is zeroed local storage that
            // no one else can reach, aligned as its type requires.
            let ok = unsafe {
                libc::pthread_mutexattr_setpshared(attr, libc::PTHREAD_PROCESS_SHARED) == 0
                    && libc::pthread_mutexattr_settype(attr, libc::PTHREAD_MUTEX_ERRORCHECK) == 0
                    && libc::pthread_mutexattr_setrobust(attr, libc::PTHREAD_MUTEX_ROBUST) == 0
                    && libc::pthread_mutex_init(mutex.as_mut_ptr(), attr) == 0
            };
            // SAFETY: `attr` was initialised and is not used after this.
            unsafe { libc::pthread_mutexattr_destroy(attr) };
            if !ok {
                return None;
            }
            // SAFETY: pthread_mutex_t is 40 bytes on 64-bit glibc, so the
            // int at KIND (16) is inside it, and 4-aligned (the struct is
            // 8-aligned); `mutex` is initialised (a
            // pthread_mutex_t is a struct of integers, zeroed and then set
            // by pthread_mutex_init) and only this thread can see it.
            let kind = unsafe {
                mutex
                    .as_ptr()
                    .cast::<u8>()
                    .add(glibc_mutex::KIND)
                    .cast::<u32>()
                    .read_unaligned()
            };
            // SAFETY: the mutex was initialised above and nobody holds it.
            unsafe { libc::pthread_mutex_destroy(mutex.as_mut_ptr()) };
            Some(kind)
        })
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64")))]
    {
        None
    }
}
