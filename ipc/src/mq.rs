//! POSIX message queues: [`MessageQueue`] and [`MessageQueueOptions`].

use std::collections::BTreeMap;
use std::ffi::c_long;
use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::common::{check_mode, checked_name, create_unique, open_or_create};
use crate::consts::QUEUE_PRIORITY_MAX;
use crate::deadline::{self, Deadline};
use crate::name::Kind;
use crate::sys::{self, Clock, Errno, mq};
use crate::{Error, ErrorKind, Result};

const OPEN: &str = "mq_open";

/// A POSIX message queue (`mq_open`): messages of up to
/// [`max_message_size`](MessageQueue::max_message_size) bytes, each with a
/// priority, shared by every process that opens the same name.
///
/// Messages come out highest priority first, and in the order they were
/// sent within one priority. The handle closes on drop; the queue and its
/// messages stay until [`unlink`](MessageQueue::unlink).
///
/// On Linux the handle is a file descriptor ([`AsFd`]) that `poll`, `epoll`
/// and `select` report readable when a message is waiting and writable when
/// there is room.
///
/// # Timeouts
///
/// `mq_timedsend` and `mq_timedreceive` only take deadlines on the wall
/// clock (`CLOCK_REALTIME`). `ipc` keeps the deadline on the monotonic clock
/// and translates it at every attempt: a signal never shortens or stretches
/// the wait, and when the wall clock jumps *forward* during a wait the
/// early "timeout" is detected and the wait resumed for the time really
/// left. A *backward* jump during a wait cannot be seen from outside the
/// kernel and stretches that wait by the size of the jump.
///
/// # Examples
///
/// ```
/// use ipc::MessageQueue;
///
/// let mq = MessageQueue::options()
///     .max_messages(4)
///     .max_message_size(64)
///     .create_unique("/doc.mq")?;
/// mq.send(b"low", 1)?;
/// mq.send(b"high", 9)?;
/// assert_eq!(mq.receive()?, (b"high".to_vec(), 9));
/// let mut buf = [0u8; 64];
/// let (len, priority) = mq.receive_into(&mut buf)?;
/// assert_eq!((&buf[..len], priority), (&b"low"[..], 1));
/// mq.unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
pub struct MessageQueue {
    fd: OwnedFd,
    name: Arc<str>,
    mode: u32,
    max_messages: usize,
    max_message_size: usize,
    read: bool,
    write: bool,
    notification: Registration,
}

/// The token of a handle's callback registration, if any; dropping it drops
/// a closure that has not run.
struct Registration(Mutex<Option<u64>>);

impl Drop for Registration {
    fn drop(&mut self) {
        let slot = self.0.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(token) = slot.take() {
            drop(callbacks::take(token));
        }
    }
}

/// Options for opening or creating a [`MessageQueue`], like [`std::fs::OpenOptions`].
///
/// Defaults: open an existing queue for reading and writing, blocking, mode
/// `0o600`; a created queue gets the system's default limits
/// ([`crate::consts::queue_messages_max_default`],
/// [`crate::consts::queue_message_size_max_default`]).
///
/// ```
/// use ipc::MessageQueue;
///
/// let mq = MessageQueue::options()
///     .create_new(true)
///     .max_messages(2)
///     .max_message_size(128)
///     .blocking(false)
///     .create_unique("/doc.mq-options")?;
/// assert_eq!((mq.max_messages(), mq.max_message_size()), (2, 128));
/// assert!(!mq.is_blocking()?);
/// mq.unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "options do nothing until `open` or `create_unique` is called"]
pub struct MessageQueueOptions {
    create: bool,
    create_new: bool,
    mode: u32,
    max_messages: Option<usize>,
    max_message_size: Option<usize>,
    read: bool,
    write: bool,
    blocking: bool,
}

impl Default for MessageQueueOptions {
    fn default() -> Self {
        MessageQueueOptions {
            create: false,
            create_new: false,
            mode: 0o600,
            max_messages: None,
            max_message_size: None,
            read: true,
            write: true,
            blocking: true,
        }
    }
}

impl MessageQueueOptions {
    /// Creates the queue if it does not exist (`O_CREAT`).
    pub fn create(mut self, yes: bool) -> Self {
        self.create = yes;
        self
    }

