//! The one system call this module makes itself: `fstat` for
//! `SharedMemory.size`.
//!
//! glibc 2.33 and later implement `fstat()` as `newfstatat(fd, "",
//! AT_EMPTY_PATH)`, which the kernel serves through a path lookup; the plain
//! `fstat` system call skips it and is ~60 ns faster per call on the
//! development machine (posix_ipc's wheels, built against an older glibc,
//! make that call). `size` is read by every `mmap.mmap(shm.fd, shm.size)`.
//!
//! It is made with the `syscall` instruction rather than libc's
//! `syscall()`: one call frame less above the system call, which costs a
//! mispredicted return on a kernel that refills the return stack buffer
//! (see the release profile in Cargo.toml).

use std::os::fd::BorrowedFd;

/// The size of the object behind `fd`, or the errno.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[allow(unsafe_code)]
pub(crate) fn size(fd: BorrowedFd<'_>) -> Result<u64, i32> {
    use std::os::fd::AsRawFd;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    let ret: isize;
    // SAFETY: the x86_64 Linux system call convention: the number in rax,
    // the arguments in rdi and rsi, the result in rax, rcx and r11
    // clobbered, the stack untouched (`nostack`); the block may write memory
    // (no `nomem`), as the kernel writes `st`. `fd` is borrowed from a live descriptor (an
    // open `ipc::SharedMemory`, whose lock the caller holds), and `st` is
    // valid for writes of a `struct stat`, the x86_64 kernel's `struct stat`
    // being the one `libc::stat` describes.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") libc::SYS_fstat as isize => ret,
            // Widened to the register: the kernel reads an unsigned int.
            in("rdi") fd.as_raw_fd() as isize,
            in("rsi") st.as_mut_ptr(),
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    // -4095..=-1 is an errno; anything else is success (0 for fstat).
    if (-4095..0).contains(&ret) {
        return Err(-ret as i32);
    }
    // SAFETY: the call succeeded, so the kernel filled `st`.
    let st = unsafe { st.assume_init() };
    Ok(u64::try_from(st.st_size).unwrap_or(0))
}
