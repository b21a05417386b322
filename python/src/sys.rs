//! The one system call this module makes itself: `fstat` for
//! `SharedMemory.size`.
//!
//! glibc 2.33 and later implement `fstat()` as `newfstatat(fd, "",
//! AT_EMPTY_PATH)`, which the kernel serves through a path lookup; the plain
//! `fstat` system call skips it and is ~60 ns faster per call on the
//! development machine (posix_ipc's wheels, built against an older glibc,
//! make that call). `size` is read by every `mmap.mmap(shm.fd, shm.size)`.

use std::os::fd::BorrowedFd;

/// The size of the object behind `fd`, or the errno.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[allow(unsafe_code)]
pub(crate) fn size(fd: BorrowedFd<'_>) -> Result<u64, i32> {
    use std::os::fd::AsRawFd;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `fd` is borrowed from a live descriptor (an open
    // `ipc::SharedMemory`, whose lock the caller holds), and `st` is valid
    // for writes of a `struct stat`, the x86_64 kernel's `struct stat` being
    // the one `libc::stat` describes.
    let ret = unsafe { libc::syscall(libc::SYS_fstat, fd.as_raw_fd(), st.as_mut_ptr()) };
    if ret != 0 {
        return Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO));
    }
    // SAFETY: the call succeeded, so the kernel filled `st`.
    let st = unsafe { st.assume_init() };
    Ok(u64::try_from(st.st_size).unwrap_or(0))
}