    /// Creates the queue and fails with [`ErrorKind::AlreadyExists`] if it
    /// exists (`O_CREAT | O_EXCL`).
    pub fn create_new(mut self, yes: bool) -> Self {
        self.create_new = yes;
        self
    }

    /// The permission bits of a queue this call creates; default `0o600`,
    /// exactly, whatever the umask. Above `0o777` is [`ErrorKind::InvalidInput`].
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    /// How many messages a queue this call creates can hold. Ignored when
    /// the queue exists: its real limits are read back from the kernel.
    /// Linux caps it at `/proc/sys/fs/mqueue/msg_max` for unprivileged users.
    pub fn max_messages(mut self, n: usize) -> Self {
        self.max_messages = Some(n);
        self
    }

    /// The largest message a queue this call creates accepts, in bytes.
    /// Ignored when the queue exists. Linux caps it at
    /// `/proc/sys/fs/mqueue/msgsize_max` for unprivileged users.
    pub fn max_message_size(mut self, n: usize) -> Self {
        self.max_message_size = Some(n);
        self
    }

    /// Opens for receiving; default true.
    pub fn read(mut self, yes: bool) -> Self {
        self.read = yes;
        self
    }

    /// Opens for sending; default true. `read(false)` with `write(false)` is
    /// [`ErrorKind::InvalidInput`].
    pub fn write(mut self, yes: bool) -> Self {
        self.write = yes;
        self
    }

    /// Whether `send` and `receive` wait (default) or fail at once with
    /// [`ErrorKind::Busy`] (`O_NONBLOCK`). See [`MessageQueue::set_blocking`].
    pub fn blocking(mut self, yes: bool) -> Self {
        self.blocking = yes;
        self
    }

    /// `mq_open(name, flags, mode, attr)` — opens (or creates, as the
    /// options say) the queue called `name`, then reads its attributes back.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidName`]: `name` breaks a rule of [`crate::name`];
    ///   no system call was made.
    /// - [`ErrorKind::InvalidInput`]: the mode is above `0o777`, neither read
    ///   nor write access was asked, or a limit is 0 (checked before any
    ///   system call); or the kernel refused the limits (`EINVAL`, the
    ///   message names `/proc/sys/fs/mqueue/msg_max` and `msgsize_max`).
    /// - [`ErrorKind::NotFound`] (`ENOENT`): no such queue, and creation was
    ///   not asked.
    /// - [`ErrorKind::AlreadyExists`] (`EEXIST`): it exists and
    ///   [`create_new`](Self::create_new) was asked.
    /// - [`ErrorKind::PermissionDenied`] (`EACCES`): its permissions refuse
    ///   this process.
    /// - Other OS errors are reported as [`ErrorKind::Other`]: `EMFILE` also
    ///   when the user's `RLIMIT_MSGQUEUE` bytes are used up, `ENOSPC` when
    ///   `/proc/sys/fs/mqueue/queues_max` queues exist.
    #[doc(alias = "mq_open")]
    pub fn open(self, name: &str) -> Result<MessageQueue> {
        let name = checked_name(OPEN, name, Kind::MessageQueue)?;
        self.open_checked(name)
    }

    /// Creates a queue under a fresh random name,
    /// `"<prefix>.<16 hex digits>"` (64 bits from the OS random source),
    /// drawing a new name if that one exists. Always exclusive.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open); [`ErrorKind::InvalidName`] when the prefix
    /// does not make a valid name.
    pub fn create_unique(self, prefix: &str) -> Result<MessageQueue> {
        let opts = self.create_new(true);
        create_unique(OPEN, prefix, Kind::MessageQueue, |name| {
            opts.clone().open_checked(Arc::from(name))
        })
    }

