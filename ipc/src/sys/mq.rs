//! Message queues: `mq_open` and friends (Linux: an `mqd_t` is a descriptor).

use std::ffi::{CStr, c_int, c_long, c_uint};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::{Errno, cvt};

/// The attributes of a queue (`struct mq_attr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Attr {
    pub(crate) nonblocking: bool,
    pub(crate) max_messages: usize,
    pub(crate) max_message_size: usize,
    pub(crate) current_messages: usize,
}

/// `mq_open(name, oflag, mode, attr)`; `sizes` = (max messages, max size)
/// when creating with explicit limits.
pub(crate) fn open(
    name: &CStr,
    oflag: c_int,
    mode: u32,
    sizes: Option<(c_long, c_long)>,
) -> Result<OwnedFd, Errno> {
    let mut attr: libc::mq_attr = zeroed_attr();
    let attr_ptr: *mut libc::mq_attr = match sizes {
        Some((max_messages, max_size)) => {
            attr.mq_maxmsg = max_messages;
            attr.mq_msgsize = max_size;
            &raw mut attr
        }
        None => std::ptr::null_mut(),
    };
    // SAFETY: `name` is NUL-terminated and outlives the call; `attr_ptr` is
    // null or points to `attr`, alive until the call returns. mq_open is
    // variadic and reads va_arg(ap, mode_t) then va_arg(ap, struct mq_attr *):
    // mode_t is promoted to unsigned int, so it is passed as c_uint.
    let fd = unsafe { libc::mq_open(name.as_ptr(), oflag, mode as c_uint, attr_ptr) };
    let fd = cvt(fd)?;
    // SAFETY: on Linux an mqd_t is a new file descriptor that nothing else
    // owns, and mq_close is close(2), so OwnedFd's Drop closes it correctly.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn zeroed_attr() -> libc::mq_attr {
    // SAFETY: mq_attr is a plain C struct of integers (and reserved
    // padding), for which all-zero bytes are a valid value.
    unsafe { std::mem::zeroed() }
}

/// `mq_unlink(name)`.
pub(crate) fn unlink(name: &CStr) -> Result<(), Errno> {
    // SAFETY: `name` is a NUL-terminated string that outlives the call.
    cvt(unsafe { libc::mq_unlink(name.as_ptr()) }).map(drop)
}

/// `mq_getattr`.
pub(crate) fn attr(fd: BorrowedFd<'_>) -> Result<Attr, Errno> {
    let mut attr = zeroed_attr();
    // SAFETY: `fd` is a live queue descriptor for the borrow; `attr` is a
    // writable mq_attr.
    cvt(unsafe { libc::mq_getattr(fd.as_raw_fd(), &raw mut attr) })?;
    Ok(Attr {
        nonblocking: attr.mq_flags & c_long::from(libc::O_NONBLOCK) != 0,
        max_messages: usize::try_from(attr.mq_maxmsg).unwrap_or(0),
        max_message_size: usize::try_from(attr.mq_msgsize).unwrap_or(0),
        current_messages: usize::try_from(attr.mq_curmsgs).unwrap_or(0),
    })
}

/// `mq_setattr` of the `O_NONBLOCK` flag (the only one it can change).
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, nonblocking: bool) -> Result<(), Errno> {
    let mut attr = zeroed_attr();
    attr.mq_flags = if nonblocking {
        c_long::from(libc::O_NONBLOCK)
    } else {
        0
    };
    // SAFETY: `fd` is live for the borrow; `attr` is a valid mq_attr and the
    // old-attributes pointer may be null.
    cvt(unsafe { libc::mq_setattr(fd.as_raw_fd(), &raw const attr, std::ptr::null_mut()) })
        .map(drop)
}

/// `mq_send`, or `mq_timedsend` with an absolute CLOCK_REALTIME deadline.
pub(crate) fn send(
    fd: BorrowedFd<'_>,
    msg: &[u8],
    priority: u32,
    deadline: Option<&libc::timespec>,
) -> Result<(), Errno> {
    let ptr = msg.as_ptr().cast::<libc::c_char>();
    // SAFETY: `fd` is live for the borrow; `msg` is valid for `msg.len()`
    // bytes; `deadline`, when given, is a valid timespec borrowed for the call.
    let ret = unsafe {
        match deadline {
            None => libc::mq_send(fd.as_raw_fd(), ptr, msg.len(), priority),
            Some(at) => libc::mq_timedsend(fd.as_raw_fd(), ptr, msg.len(), priority, at),
        }
    };
    cvt(ret).map(drop)
}

/// `mq_receive` (or `mq_timedreceive`) into `buf`'s first `len` bytes,
/// which may be uninitialized; returns (length, priority).
///
/// # Safety
///
/// `buf` must be valid for writes of `len` bytes.
unsafe fn receive_raw(
    fd: BorrowedFd<'_>,
    buf: *mut u8,
    len: usize,
    deadline: Option<&libc::timespec>,
) -> Result<(usize, u32), Errno> {
    let mut priority: c_uint = 0;
    let ptr = buf.cast::<libc::c_char>();
    // SAFETY: `fd` is live for the borrow; the caller guarantees `buf` is
    // writable for `len` bytes, and the kernel writes at most `len`;
    // `priority` and `deadline` are valid for the call.
    let n = unsafe {
        match deadline {
            None => libc::mq_receive(fd.as_raw_fd(), ptr, len, &raw mut priority),
            Some(at) => libc::mq_timedreceive(fd.as_raw_fd(), ptr, len, &raw mut priority, at),
        }
    };
    if n < 0 {
        return Err(super::errno());
    }
    Ok((n as usize, priority))
}

