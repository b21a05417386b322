//! Shared memory: `shm_open`, `ftruncate`, `fstat`, `mmap` and [`Mapping`].

use std::ffi::{CStr, c_int};
use std::fmt;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::Relaxed};

use super::{Errno, cvt, errno};
use crate::{Error, ErrorKind, Result};

/// What [`open`] takes for an object: its name where `shm_open` is called,
/// its file's path (`/dev/shm/<name>`) where the file is opened directly.
/// Made only by [`with_object`].
#[derive(Clone, Copy)]
pub(crate) struct Object<'a>(&'a CStr);

/// Whether [`open`] and [`unlink`] use `/dev/shm/<name>` themselves rather
/// than calling `shm_open` and `shm_unlink`: on Linux with glibc (2.34 and
/// later hard-code `/dev/shm`) or musl (always did). Once the name is
/// checked, their `shm_open` is `open("/dev/shm/<name>", oflag | O_NOFOLLOW
/// | O_CLOEXEC | O_LARGEFILE, mode)` with cancellation off (glibc reports
/// `EISDIR` as `EINVAL`; musl adds `O_NONBLOCK`), and so is [`open`] here:
/// the `openat` system call through `syscall()`, not a cancellation point,
/// with `O_NONBLOCK` on glibc too (see [`open`]). That saves their name
/// check and copy (done here already) and, more, a call frame above the
/// system call: on a kernel that refills the return stack buffer on every
/// system call, each frame costs a mispredicted return (~6 ns on the
/// development machine, an AMD EPYC VM: `scripts/syscall-frames.c`).
///
/// glibc before 2.34 looked for another tmpfs when `/dev/shm` was not one;
/// this crate always uses `/dev/shm`, for both calls. A `shm_open`
/// replaced through `LD_PRELOAD` is not called.
const DIRECT: bool = cfg!(all(
    target_os = "linux",
    any(target_env = "gnu", target_env = "musl")
));

/// Where glibc and musl keep shared-memory objects; names start with `/`.
const DIR: &[u8] = b"/dev/shm";

/// Runs `f` with the [`Object`] for `name`, built on the stack (see
/// [`super::with_cstr`]); `name` was checked by [`crate::name::check`].
pub(crate) fn with_object<T>(
    name: &str,
    f: impl FnOnce(Object<'_>) -> Result<T, Errno>,
) -> Result<T, Errno> {
    let prefix = if DIRECT { DIR } else { b"" };
    super::with_prefixed_cstr(prefix, name, |c| f(Object(c)))
}

/// `shm_open(name, oflag, mode)`, or what it amounts to (see [`DIRECT`]).
#[cfg(all(target_os = "linux", any(target_env = "gnu", target_env = "musl")))]
#[inline]
pub(crate) fn open(object: Object<'_>, oflag: c_int, mode: u32) -> Result<OwnedFd, Errno> {
    const _: () = assert!(DIRECT);
    let Object(path) = object;
    // O_LARGEFILE: glibc's open64 and musl's open add it, and a 64-bit
    // kernel forces it only for 64-bit processes (libc defines it as 0
    // where it is implied): without it a 32-bit process could not open an
    // object over 2 GiB (EOVERFLOW). O_NONBLOCK: musl's shm_open adds it,
    // and so does this one with glibc too: a FIFO planted at the name then
    // cannot make a read-only open wait for a writer for ever (mapping it
    // fails instead); a regular file ignores the flag.
    let oflag = oflag | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_LARGEFILE | libc::O_NONBLOCK;
    // At most 0o777 (checked by the caller): a u16, which any `long` holds.
    let mode = libc::c_long::from(u16::try_from(mode).map_err(|_| libc::EINVAL)?);
    // SAFETY: openat(dirfd, path, flags, mode), each argument widened to
    // the `long` that `syscall()` passes on: AT_FDCWD, a NUL-terminated
    // path that outlives the call (absolute, `/dev/shm/...`, made by
    // `with_object`), the flags, and a mode the caller checked to be at
    // most 0o777. It returns a new descriptor or -1 with errno set.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::c_long::from(libc::AT_FDCWD),
            path.as_ptr(),
            libc::c_long::from(oflag),
            mode,
        )
    };
    if ret < 0 {
        return Err(match errno() {
            // glibc's shm_open reports a directory as EINVAL; musl's does not.
            libc::EISDIR if cfg!(target_env = "gnu") => libc::EINVAL,
            e => e,
        });
    }
    // The kernel returns descriptors as non-negative ints.
    let fd = c_int::try_from(ret).map_err(|_| libc::EBADF)?;
    // SAFETY: openat returned a new descriptor that nothing else owns.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) })
}

