//! POSIX message queues: [`MessageQueue`] and [`MessageQueueOptions`].

mod interruptible;
mod notify;
mod options;

pub use options::MessageQueueOptions;

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use crate::common::checked_name;
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
    // Dropped first: the registration's closure leaves the table before the
    // descriptor closes (which removes the kernel's registration).
    notification: notify::Registration,
    /// Shared only with this handle's pending notification callback, which
    /// registers again through it (see `notify`): no duplicate descriptor,
    /// whose closing would remove the process's registration at a moment
    /// nobody chose.
    fd: Arc<OwnedFd>,
    name: Arc<str>,
    mode: u32,
    max_messages: usize,
    max_message_size: usize,
    read: bool,
    write: bool,
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::MessageQueue;
    ///
    /// let mq = MessageQueue::options().max_messages(2).max_message_size(16).create_unique("/doc.mq-open")?;
    /// let other = MessageQueue::open(mq.name())?;
    /// other.send(b"hi", 0)?;
    /// assert_eq!(mq.receive()?.0, b"hi");
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::MessageQueue;
    /// let name = format!("/doc.mq-create.{}", std::process::id());
    /// let mq = MessageQueue::create(&name)?; // the system's default limits
    /// assert_eq!(mq.max_messages(), ipc::consts::queue_messages_max_default());
    /// let again = MessageQueue::create(&name)?; // exists: opened
    /// assert_eq!(again.max_message_size(), mq.max_message_size());
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::{ErrorKind, MessageQueue};
    /// let name = format!("/doc.mq-create-new.{}", std::process::id());
    /// let mq = MessageQueue::create_new(&name)?;
    /// assert_eq!(MessageQueue::create_new(&name).unwrap_err().kind(), ErrorKind::AlreadyExists);
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::MessageQueue;
    ///
    /// let mq = MessageQueue::options().max_messages(2).max_message_size(16).create_unique("/doc.mq-send")?;
    /// mq.send(b"job", 3)?;
    /// assert_eq!(mq.current_messages()?, 1);
    /// let err = mq.send(&[0; 17], 0).unwrap_err(); // longer than max_message_size
    /// assert_eq!(err.kind(), ipc::ErrorKind::InvalidInput);
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::MessageQueue;
    ///
    /// let mq = MessageQueue::options().max_messages(2).max_message_size(16).create_unique("/doc.mq-try-send")?;
    /// mq.try_send(b"1", 0)?;
    /// mq.try_send(b"2", 0)?;
    /// assert_eq!(mq.try_send(b"3", 0).unwrap_err().kind(), ipc::ErrorKind::Busy); // full
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::MessageQueue;
    ///
    /// let mq = MessageQueue::options().max_messages(2).max_message_size(16).create_unique("/doc.mq-send-timeout")?;
    /// use std::time::Duration;
    /// mq.send(b"1", 0)?;
    /// mq.send(b"2", 0)?;
    /// let err = mq.send_timeout(b"3", 0, Duration::from_millis(10)).unwrap_err();
    /// assert_eq!(err.kind(), ipc::ErrorKind::Busy);
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::MessageQueue;
    ///
    /// let mq = MessageQueue::options().max_messages(2).max_message_size(16).create_unique("/doc.mq-receive")?;
    /// mq.send(b"low", 1)?;
    /// mq.send(b"high", 7)?;
    /// assert_eq!(mq.receive()?, (b"high".to_vec(), 7));
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::MessageQueue;
    ///
    /// let mq = MessageQueue::options().max_messages(2).max_message_size(16).create_unique("/doc.mq-try-receive")?;
    /// assert_eq!(mq.try_receive().unwrap_err().kind(), ipc::ErrorKind::Busy);
    /// mq.send(b"x", 0)?;
    /// assert_eq!(mq.try_receive()?.0, b"x");
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::MessageQueue;
    ///
    /// let mq = MessageQueue::options().max_messages(2).max_message_size(16).create_unique("/doc.mq-receive-timeout")?;
    /// use std::time::Duration;
    /// let err = mq.receive_timeout(Duration::from_millis(10)).unwrap_err();
    /// assert_eq!(err.kind(), ipc::ErrorKind::Busy);
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::MessageQueue;
    ///
    /// let mq = MessageQueue::options().max_messages(2).max_message_size(16).create_unique("/doc.mq-receive-into")?;
    /// let mut buf = [0u8; 16]; // at least max_message_size
    /// mq.send(b"abc", 2)?;
    /// let (len, priority) = mq.receive_into(&mut buf)?;
    /// assert_eq!((&buf[..len], priority), (&b"abc"[..], 2));
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::MessageQueue;
    ///
    /// let mq = MessageQueue::options().max_messages(2).max_message_size(16).create_unique("/doc.mq-try-receive-into")?;
    /// let mut buf = [0u8; 16];
    /// assert!(mq.try_receive_into(&mut buf).is_err());
    /// mq.send(b"x", 0)?;
    /// assert_eq!(mq.try_receive_into(&mut buf)?, (1, 0));
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn try_receive_into(&self, buf: &mut [u8]) -> Result<(usize, u32)> {
        self.receive_into_with(buf, Wait::Try)
    }

    /// [`receive_into`](Self::receive_into), waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// As [`receive_into`](Self::receive_into); [`ErrorKind::Busy`]
    /// (`ETIMEDOUT`) when the time is up.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::MessageQueue;
    ///
    /// let mq = MessageQueue::options().max_messages(2).max_message_size(16).create_unique("/doc.mq-receive-into-timeout")?;
    /// use std::time::Duration;
    /// let mut buf = [0u8; 16];
    /// mq.send(b"x", 4)?;
    /// assert_eq!(mq.receive_into_timeout(&mut buf, Duration::from_secs(1))?, (1, 4));
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::MessageQueue;
    ///
    /// let mq = MessageQueue::options().max_messages(2).max_message_size(16).create_unique("/doc.mq-current")?;
    /// mq.send(b"1", 0)?;
    /// mq.send(b"2", 0)?;
    /// assert_eq!(mq.current_messages()?, 2);
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::MessageQueue;
    ///
    /// let mq = MessageQueue::options().max_messages(2).max_message_size(16).create_unique("/doc.mq-blocking")?;
    /// assert!(mq.is_blocking()?);
    /// mq.set_blocking(false)?;
    /// assert_eq!(mq.receive().unwrap_err().kind(), ipc::ErrorKind::Busy); // at once
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "mq_setattr")]
    pub fn set_blocking(&self, blocking: bool) -> Result<()> {
        mq::set_nonblocking(self.fd.as_fd(), !blocking).map_err(|e| self.error("mq_setattr", e))
    }

    fn attr(&self) -> Result<mq::Attr> {
        mq::attr(self.fd.as_fd()).map_err(|e| self.error("mq_getattr", e))
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::{ErrorKind, MessageQueue};
    ///
    /// let mq = MessageQueue::options().max_message_size(8).create_unique("/doc.mq-unlink-method")?;
    /// mq.send(b"kept", 0)?;
    /// mq.unlink()?;
    /// assert_eq!(mq.receive()?.0, b"kept"); // the handle still works
    /// assert_eq!(MessageQueue::open(mq.name()).unwrap_err().kind(), ErrorKind::NotFound);
    /// # Ok::<(), ipc::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::MessageQueue;
    ///
    /// let mq = MessageQueue::options().max_messages(2).max_message_size(16).create_unique("/doc.mq-close")?;
    /// let other = MessageQueue::open(mq.name())?;
    /// other.close()?; // reports what Drop would ignore
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "mq_close")]
    pub fn close(self) -> Result<()> {
        let MessageQueue {
            fd,
            name,
            notification,
            ..
        } = self;
        drop(notification);
        match Arc::try_unwrap(fd) {
            Ok(fd) => sys::close(fd).map_err(|e| Error::os("mq_close", Some(&name), e)),
            // A re-registration of this handle's callback, started just
            // before, still holds it: it closes when that ends.
            Err(_) => Ok(()),
        }
    }

    /// The name, shared, for errors made outside this module.
    #[cfg(feature = "tokio")]
    pub(crate) fn shared_name(&self) -> &Arc<str> {
        &self.name
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
