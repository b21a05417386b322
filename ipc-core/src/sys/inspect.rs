//! Snapshots of objects for [`crate::inspect`]: their first bytes read with
//! `pread`, never through a mapping. Reading another program's file through
//! a mapping faults (`SIGBUS`) when that program shrinks the file meanwhile;
//! `pread` returns what is there. Nothing is written, locked or initialised.

use std::fs::File;
use std::os::unix::fs::FileExt;

use super::object::HEADER_LEN;

/// The first bytes of a file, as they were when read.
pub(crate) struct Snapshot {
    bytes: Vec<u8>,
}

impl Snapshot {
    /// Up to `max` bytes from the start of `file`: fewer if it is shorter,
    /// or shrinks while being read.
    pub(crate) fn read(file: &File, max: usize) -> std::io::Result<Snapshot> {
        let mut bytes = vec![0u8; max];
        let mut len = 0;
        while len < max {
            match file.read_at(&mut bytes[len..], len as u64) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        bytes.truncate(len);
        Ok(Snapshot { bytes })
    }

    /// The native-endian `u64` at `offset`, or `None` past the end or when
    /// not 8-aligned.
    pub(crate) fn load_u64(&self, offset: usize) -> Option<u64> {
        self.aligned(offset).map(u64::from_ne_bytes)
    }

    /// The native-endian `u32` at `offset`, or `None` past the end or when
    /// not 4-aligned.
    pub(crate) fn load_u32(&self, offset: usize) -> Option<u32> {
        self.aligned(offset).map(u32::from_ne_bytes)
    }

    /// The `N` bytes at `offset`, if it is a multiple of `N` and they were
    /// read.
    fn aligned<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        if offset % N != 0 {
            return None;
        }
        self.bytes
            .get(offset..offset.checked_add(N)?)?
            .try_into()
            .ok()
    }

    /// How many bytes were read.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
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