    fn open_checked(self, name: Arc<str>) -> Result<MessageQueue> {
        check_mode(OPEN, &name, self.mode)?;
        let invalid = |msg: String| Error::new(ErrorKind::InvalidInput, OPEN, Some(&name), msg);
        let access = match (self.read, self.write) {
            (true, true) => libc::O_RDWR,
            (true, false) => libc::O_RDONLY,
            (false, true) => libc::O_WRONLY,
            (false, false) => {
                return Err(invalid(
                    "at least one of read and write access must be asked".into(),
                ));
            }
        };
        let max_messages = self
            .max_messages
            .unwrap_or_else(crate::consts::queue_messages_max_default);
        let max_size = self
            .max_message_size
            .unwrap_or_else(crate::consts::queue_message_size_max_default);
        let limit = |what: &str, n: usize| {
            if n == 0 {
                return Err(invalid(format!("{what} must be at least 1")));
            }
            c_long::try_from(n)
                .map_err(|_| invalid(format!("{what} {n} exceeds the C long maximum")))
        };
        let sizes = (
            limit("max_messages", max_messages)?,
            limit("max_message_size", max_size)?,
        );
        let flags = access | libc::O_CLOEXEC | if self.blocking { 0 } else { libc::O_NONBLOCK };
        let creating = self.create || self.create_new;
        let (fd, created) = sys::with_cstr(&name, |c| {
            open_or_create(
                self.create,
                self.create_new,
                || {
                    mq::open(
                        c,
                        flags | libc::O_CREAT | libc::O_EXCL,
                        self.mode,
                        Some(sizes),
                    )
                },
                || mq::open(c, flags, 0, None),
            )
        })
        .map_err(|e| {
            let err = Error::os(OPEN, Some(&name), e);
            if e == libc::EINVAL && creating {
                err.with_detail(format!(
                    "the system refused max_messages {max_messages} or max_message_size \
                     {max_size}: the limits are /proc/sys/fs/mqueue/msg_max ({}) and \
                     msgsize_max ({})",
                    proc_limit("msg_max"),
                    proc_limit("msgsize_max"),
                ))
            } else {
                err
            }
        })?;
        if created {
            sys::shm::chmod(fd.as_fd(), self.mode)
                .map_err(|e| Error::os("fchmod", Some(&name), e))?;
        }
        let attr = mq::attr(fd.as_fd()).map_err(|e| Error::os("mq_getattr", Some(&name), e))?;
        Ok(MessageQueue {
            fd,
            name,
            mode: self.mode,
            max_messages: attr.max_messages,
            max_message_size: attr.max_message_size,
            read: self.read,
            write: self.write,
            notification: Registration(Mutex::new(None)),
        })
    }
}

fn proc_limit(file: &str) -> String {
    std::fs::read_to_string(format!("/proc/sys/fs/mqueue/{file}"))
        .map_or_else(|_| "unknown".to_owned(), |s| s.trim().to_owned())
}

/// How a send or receive waits.
#[derive(Clone, Copy)]
enum Wait {
    /// As the handle's blocking flag says.
    Block,
    /// Not at all.
    Try,
    /// Until the deadline.
    Until(Deadline),
}

impl Wait {
    fn from_timeout(timeout: Duration) -> Wait {
        if timeout.is_zero() {
            return Wait::Try;
        }
        Deadline::after(timeout).map_or(Wait::Block, Wait::Until)
    }
}

/// The timespec of a deadline long gone: a timed call with it fails at once
/// with `ETIMEDOUT` instead of waiting, whatever the blocking flag.
const EXPIRED: libc::timespec = libc::timespec {
    tv_sec: 0,
    tv_nsec: 0,
};

impl MessageQueue {
    /// `mq_open(name, O_RDWR)` — opens an existing queue for sending and receiving.
    ///
    /// # Errors
    ///
    /// As [`MessageQueueOptions::open`]; [`ErrorKind::NotFound`] if it does not exist.
    #[doc(alias = "mq_open")]
    pub fn open(name: &str) -> Result<MessageQueue> {
        MessageQueue::options().open(name)
    }

    /// `mq_open(name, O_RDWR | O_CREAT, 0o600, defaults)` — opens the queue,
    /// creating it with the system's default limits if needed.
    ///
    /// # Errors
    ///
    /// As [`MessageQueueOptions::open`].
    #[doc(alias = "mq_open")]
    pub fn create(name: &str) -> Result<MessageQueue> {
        MessageQueue::options().create(true).open(name)
    }

    /// `mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0o600, defaults)` — creates a
    /// queue that must not exist yet.
    ///
    /// # Errors
    ///
    /// As [`MessageQueueOptions::open`]; [`ErrorKind::AlreadyExists`] if it exists.
    #[doc(alias = "mq_open")]
    pub fn create_new(name: &str) -> Result<MessageQueue> {
        MessageQueue::options().create_new(true).open(name)
    }