/// `mq_receive` into an initialized buffer.
pub(crate) fn receive(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    deadline: Option<&libc::timespec>,
) -> Result<(usize, u32), Errno> {
    // SAFETY: `buf` is a valid, writable slice of `buf.len()` bytes.
    unsafe { receive_raw(fd, buf.as_mut_ptr(), buf.len(), deadline) }
}

/// `mq_receive` into the spare capacity of `vec` (at least `len` bytes are
/// reserved), setting its length to the message's.
pub(crate) fn receive_vec(
    fd: BorrowedFd<'_>,
    vec: &mut Vec<u8>,
    len: usize,
    deadline: Option<&libc::timespec>,
) -> Result<u32, Errno> {
    vec.clear();
    vec.reserve(len);
    // SAFETY: after `reserve(len)` the vector's buffer is valid for writes of
    // `len` bytes (its spare capacity).
    let (n, priority) = unsafe { receive_raw(fd, vec.as_mut_ptr(), len, deadline)? };
    // SAFETY: the kernel initialized the first `n <= len <= capacity` bytes.
    unsafe { vec.set_len(n.min(len)) };
    Ok(priority)
}

/// The `struct sigevent` of glibc and musl with the SIGEV_THREAD members,
/// which the libc crate leaves out of its union.
#[repr(C)]
struct SigeventThread {
    value: libc::sigval,
    signo: c_int,
    notify: c_int,
    function: Option<extern "C" fn(libc::sigval)>,
    attributes: *mut libc::pthread_attr_t,
    pad: [c_int; PAD],
}

/// The rest of glibc's 64-byte struct, after the members above.
const PAD: usize = (64 - 16 - 2 * size_of::<usize>()) / size_of::<c_int>();

// The layout checks that make the cast in `notify_thread` sound: same size,
// and the members libc does declare sit where ours do.
const _: () = {
    use std::mem::offset_of;
    assert!(size_of::<SigeventThread>() == size_of::<libc::sigevent>());
    assert!(align_of::<SigeventThread>() <= align_of::<libc::sigevent>());
    assert!(offset_of!(SigeventThread, value) == offset_of!(libc::sigevent, sigev_value));
    assert!(offset_of!(SigeventThread, signo) == offset_of!(libc::sigevent, sigev_signo));
    assert!(offset_of!(SigeventThread, notify) == offset_of!(libc::sigevent, sigev_notify));
    // glibc's union `_sigev_un` starts right after sigev_notify, aligned
    // for pointers; SIGEV_THREAD's function pointer is its first member.
    assert!(
        offset_of!(SigeventThread, function) == offset_of!(libc::sigevent, sigev_notify_thread_id)
    );
};

/// `mq_notify(fd, NULL)`: cancels this process's registration, if any.
pub(crate) fn notify_cancel(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: `fd` is live for the borrow; a null sigevent is allowed.
    cvt(unsafe { libc::mq_notify(fd.as_raw_fd(), std::ptr::null()) }).map(drop)
}

/// `mq_notify(fd, SIGEV_SIGNAL signo)`.
pub(crate) fn notify_signal(fd: BorrowedFd<'_>, signo: c_int) -> Result<(), Errno> {
    // SAFETY: the all-zero sigevent is valid (plain integers and a null pointer).
    let mut ev: libc::sigevent = unsafe { std::mem::zeroed() };
    ev.sigev_notify = libc::SIGEV_SIGNAL;
    ev.sigev_signo = signo;
    // SAFETY: `fd` is live for the borrow; `ev` is a valid sigevent that
    // the kernel copies during the call.
    cvt(unsafe { libc::mq_notify(fd.as_raw_fd(), &raw const ev) }).map(drop)
}

/// `mq_notify(fd, SIGEV_THREAD)`: on the next empty → non-empty transition,
/// the C library calls `function(sigval { sival_ptr: token })` on a new thread.
///
/// `token` is an opaque number, never dereferenced: the callback looks it up.
pub(crate) fn notify_thread(
    fd: BorrowedFd<'_>,
    function: extern "C" fn(libc::sigval),
    token: usize,
) -> Result<(), Errno> {
    let ev = SigeventThread {
        value: libc::sigval {
            sival_ptr: std::ptr::without_provenance_mut(token),
        },
        signo: 0,
        notify: libc::SIGEV_THREAD,
        function: Some(function),
        attributes: std::ptr::null_mut(),
        pad: [0; PAD],
    };
    // SAFETY: `fd` is live for the borrow; `ev` has the layout of the C
    // library's struct sigevent (size asserted above; the SIGEV_THREAD members
    // follow sigev_notify at pointer alignment in glibc's and musl's
    // headers), and is only read during the call. The function pointer is a
    // plain `extern "C" fn` valid for the life of the program; a null
    // attributes pointer asks for default thread attributes.
    cvt(unsafe { libc::mq_notify(fd.as_raw_fd(), (&raw const ev).cast()) }).map(drop)
}