/// `shm_open(name, oflag, mode)`.
///
/// Android's C library has no `shm_open`: `ENOSYS` there.
#[cfg(not(all(target_os = "linux", any(target_env = "gnu", target_env = "musl"))))]
#[inline]
pub(crate) fn open(object: Object<'_>, oflag: c_int, mode: u32) -> Result<OwnedFd, Errno> {
    let Object(name) = object;
    #[cfg(target_os = "android")]
    {
        let _ = (name, oflag, mode);
        Err(libc::ENOSYS)
    }
    #[cfg(not(target_os = "android"))]
    {
        // Apple declares shm_open variadic (`...` after oflag), so mode_t,
        // a u16 there, is promoted to unsigned int; elsewhere it is a
        // mode_t parameter.
        #[cfg(target_vendor = "apple")]
        let mode = mode as std::ffi::c_uint;
        #[cfg(not(target_vendor = "apple"))]
        let mode = mode as libc::mode_t;
        // SAFETY: `name` is a NUL-terminated string that outlives the call;
        // `mode` has the type the declaration expects (see above) and was
        // checked to be at most 0o777 by the caller.
        let fd = cvt(unsafe { libc::shm_open(name.as_ptr(), oflag, mode) })?;
        // SAFETY: shm_open returned a new descriptor that nothing else owns.
        Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) })
    }
}

/// `shm_unlink(name)`, or what it amounts to where [`open`] opens the file
/// itself (see [`DIRECT`]): `unlink("/dev/shm/<name>")`, with `EPERM`
/// reported as `EACCES` on glibc (musl reports it as it is). Both calls
/// must find the same file: `open` and `unlink` take the same [`Object`].
#[cfg(all(target_os = "linux", any(target_env = "gnu", target_env = "musl")))]
pub(crate) fn unlink(object: Object<'_>) -> Result<(), Errno> {
    let Object(path) = object;
    // SAFETY: `path` is a NUL-terminated path that outlives the call.
    match cvt(unsafe { libc::unlink(path.as_ptr()) }) {
        Ok(_) => Ok(()),
        Err(libc::EPERM) if cfg!(target_env = "gnu") => Err(libc::EACCES),
        Err(e) => Err(e),
    }
}

/// `shm_unlink(name)`; `ENOSYS` on Android, as [`open`].
#[cfg(not(all(target_os = "linux", any(target_env = "gnu", target_env = "musl"))))]
pub(crate) fn unlink(object: Object<'_>) -> Result<(), Errno> {
    let Object(name) = object;
    #[cfg(target_os = "android")]
    {
        let _ = name;
        Err(libc::ENOSYS)
    }
    #[cfg(not(target_os = "android"))]
    {
        // SAFETY: `name` is a NUL-terminated string that outlives the call.
        cvt(unsafe { libc::shm_unlink(name.as_ptr()) }).map(drop)
    }
}

/// `ftruncate(fd, len)`; `len` was checked to fit `off_t` by the caller.
pub(crate) fn truncate(fd: BorrowedFd<'_>, len: libc::off_t) -> Result<(), Errno> {
    // SAFETY: `fd` is a live descriptor for the duration of the borrow.
    cvt(unsafe { libc::ftruncate(fd.as_raw_fd(), len) }).map(drop)
}

/// `fstat(fd).st_size`.
pub(crate) fn size(fd: BorrowedFd<'_>) -> Result<u64, Errno> {
    super::fstat(fd).map(|st| u64::try_from(st.st_size).unwrap_or(0))
}