    /// Options to open or create a queue; see [`MessageQueueOptions`].
    pub fn options() -> MessageQueueOptions {
        MessageQueueOptions::default()
    }

    /// `mq_send` — sends `message` with `priority` (0 ..= [`QUEUE_PRIORITY_MAX`]),
    /// waiting while the queue is full if the handle is blocking.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::PermissionDenied`]: the handle was opened without write access.
    /// - [`ErrorKind::InvalidInput`]: the message is longer than
    ///   [`max_message_size`](Self::max_message_size) or the priority above
    ///   [`QUEUE_PRIORITY_MAX`]; nothing is sent.
    /// - [`ErrorKind::Busy`] (`EAGAIN`): the queue is full and the handle
    ///   is non-blocking.
    /// - Other OS errors are reported as [`ErrorKind::Other`].
    #[doc(alias = "mq_send")]
    pub fn send(&self, message: &[u8], priority: u32) -> Result<()> {
        self.send_with(message, priority, Wait::Block)
    }

    /// `mq_timedsend` with an expired deadline — sends if there is room,
    /// without waiting, blocking handle or not.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send); [`ErrorKind::Busy`] when the queue is full.
    pub fn try_send(&self, message: &[u8], priority: u32) -> Result<()> {
        self.send_with(message, priority, Wait::Try)
    }

    /// `mq_timedsend` — waits at most `timeout` for room. `Duration::ZERO`
    /// behaves as [`try_send`](Self::try_send); see [Timeouts](MessageQueue#timeouts)
    /// for how the wall clock matters.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send); [`ErrorKind::Busy`] (`ETIMEDOUT`) when the
    /// time is up.
    #[doc(alias = "mq_timedsend")]
    pub fn send_timeout(&self, message: &[u8], priority: u32, timeout: Duration) -> Result<()> {
        self.send_with(message, priority, Wait::from_timeout(timeout))
    }

    fn send_with(&self, message: &[u8], priority: u32, wait: Wait) -> Result<()> {
        const OP: &str = "mq_send";
        if !self.write {
            return Err(self.refused(OP, "the queue was opened without write access"));
        }
        if message.len() > self.max_message_size {
            return Err(self.invalid(
                OP,
                format!(
                    "message of {} bytes exceeds max_message_size ({})",
                    message.len(),
                    self.max_message_size
                ),
            ));
        }
        if priority > QUEUE_PRIORITY_MAX {
            return Err(self.invalid(
                OP,
                format!("priority {priority} exceeds QUEUE_PRIORITY_MAX ({QUEUE_PRIORITY_MAX})"),
            ));
        }
        let fd = self.fd.as_fd();
        match wait {
            Wait::Block => deadline::retry(|| mq::send(fd, message, priority, None)),
            Wait::Try => deadline::retry(|| mq::send(fd, message, priority, Some(&EXPIRED)))
                .map_err(try_errno),
            Wait::Until(d) => deadline::retry_until(&d, Clock::Realtime, |at| {
                mq::send(fd, message, priority, Some(at))
            }),
        }
        .map_err(|e| self.busy_error(OP, e, "the queue is full"))
    }

    /// `mq_receive` — takes the oldest message of the highest priority,
    /// waiting while the queue is empty if the handle is blocking.
    ///
    /// Allocates a buffer of [`max_message_size`](Self::max_message_size)
    /// bytes, shrunk to the message when that saves much;
    /// [`receive_into`](Self::receive_into) allocates nothing.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::PermissionDenied`]: the handle was opened without read access.
    /// - [`ErrorKind::Busy`] (`EAGAIN`): the queue is empty and the handle is
    ///   non-blocking.
    /// - Other OS errors are reported as [`ErrorKind::Other`].
    #[doc(alias = "mq_receive")]
    pub fn receive(&self) -> Result<(Vec<u8>, u32)> {
        self.receive_vec(Wait::Block)
    }

    /// `mq_timedreceive` with an expired deadline — takes a message if one
    /// is there, without waiting.
    ///
    /// # Errors
    ///
    /// As [`receive`](Self::receive); [`ErrorKind::Busy`] when the queue is empty.
    pub fn try_receive(&self) -> Result<(Vec<u8>, u32)> {
        self.receive_vec(Wait::Try)
    }

