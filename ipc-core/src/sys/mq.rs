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

/// `NOTIFY_COOKIE_LEN` of `<linux/mqueue.h>`: the bytes the kernel sends on
/// the netlink socket of a SIGEV_THREAD registration.
const COOKIE_LEN: usize = 32;

/// The last byte of a cookie the kernel sends: a message arrived
/// (`NOTIFY_WOKENUP`) or the registration was removed (`NOTIFY_REMOVED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotifyEvent {
    /// A message arrived in the empty queue; the registration is spent.
    WokenUp,
    /// The registration was removed: cancelled, or a descriptor of the queue
    /// was closed in the registering process.
    Removed,
}

/// The `mq_notify` system call itself. The C libraries implement
/// SIGEV_THREAD on top of it with one netlink socket per process, created
/// once (glibc: inherited by a forked child and read there by a second
/// helper thread; never retried after `EMFILE`), and musl's libc crate
/// binding has no `mq_notify`; `ipc` talks to the kernel directly.
fn raw_notify(fd: BorrowedFd<'_>, ev: Option<&libc::sigevent>) -> Result<(), Errno> {
    let ev: *const libc::sigevent = ev.map_or(std::ptr::null(), std::ptr::from_ref);
    // SAFETY: `fd` is live for the borrow; `ev` is null (cancel) or points to
    // a sigevent alive until the call returns, which the kernel copies
    // (`struct sigevent` of the kernel and of the libc crate are the same
    // 64 bytes on Linux). A SIGEV_THREAD sigevent's `sival_ptr` points to
    // COOKIE_LEN readable bytes (see `notify_netlink`), which the kernel
    // also copies during the call.
    let ret = unsafe { libc::syscall(libc::SYS_mq_notify, fd.as_raw_fd() as c_long, ev) };
    if ret == -1 {
        Err(super::errno())
    } else {
        Ok(())
    }
}

fn zeroed_sigevent() -> libc::sigevent {
    // SAFETY: sigevent is a plain C struct of integers, a union of integers
    // and pointers, and padding: all-zero bytes are a valid value.
    unsafe { std::mem::zeroed() }
}

/// `mq_notify(fd, NULL)`: cancels this process's registration, if any.
pub(crate) fn notify_cancel(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    raw_notify(fd, None)
}

/// `mq_notify(fd, SIGEV_SIGNAL signo)`.
pub(crate) fn notify_signal(fd: BorrowedFd<'_>, signo: c_int) -> Result<(), Errno> {
    let mut ev = zeroed_sigevent();
    ev.sigev_notify = libc::SIGEV_SIGNAL;
    ev.sigev_signo = signo;
    raw_notify(fd, Some(&ev))
}

/// `mq_notify(fd, SIGEV_THREAD)` as the kernel sees it: on the next empty →
/// non-empty transition (or when the registration is removed), the kernel
/// sends a cookie carrying `token` on the netlink socket `sock`; read it with
/// [`recv_notification`].
pub(crate) fn notify_netlink(
    fd: BorrowedFd<'_>,
    sock: BorrowedFd<'_>,
    token: u64,
) -> Result<(), Errno> {
    let mut cookie = [0u8; COOKIE_LEN];
    cookie[..8].copy_from_slice(&token.to_ne_bytes());
    let mut ev = zeroed_sigevent();
    ev.sigev_notify = libc::SIGEV_THREAD;
    ev.sigev_signo = sock.as_raw_fd();
    ev.sigev_value = libc::sigval {
        sival_ptr: cookie.as_mut_ptr().cast(),
    };
    raw_notify(fd, Some(&ev))
}

/// `socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)`: where the
/// kernel sends SIGEV_THREAD cookies (the kind of socket glibc uses).
pub(crate) fn netlink_socket() -> Result<OwnedFd, Errno> {
    // SAFETY: socket has no memory preconditions.
    let fd = cvt(unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    })?;
    // SAFETY: socket returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Blocks until the kernel sends a cookie on `sock`; returns its token and
/// what happened. A message of another size is `EIO`.
pub(crate) fn recv_notification(sock: BorrowedFd<'_>) -> Result<(u64, NotifyEvent), Errno> {
    let mut cookie = [0u8; COOKIE_LEN];
    // SAFETY: `sock` is live for the borrow; `cookie` is writable for
    // COOKIE_LEN bytes.
    let n = unsafe {
        libc::recv(
            sock.as_raw_fd(),
            cookie.as_mut_ptr().cast(),
            COOKIE_LEN,
            libc::MSG_NOSIGNAL | libc::MSG_WAITALL,
        )
    };
    if n < 0 {
        return Err(super::errno());
    }
    if n as usize != COOKIE_LEN {
        return Err(libc::EIO);
    }
    let mut token = [0u8; 8];
    token.copy_from_slice(&cookie[..8]);
    // <linux/mqueue.h>: NOTIFY_WOKENUP 1, NOTIFY_REMOVED 2.
    let event = match cookie[COOKIE_LEN - 1] {
        1 => NotifyEvent::WokenUp,
        2 => NotifyEvent::Removed,
        _ => return Err(libc::EIO),
    };
    Ok((u64::from_ne_bytes(token), event))
}