/// `fstat(fd).st_size` of a regular file; `None` for anything else (a FIFO
/// or a directory put where an object was expected).
pub(crate) fn regular_size(fd: BorrowedFd<'_>) -> Result<Option<u64>, Errno> {
    let st = super::fstat(fd)?;
    Ok(
        (st.st_mode & libc::S_IFMT == libc::S_IFREG)
            .then(|| u64::try_from(st.st_size).unwrap_or(0)),
    )
}

/// `fchmod(fd, mode)`.
pub(crate) fn chmod(fd: BorrowedFd<'_>, mode: u32) -> Result<(), Errno> {
    // SAFETY: `fd` is live for the borrow; mode is at most 0o777.
    cvt(unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) }).map(drop)
}

/// A memory mapping of a shared-memory object, unmapped on drop.
///
/// Made by [`crate::SharedMemory::map`]. It maps the whole object as it was
/// when `map` was called, and stays valid after the `SharedMemory` it came
/// from is closed or unlinked: the kernel keeps the object alive while it is
/// mapped.
///
/// Other processes may write the memory at any time, so safe access copies:
/// [`read_at`](Mapping::read_at) and [`write_at`](Mapping::write_at) are
/// bounds-checked and never hand out a reference. Byte slices are available
/// through the `unsafe` [`as_slice`](Mapping::as_slice) and
/// [`as_mut_slice`](Mapping::as_mut_slice), whose contracts say what the
/// caller must guarantee.
///
/// If another process shrinks the object below the length of this mapping,
/// the pages past the new end no longer exist: touching them (through a raw
/// pointer or a slice) raises `SIGBUS`. [`read_at`](Mapping::read_at) and
/// [`write_at`](Mapping::write_at) check the live size of the object
/// (`fstat` on a descriptor the mapping keeps) before they copy, and return
/// [`ErrorKind::InvalidInput`] for a range past the end. A shrink made by
/// another process *during* the copy itself can still fault: the kernel
/// offers no way to copy from a shared mapping that fails instead of
/// signalling. Processes that shrink shared objects must agree with their
/// readers first (a semaphore), as with any shared data.
///
/// # Examples
///
/// ```
/// use ipc::SharedMemory;
///
/// let shm = SharedMemory::options().size(4096).create_unique("/doc.mapping")?;
/// let map = shm.map()?;
/// map.write_at(100, b"hello")?;
/// let mut buf = [0u8; 5];
/// map.read_at(100, &mut buf)?;
/// assert_eq!(&buf, b"hello");
/// shm.unlink()?;
/// drop(shm);
/// map.read_at(100, &mut buf)?; // still mapped
/// # Ok::<(), ipc::Error>(())
/// ```
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
    writable: bool,
    /// A duplicate of the object's descriptor, to check its live size.
    fd: OwnedFd,
}