    /// `mq_timedreceive` — waits at most `timeout` for a message.
    /// `Duration::ZERO` behaves as [`try_receive`](Self::try_receive).
    ///
    /// # Errors
    ///
    /// As [`receive`](Self::receive); [`ErrorKind::Busy`] (`ETIMEDOUT`) when
    /// the time is up.
    #[doc(alias = "mq_timedreceive")]
    pub fn receive_timeout(&self, timeout: Duration) -> Result<(Vec<u8>, u32)> {
        self.receive_vec(Wait::from_timeout(timeout))
    }

    /// `mq_receive` into `buf`, allocating nothing; returns the message's
    /// length and priority. Waits while the queue is empty if the handle is
    /// blocking.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] if `buf` is shorter than
    /// [`max_message_size`](Self::max_message_size) (the kernel refuses such
    /// buffers, whatever the message); otherwise as [`receive`](Self::receive).
    #[doc(alias = "mq_receive")]
    pub fn receive_into(&self, buf: &mut [u8]) -> Result<(usize, u32)> {
        self.receive_into_with(buf, Wait::Block)
    }

    /// [`receive_into`](Self::receive_into) without waiting.
    ///
    /// # Errors
    ///
    /// As [`receive_into`](Self::receive_into); [`ErrorKind::Busy`] when the
    /// queue is empty.
    pub fn try_receive_into(&self, buf: &mut [u8]) -> Result<(usize, u32)> {
        self.receive_into_with(buf, Wait::Try)
    }

    /// [`receive_into`](Self::receive_into), waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// As [`receive_into`](Self::receive_into); [`ErrorKind::Busy`]
    /// (`ETIMEDOUT`) when the time is up.
    #[doc(alias = "mq_timedreceive")]
    pub fn receive_into_timeout(&self, buf: &mut [u8], timeout: Duration) -> Result<(usize, u32)> {
        self.receive_into_with(buf, Wait::from_timeout(timeout))
    }

    fn receive_into_with(&self, buf: &mut [u8], wait: Wait) -> Result<(usize, u32)> {
        const OP: &str = "mq_receive";
        self.check_readable(OP)?;
        if buf.len() < self.max_message_size {
            return Err(self.invalid(
                OP,
                format!(
                    "buffer of {} bytes is shorter than max_message_size ({})",
                    buf.len(),
                    self.max_message_size
                ),
            ));
        }
        let fd = self.fd.as_fd();
        match wait {
            Wait::Block => deadline::retry(|| mq::receive(fd, buf, None)),
            Wait::Try => {
                deadline::retry(|| mq::receive(fd, buf, Some(&EXPIRED))).map_err(try_errno)
            }
            Wait::Until(d) => {
                deadline::retry_until(&d, Clock::Realtime, |at| mq::receive(fd, buf, Some(at)))
            }
        }
        .map_err(|e| self.busy_error(OP, e, "the queue is empty"))
    }

    fn receive_vec(&self, wait: Wait) -> Result<(Vec<u8>, u32)> {
        const OP: &str = "mq_receive";
        self.check_readable(OP)?;
        let fd = self.fd.as_fd();
        let len = self.max_message_size;
        let mut buf = Vec::new();
        let priority = match wait {
            Wait::Block => deadline::retry(|| mq::receive_vec(fd, &mut buf, len, None)),
            Wait::Try => deadline::retry(|| mq::receive_vec(fd, &mut buf, len, Some(&EXPIRED)))
                .map_err(try_errno),
            Wait::Until(d) => deadline::retry_until(&d, Clock::Realtime, |at| {
                mq::receive_vec(fd, &mut buf, len, Some(at))
            }),
        }
        .map_err(|e| self.busy_error(OP, e, "the queue is empty"))?;
        if buf.len() < buf.capacity() / 4 {
            buf.shrink_to_fit();
        }
        Ok((buf, priority))
    }

    /// `mq_getattr` — how many messages are in the queue now.
    ///
    /// # Errors
    ///
    /// OS errors are reported as [`ErrorKind::Other`]; none is expected.
    #[doc(alias = "mq_getattr")]
    pub fn current_messages(&self) -> Result<usize> {
        Ok(self.attr()?.current_messages)
    }

    /// How many messages the queue holds at most (read from the kernel at open).
    #[must_use]
    pub fn max_messages(&self) -> usize {
        self.max_messages
    }

    /// The largest message the queue accepts, in bytes (read from the kernel at open).
    #[must_use]
    pub fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// Whether `send` and `receive` wait (no `O_NONBLOCK`); posix_ipc's `block`.
    ///
    /// # Errors
    ///
    /// OS errors of `mq_getattr` are reported as [`ErrorKind::Other`].
    pub fn is_blocking(&self) -> Result<bool> {
        Ok(!self.attr()?.nonblocking)
    }

    /// `mq_setattr` — makes `send` and `receive` wait (true) or fail with
    /// [`ErrorKind::Busy`] at once (false). The flag belongs to this handle
    /// (its open file description), not to the queue.
    ///
    /// # Errors
    ///
    /// OS errors are reported as [`ErrorKind::Other`]; none is expected.
    #[doc(alias = "mq_setattr")]
    pub fn set_blocking(&self, blocking: bool) -> Result<()> {
        mq::set_nonblocking(self.fd.as_fd(), !blocking).map_err(|e| self.error("mq_setattr", e))
    }

    fn attr(&self) -> Result<mq::Attr> {
        mq::attr(self.fd.as_fd()).map_err(|e| self.error("mq_getattr", e))
    }

    /// `mq_notify(SIGEV_SIGNAL)` — asks for `signal` to be sent to this
    /// process when a message arrives in the empty queue. One-shot: ask
    /// again after each notification. Replaces this process's earlier
    /// registration on the queue.
    ///
    /// The kernel notifies only on the empty → non-empty transition, and
    /// not while another process is blocked in `receive` on the queue.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidInput`]: `signal` is not a signal number
    ///   (1 ..= [`crate::consts::user_signal_max`]).
    /// - [`ErrorKind::Busy`] (`EBUSY`): another process is registered.
    /// - Other OS errors are reported as [`ErrorKind::Other`].
    #[doc(alias = "mq_notify")]
    pub fn notify_signal(&self, signal: i32) -> Result<()> {
        const OP: &str = "mq_notify";
        let max = crate::consts::user_signal_max();
        if !(1..=max).contains(&signal) {
            return Err(self.invalid(
                OP,
                format!("signal {signal} is not a signal number (1..={max})"),
            ));
        }
        let mut slot = self.lock_notification();
        self.cancel_locked(&mut slot);
        mq::notify_signal(self.fd.as_fd(), signal).map_err(|e| self.notify_error(e))
    }