// SAFETY: a Mapping owns a region of process memory (no thread affinity) and
// a descriptor. Its `&self` methods either only read `ptr`/`len`/`fd`
// (immutable after construction) or copy bytes in and out of the region with
// relaxed atomic accesses (`load_relaxed`/`store_relaxed`), which cannot form
// a data race with each other, whichever threads run them at once. No safe
// method creates a reference into the region (slices need `unsafe` and a
// contract that excludes concurrent writers). So sharing or moving the
// handle between threads is race-free by Rust's rules.
unsafe impl Send for Mapping {}
// SAFETY: see the `Send` impl above.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// `mmap(NULL, len, PROT_READ [| PROT_WRITE], MAP_SHARED, fd, 0)`.
    ///
    /// On error, returns the call that failed with its errno.
    pub(crate) fn new(
        fd: BorrowedFd<'_>,
        len: usize,
        writable: bool,
    ) -> Result<Mapping, (&'static str, Errno)> {
        let dup = fd.try_clone_to_owned().map_err(|e| {
            (
                "fcntl(F_DUPFD_CLOEXEC)",
                e.raw_os_error().unwrap_or(libc::EIO),
            )
        })?;
        let prot = libc::PROT_READ | if writable { libc::PROT_WRITE } else { 0 };
        // SAFETY: a fresh shared mapping at an address of the kernel's
        // choosing cannot alias any Rust object; `fd` is live for the call,
        // and `len` is non-zero (checked by the caller).
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(("mmap", errno()));
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or(("mmap", libc::EINVAL))?;
        Ok(Mapping {
            ptr,
            len,
            writable,
            fd: dup,
        })
    }

    /// The length of the mapping in bytes: the object's size when it was mapped.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::SharedMemory;
    ///
    /// let shm = SharedMemory::options().size(64).create_unique("/doc.len")?;
    /// let map = shm.map()?;
    /// assert_eq!(map.len(), 64);
    /// assert!(!map.is_empty());
    /// shm.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty; never true, as empty objects cannot be mapped.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the mapping can be written (the handle was not read-only).
    #[must_use]
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// The first byte of the mapping. Valid for `len()` bytes while the
    /// mapping lives, as long as no process shrinks the object.
    #[must_use]
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    /// The first byte of the mapping, for writing; never null. Writing
    /// through it faults (`SIGSEGV`) if the mapping is read-only.
    #[must_use]
    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Copies `buf.len()` bytes starting at `offset` out of the mapping.
    ///
    /// The copy is made of relaxed atomic loads (aligned words, bytes at the
    /// edges), so another thread or process writing the same bytes at the
    /// same time is not a data race; the bytes may still be torn (a mix of
    /// old and new) across words. Use a semaphore to agree on who writes when.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] if `offset + buf.len()` is past the end of
    /// the mapping or of the object (shrunk by another process since it was
    /// mapped); nothing is copied then. Other OS errors of the size check
    /// (`fstat`) are reported as [`ErrorKind::Other`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::SharedMemory;
    ///
    /// let shm = SharedMemory::options().size(64).create_unique("/doc.read-at")?;
    /// let map = shm.map()?;
    /// map.write_at(10, b"abc")?;
    /// let mut buf = [0u8; 3];
    /// map.read_at(10, &mut buf)?;
    /// assert_eq!(&buf, b"abc");
    /// assert!(map.read_at(62, &mut buf).is_err()); // past the end: nothing copied
    /// shm.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        self.check_range("read", offset, buf.len())?;
        // SAFETY: `offset + buf.len() <= self.len` and within the object's
        // live size (check_range), so the source range is mapped, readable
        // memory for the whole call (only Drop unmaps it).
        unsafe { load_relaxed(self.ptr.as_ptr().add(offset), buf) };
        Ok(())
    }

    /// Copies `data` into the mapping starting at `offset`, with relaxed
    /// atomic stores (aligned words, bytes at the edges): concurrent
    /// `read_at`/`write_at` calls on the same bytes, from any thread, are
    /// not a data race, though a reader may see a mix of old and new words.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::PermissionDenied`] if the mapping is read-only;
    /// [`ErrorKind::InvalidInput`] if `offset + data.len()` is past the end
    /// of the mapping or of the object. Nothing is copied then. Other OS
    /// errors of the size check are reported as [`ErrorKind::Other`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::SharedMemory;
    ///
    /// let shm = SharedMemory::options().size(64).create_unique("/doc.write-at")?;
    /// let map = shm.map()?;
    /// map.write_at(60, b"four")?;
    /// assert_eq!(map.write_at(61, b"four").unwrap_err().kind(), ipc::ErrorKind::InvalidInput);
    /// shm.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn write_at(&self, offset: usize, data: &[u8]) -> Result<()> {
        if !self.writable {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                "write_at",
                None,
                "the mapping is read-only (the shared memory was opened read-only)",
            ));
        }
        self.check_range("write", offset, data.len())?;
        // SAFETY: the destination range is mapped, writable memory
        // (check_range and `self.writable`) for the whole call.
        unsafe { store_relaxed(self.ptr.as_ptr().add(offset), data) };
        Ok(())
    }

    fn check_range(&self, what: &'static str, offset: usize, len: usize) -> Result<()> {
        let op = if what == "read" {
            "read_at"
        } else {
            "write_at"
        };
        let end = offset.checked_add(len);
        if end.is_none_or(|end| end > self.len) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                op,
                None,
                format!(
                    "{what} of {len} bytes at offset {offset} is out of bounds of the {}-byte mapping",
                    self.len
                ),
            ));
        }
        let end = offset + len;
        let live = size(self.fd_borrow()).map_err(|e| Error::os(op, None, e))?;
        if (end as u64) > live {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                op,
                None,
                format!(
                    "{what} of {len} bytes at offset {offset} is past the end of the object, \
                     which was shrunk to {live} bytes after it was mapped"
                ),
            ));
        }
        Ok(())
    }

    fn fd_borrow(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }

    /// A byte slice over the whole mapping.
    ///
    /// # Safety
    ///
    /// While the slice lives, no one — no thread of this process through
    /// this mapping or another, and no other process — may write the
    /// memory, and no process may shrink the object below `len()` bytes.
    /// Writes would break the promise that `&[u8]` does not change; a
    /// shrink would make reads raise `SIGBUS`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::SharedMemory;
    ///
    /// let shm = SharedMemory::options().size(64).create_unique("/doc.as-slice")?;
    /// let map = shm.map()?;
    /// map.write_at(0, b"hi")?;
    /// // SAFETY: no other thread or process writes this object meanwhile.
    /// let bytes = unsafe { map.as_slice() };
    /// assert_eq!(&bytes[..2], b"hi");
    /// shm.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[must_use]
    pub unsafe fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` is valid for `len` bytes of mapped memory while
        // `self` lives (the mapping is only unmapped in Drop); the caller
        // guarantees no concurrent writer and no shrink.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// A mutable byte slice over the whole mapping.
    ///
    /// # Safety
    ///
    /// While the slice lives, nothing else — no other thread or process,
    /// through any mapping of the object — may read or write the memory,
    /// and no process may shrink the object below `len()` bytes. The mapping
    /// must be writable ([`is_writable`](Mapping::is_writable)): writing a
    /// read-only mapping raises `SIGSEGV`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::SharedMemory;
    ///
    /// let shm = SharedMemory::options().size(64).create_unique("/doc.as-mut-slice")?;
    /// let mut map = shm.map()?;
    /// // SAFETY: nothing else reads or writes this object meanwhile, and it is writable.
    /// unsafe { map.as_mut_slice()[..2].copy_from_slice(b"ok") };
    /// let mut buf = [0u8; 2];
    /// map.read_at(0, &mut buf)?;
    /// assert_eq!(&buf, b"ok");
    /// shm.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[must_use]
    pub unsafe fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` is valid for `len` bytes while `self` lives, `&mut
        // self` rules out other slices from this handle, and the caller
        // guarantees exclusive access across processes and writability.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// `msync(MS_SYNC)` — waits until changes reach the object's backing store.
    ///
    /// Other processes see writes at once without it (the memory is shared);
    /// it matters only for objects backed by files on disk.
    ///
    /// # Errors
    ///
    /// OS errors are reported as [`ErrorKind::Other`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::SharedMemory;
    ///
    /// let shm = SharedMemory::options().size(64).create_unique("/doc.flush")?;
    /// let map = shm.map()?;
    /// map.write_at(0, b"durable")?;
    /// map.flush()?;
    /// shm.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "msync")]
    pub fn flush(&self) -> Result<()> {
        // SAFETY: `ptr..ptr+len` is exactly the region mmap returned, still
        // mapped (only Drop unmaps it), and page-aligned as msync requires.
        cvt(unsafe { libc::msync(self.ptr.as_ptr().cast(), self.len, libc::MS_SYNC) })
            .map(drop)
            .map_err(|e| Error::os("msync", None, e))
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr..ptr+len` is the region mmap returned, not unmapped
        // before (this is the only munmap); no reference into it can outlive
        // `self`, since slices borrow `self`.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mapping")
            .field("ptr", &self.ptr)
            .field("len", &self.len)
            .field("writable", &self.writable)
            .finish_non_exhaustive()
    }
}

/// The word size of the atomic copies below.
const WORD: usize = size_of::<usize>();

/// Copies `dst.len()` bytes out of shared memory at `src` with relaxed atomic
/// loads: bytes up to the first word boundary, then aligned `usize` words,
/// then the remaining bytes.
///
/// Atomic accesses never race by the rules of Rust's memory model, whatever
/// other threads (through `read_at`/`write_at`, which copy the same way) or
/// other processes do meanwhile; a plain `copy_nonoverlapping` would be a
/// data race, which is undefined behaviour. Relaxed loads of at most a word
/// compile to ordinary loads, so the price is only the loss of memcpy's
/// vector instructions.
///
/// # Safety
///
/// `src` must be valid for reads of `dst.len()` bytes of mapped memory for
/// the whole call. It may be read-only memory: relaxed atomic loads no wider
/// than a pointer are allowed there (see "Atomic accesses to read-only
/// memory" in `std::sync::atomic`).
pub(crate) unsafe fn load_relaxed(src: *const u8, dst: &mut [u8]) {
    let src = src.cast_mut();
    let head = src.align_offset(WORD).min(dst.len());
    let (head_dst, rest) = dst.split_at_mut(head);
    for (i, d) in head_dst.iter_mut().enumerate() {
        // SAFETY: `i < head <= dst.len()`, so `src + i` is in the range the
        // caller vouches for; bytes are always aligned.
        *d = unsafe { AtomicU8::from_ptr(src.add(i)) }.load(Relaxed);
    }
    // SAFETY: `head <= dst.len()`, inside the caller's range.
    let src = unsafe { src.add(head) };
    let mut words = rest.chunks_exact_mut(WORD);
    let mut at = 0;
    for d in &mut words {
        // SAFETY: `src` is word-aligned (`align_offset` above) and so is
        // `src + at` (`at` is a multiple of WORD); the word lies inside the
        // caller's range because `d`, its mirror in `dst`, does.
        let w = unsafe { AtomicUsize::from_ptr(src.add(at).cast()) }.load(Relaxed);
        d.copy_from_slice(&w.to_ne_bytes());
        at += WORD;
    }
    for (i, d) in words.into_remainder().iter_mut().enumerate() {
        // SAFETY: as for the head: inside the caller's range.
        *d = unsafe { AtomicU8::from_ptr(src.add(at + i)) }.load(Relaxed);
    }
}

/// Copies `data` into shared memory at `dst` with relaxed atomic stores,
/// split as in [`load_relaxed`].
///
/// # Safety
///
/// `dst` must be valid for writes of `data.len()` bytes of mapped, writable
/// memory for the whole call, and must not overlap `data` (a Rust slice
/// into a mapping needs `unsafe` code whose contract forbids this).
pub(crate) unsafe fn store_relaxed(dst: *mut u8, data: &[u8]) {
    let head = dst.align_offset(WORD).min(data.len());
    let (head_src, rest) = data.split_at(head);
    for (i, &b) in head_src.iter().enumerate() {
        // SAFETY: `i < head <= data.len()`, inside the caller's range.
        unsafe { AtomicU8::from_ptr(dst.add(i)) }.store(b, Relaxed);
    }
    // SAFETY: `head <= data.len()`, inside the caller's range.
    let dst = unsafe { dst.add(head) };
    let mut words = rest.chunks_exact(WORD);
    let mut at = 0;
    for s in &mut words {
        let mut w = [0u8; WORD];
        w.copy_from_slice(s);
        // SAFETY: `dst + at` is word-aligned and inside the caller's range,
        // as in `load_relaxed`.
        unsafe { AtomicUsize::from_ptr(dst.add(at).cast()) }
            .store(usize::from_ne_bytes(w), Relaxed);
        at += WORD;
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        // SAFETY: inside the caller's range, as for the head.
        unsafe { AtomicU8::from_ptr(dst.add(at + i)) }.store(b, Relaxed);
    }
}