    /// `mq_notify(SIGEV_THREAD)` — runs `f` once, on a new thread, when a
    /// message arrives in the empty queue. One-shot: `f` may register again
    /// (re-arm) from inside itself. Replaces this process's earlier
    /// registration on the queue.
    ///
    /// A closure that never runs is dropped, not leaked, when the
    /// registration is cancelled or replaced, or this handle is dropped or
    /// closed. A panic in `f` is caught and discarded, since there is no
    /// caller to report it to. If `f` owns an `Arc` of this queue, the queue
    /// lives until `f` runs or is cancelled.
    ///
    /// A registration belongs to the process that made it and is not
    /// inherited across `fork()`: a message sent by the child still fires
    /// the parent's `f`, and the child's copy of `f` never runs (it is
    /// dropped with the child's handle). Register again in the child to be
    /// notified there.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Busy`] (`EBUSY`) when another process is registered;
    /// [`ErrorKind::Unsupported`] off Linux. Other OS errors are reported as
    /// [`ErrorKind::Other`]. On error `f` is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use ipc::MessageQueue;
    ///
    /// let mq = MessageQueue::options().max_messages(2).max_message_size(16)
    ///     .create_unique("/doc.notify")?;
    /// let (tx, rx) = mpsc::channel();
    /// mq.notify_callback(move || tx.send("a message arrived").unwrap())?;
    /// mq.send(b"ping", 0)?;
    /// assert_eq!(rx.recv().unwrap(), "a message arrived");
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "mq_notify")]
    pub fn notify_callback<F: FnOnce() + Send + 'static>(&self, f: F) -> Result<()> {
        let mut slot = self.lock_notification();
        self.cancel_locked(&mut slot);
        let token = callbacks::insert(Box::new(f));
        match mq::notify_thread(self.fd.as_fd(), callbacks::trampoline, token as usize) {
            Ok(()) => {
                *slot = Some(token);
                Ok(())
            }
            Err(e) => {
                drop(callbacks::take(token));
                Err(self.notify_error(e))
            }
        }
    }

    /// `mq_notify(NULL)` — cancels this process's registration, dropping a
    /// closure that has not run. Does nothing if there is none, or if the
    /// registration belongs to another process.
    ///
    /// # Errors
    ///
    /// OS errors are reported as [`ErrorKind::Other`]; none is expected.
    #[doc(alias = "mq_notify")]
    pub fn cancel_notification(&self) -> Result<()> {
        let mut slot = self.lock_notification();
        let result = mq::notify_cancel(self.fd.as_fd()).map_err(|e| self.notify_error(e));
        if let Some(token) = slot.take() {
            drop(callbacks::take(token));
        }
        result
    }

    fn lock_notification(&self) -> std::sync::MutexGuard<'_, Option<u64>> {
        // The guarded value is a plain token, valid whatever a panicking
        // holder was doing.
        self.notification
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Cancels (ignoring errors, as posix_ipc does) before a new registration.
    fn cancel_locked(&self, slot: &mut Option<u64>) {
        let _ = mq::notify_cancel(self.fd.as_fd());
        if let Some(token) = slot.take() {
            drop(callbacks::take(token));
        }
    }

    fn notify_error(&self, errno: Errno) -> Error {
        let err = self.error("mq_notify", errno);
        if errno == libc::EBUSY {
            err.with_detail("another process is registered for notifications")
        } else {
            err
        }
    }

    /// The name this handle was opened with.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The mode given to the constructor (default `0o600`); for a queue that
    /// already existed, not its real mode.
    #[must_use]
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// `mq_unlink` — removes the name. Open handles stay usable; the queue
    /// and its messages go when the last handle closes.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] (`ENOENT`) if the name is already gone;
    /// [`ErrorKind::PermissionDenied`] (`EACCES`) if this process may not
    /// remove it. Other OS errors are reported as [`ErrorKind::Other`].
    #[doc(alias = "mq_unlink")]
    pub fn unlink(&self) -> Result<()> {
        unlink_checked(&self.name)
    }

    /// `mq_close` — closes the handle, reporting an error that Drop would
    /// ignore. Ends this process's notification registration made through
    /// it, dropping a closure that has not run.
    ///
    /// # Errors
    ///
    /// OS errors are reported as [`ErrorKind::Other`]; none is expected.
    #[doc(alias = "mq_close")]
    pub fn close(self) -> Result<()> {
        let MessageQueue {
            fd,
            name,
            notification,
            ..
        } = self;
        let result = sys::close(fd).map_err(|e| Error::os("mq_close", Some(&name), e));
        drop(notification);
        result
    }

    fn check_readable(&self, op: &'static str) -> Result<()> {
        if self.read {
            Ok(())
        } else {
            Err(self.refused(op, "the queue was opened without read access"))
        }
    }

    fn error(&self, op: &'static str, errno: Errno) -> Error {
        Error::os(op, Some(&self.name), errno)
    }

    fn busy_error(&self, op: &'static str, errno: Errno, what: &'static str) -> Error {
        let err = self.error(op, errno);
        match errno {
            libc::EAGAIN => err.with_detail(what),
            libc::ETIMEDOUT => err.with_detail(format!("timed out: {what}")),
            _ => err,
        }
    }

    fn invalid(&self, op: &'static str, msg: String) -> Error {
        Error::new(ErrorKind::InvalidInput, op, Some(&self.name), msg)
    }

    fn refused(&self, op: &'static str, msg: &'static str) -> Error {
        Error::new(ErrorKind::PermissionDenied, op, Some(&self.name), msg)
    }
}

/// A try is reported as "would block", not as the timeout it is made of.
fn try_errno(errno: Errno) -> Errno {
    if errno == libc::ETIMEDOUT {
        libc::EAGAIN
    } else {
        errno
    }
}

/// `mq_unlink(name)` — removes the named message queue.
///
/// # Errors
///
/// [`ErrorKind::InvalidName`] if `name` breaks a rule of [`crate::name`];
/// otherwise as [`MessageQueue::unlink`].
///
/// # Examples
///
/// ```
/// use ipc::{ErrorKind, MessageQueue};
///
/// let mq = MessageQueue::options().max_message_size(16).create_unique("/doc.mq-unlink")?;
/// ipc::unlink_message_queue(mq.name())?;
/// assert_eq!(MessageQueue::open(mq.name()).unwrap_err().kind(), ErrorKind::NotFound);
/// # Ok::<(), ipc::Error>(())
/// ```
#[doc(alias = "mq_unlink")]
pub fn unlink_message_queue(name: &str) -> Result<()> {
    let name = checked_name("mq_unlink", name, Kind::MessageQueue)?;
    unlink_checked(&name)
}

fn unlink_checked(name: &Arc<str>) -> Result<()> {
    sys::with_cstr(name, mq::unlink).map_err(|e| Error::os("mq_unlink", Some(name), e))
}

/// The closures waiting for a SIGEV_THREAD notification, by token.
///
/// The kernel is given a token, never a pointer: a notification that fires
/// after its registration was cancelled, or its queue closed, looks up a
/// token that is no longer here and does nothing. Whoever removes an entry
/// (the notification, a cancel, a close) owns the closure, so it runs or is
/// dropped exactly once.
mod callbacks {
    use super::{AtomicU64, BTreeMap, Mutex, Ordering, PoisonError};

    type Callback = Box<dyn FnOnce() + Send>;

    static NEXT: AtomicU64 = AtomicU64::new(1);
    static PENDING: Mutex<BTreeMap<u64, Callback>> = Mutex::new(BTreeMap::new());

    pub(super) fn insert(f: Callback) -> u64 {
        let token = NEXT.fetch_add(1, Ordering::Relaxed);
        lock().insert(token, f);
        token
    }

    pub(super) fn take(token: u64) -> Option<Callback> {
        lock().remove(&token)
    }

    fn lock() -> std::sync::MutexGuard<'static, BTreeMap<u64, Callback>> {
        // Entries are independent boxes; a panic elsewhere cannot leave the
        // map half-updated.
        PENDING.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Called by the C library on its notification thread.
    pub(super) extern "C" fn trampoline(value: libc::sigval) {
        let token = value.sival_ptr as usize as u64;
        // The lock is released before `f` runs, so `f` may re-arm.
        let f = take(token);
        if let Some(f) = f {
            // Unwinding out of an `extern "C"` fn aborts the process.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        }
    }

    #[cfg(test)]
    pub(super) fn pending() -> usize {
        lock().len()
    }
}

impl AsFd for MessageQueue {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for MessageQueue {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl fmt::Debug for MessageQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageQueue")
            .field("name", &self.name)
            .field("fd", &self.fd.as_raw_fd())
            .field("mode", &format_args!("{:#o}", self.mode))
            .field("max_messages", &self.max_messages)
            .field("max_message_size", &self.max_message_size)
            .field("read", &self.read)
            .field("write", &self.write)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for MessageQueue {
    /// The name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_runs_or_drops_once() {
        let (tx, rx) = std::sync::mpsc::channel();
        let token = callbacks::insert(Box::new(move || tx.send(1).unwrap()));
        let value = libc::sigval {
            sival_ptr: std::ptr::without_provenance_mut(token as usize),
        };
        callbacks::trampoline(value);
        callbacks::trampoline(value); // a second firing finds nothing
        assert_eq!(rx.try_iter().count(), 1);
        assert!(callbacks::take(token).is_none());
    }

    #[test]
    fn a_panicking_callback_is_contained() {
        let token = callbacks::insert(Box::new(|| panic!("in a notification")));
        callbacks::trampoline(libc::sigval {
            sival_ptr: std::ptr::without_provenance_mut(token as usize),
        });
        let _ = callbacks::pending();
    }

    #[test]
    fn options_defaults() {
        let o = MessageQueueOptions::default();
        assert!(o.read && o.write && o.blocking && !o.create && !o.create_new);
        assert_eq!(o.mode, 0o600);
        assert_eq!((o.max_messages, o.max_message_size), (None, None));
    }
}
