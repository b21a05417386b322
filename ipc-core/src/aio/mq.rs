//! [`AsyncMessageQueue`]: a message queue whose waits are futures.

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::{Error, ErrorKind, MessageQueue, Result, sys};

/// A [`MessageQueue`] registered with tokio's reactor: [`send`](Self::send),
/// [`receive`](Self::receive) and [`receive_into`](Self::receive_into) are
/// futures that wait for the queue's descriptor to be ready and never block
/// the runtime's threads. Needs tokio's I/O driver (`enable_io`, or
/// `enable_all`, or `#[tokio::main]`).
///
/// The queue is switched to non-blocking mode. Each future tries the call and,
/// when the queue is full (or empty), waits for epoll to report a change and
/// tries again; several tasks may wait on one handle at once.
///
/// # Cancellation
///
/// Every future here is cancellation-safe: a message is taken from the
/// kernel and returned (or given to it) within one poll, so a future dropped
/// while it waits — by `tokio::time::timeout`, `select!`, or an aborted task
/// — has received nothing and sent nothing. A message is either returned by
/// a completed future or still in the queue.
///
/// # Examples
///
/// ```
/// use ipc::{AsyncMessageQueue, MessageQueue};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ipc::Result<()> {
/// let queue = MessageQueue::options().max_messages(4).max_message_size(64).create_unique("/doc.amq")?;
/// let queue = AsyncMessageQueue::new(queue)?;
/// let waiting = queue.receive(); // nothing sent yet: this future waits
/// queue.send(b"hello", 1).await?;
/// assert_eq!(waiting.await?, (b"hello".to_vec(), 1));
/// queue.get_ref().unlink()?;
/// # Ok(()) }
/// ```
pub struct AsyncMessageQueue {
    fd: AsyncFd<MessageQueue>,
}

impl AsyncMessageQueue {
    /// `mq_setattr(O_NONBLOCK)` and `epoll_ctl(EPOLL_CTL_ADD)` — makes
    /// `queue` non-blocking and registers it with the current tokio
    /// runtime's reactor.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Other`] when called outside a tokio runtime, or when
    /// `mq_setattr` or the registration fails; the queue is closed then.
    ///
    /// # Panics
    ///
    /// As tokio does, when the current runtime was built without its I/O
    /// driver (`Builder::enable_io`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::{AsyncMessageQueue, MessageQueue};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ipc::Result<()> {
    /// let queue = MessageQueue::options().max_message_size(16).create_unique("/doc.amq-new")?;
    /// let queue = AsyncMessageQueue::new(queue)?;
    /// assert!(!queue.get_ref().is_blocking()?);
    /// queue.get_ref().unlink()?;
    /// # Ok(()) }
    /// ```
    pub fn new(queue: MessageQueue) -> Result<AsyncMessageQueue> {
        const OP: &str = "AsyncMessageQueue::new";
        let name = queue.shared_name().clone();
        super::require_runtime(OP, &name)?;
        queue.set_blocking(false)?;
        let fd = sys::aio::register(queue).map_err(|e| io_error(OP, &name, &e))?;
        Ok(AsyncMessageQueue { fd })
    }

    /// `mq_send` once the queue has room — sends `message` with `priority`.
    ///
    /// Cancellation-safe: if the future is dropped before it completes, the
    /// message was not sent.
    ///
    /// # Errors
    ///
    /// As [`MessageQueue::send`], except that a full queue is waited for,
    /// never [`ErrorKind::Busy`]. [`ErrorKind::Other`] if the runtime's
    /// reactor has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::{AsyncMessageQueue, MessageQueue};
    /// use std::time::Duration;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ipc::Result<()> {
    /// let queue = MessageQueue::options().max_messages(1).max_message_size(16).create_unique("/doc.amq-send")?;
    /// let queue = AsyncMessageQueue::new(queue)?;
    /// queue.send(b"first", 0).await?;
    /// // Full: the second send waits, and a timeout drops it unsent.
    /// let late = tokio::time::timeout(Duration::from_millis(20), queue.send(b"second", 0)).await;
    /// assert!(late.is_err());
    /// assert_eq!(queue.get_ref().current_messages()?, 1);
    /// queue.get_ref().unlink()?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "mq_send")]
    pub async fn send(&self, message: &[u8], priority: u32) -> Result<()> {
        self.when_ready(Interest::WRITABLE, |q| q.try_send(message, priority))
            .await
    }

    /// `mq_receive` once a message is waiting — takes the oldest message of
    /// the highest priority.
    ///
    /// Cancellation-safe: if the future is dropped before it completes, no
    /// message was taken.
    ///
    /// # Errors
    ///
    /// As [`MessageQueue::receive`], except that an empty queue is waited
    /// for, never [`ErrorKind::Busy`]. [`ErrorKind::Other`] if the runtime's
    /// reactor has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::{AsyncMessageQueue, MessageQueue};
    /// # #[tokio::main]
    /// # async fn main() -> ipc::Result<()> {
    /// let queue = MessageQueue::options().max_messages(4).max_message_size(16).create_unique("/doc.amq-receive")?;
    /// let sender = MessageQueue::open(queue.name())?; // another handle, or another process
    /// let queue = AsyncMessageQueue::new(queue)?;
    /// let task = tokio::spawn(async move { queue.receive().await.map(|m| (m, queue)) });
    /// sender.send(b"job", 3)?;
    /// let (message, queue) = task.await.expect("no panic")?;
    /// assert_eq!(message, (b"job".to_vec(), 3));
    /// queue.get_ref().unlink()?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "mq_receive")]
    pub async fn receive(&self) -> Result<(Vec<u8>, u32)> {
        self.when_ready(Interest::READABLE, MessageQueue::try_receive)
            .await
    }

    /// `mq_receive` into `buf` once a message is waiting, allocating
    /// nothing; returns the message's length and priority.
    ///
    /// Cancellation-safe: if the future is dropped before it completes, no
    /// message was taken (and `buf` is unchanged).
    ///
    /// # Errors
    ///
    /// As [`MessageQueue::receive_into`] ([`ErrorKind::InvalidInput`] if
    /// `buf` is shorter than `max_message_size`), except that an empty queue
    /// is waited for, never [`ErrorKind::Busy`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::{AsyncMessageQueue, MessageQueue};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ipc::Result<()> {
    /// let queue = MessageQueue::options().max_messages(4).max_message_size(16).create_unique("/doc.amq-receive-into")?;
    /// let queue = AsyncMessageQueue::new(queue)?;
    /// queue.send(b"abc", 2).await?;
    /// let mut buf = [0u8; 16];
    /// let (len, priority) = queue.receive_into(&mut buf).await?;
    /// assert_eq!((&buf[..len], priority), (&b"abc"[..], 2));
    /// queue.get_ref().unlink()?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "mq_receive")]
    pub async fn receive_into(&self, buf: &mut [u8]) -> Result<(usize, u32)> {
        self.when_ready(Interest::READABLE, |q| q.try_receive_into(buf))
            .await
    }

    /// The queue, for its other methods (`name`, `unlink`, `try_send`,
    /// `current_messages`...). It is non-blocking: its blocking `send` and
    /// `receive` fail with [`ErrorKind::Busy`] instead of waiting.
    #[must_use]
    pub fn get_ref(&self) -> &MessageQueue {
        self.fd.get_ref()
    }

    /// Deregisters the queue from the reactor and gives it back, still
    /// non-blocking ([`MessageQueue::set_blocking`] undoes that).
    #[must_use]
    pub fn into_inner(self) -> MessageQueue {
        self.fd.into_inner()
    }

    /// Tries `op` until it does not report [`ErrorKind::Busy`], waiting for
    /// `interest` between tries.
    ///
    /// The only `.await` is the readiness wait, before `op` runs; `op` itself
    /// completes within the poll that runs it, so a drop at any await point
    /// leaves the queue as if this call had never been made.
    async fn when_ready<R>(
        &self,
        interest: Interest,
        mut op: impl FnMut(&MessageQueue) -> Result<R>,
    ) -> Result<R> {
        // Try first: the reactor may not have reported a queue that was
        // already ready when it was registered.
        match op(self.fd.get_ref()) {
            Err(e) if e.kind() == ErrorKind::Busy => {}
            done => return done,
        }
        loop {
            let mut ready = self
                .fd
                .ready(interest)
                .await
                .map_err(|e| io_error("epoll_wait", self.fd.get_ref().shared_name(), &e))?;
            match op(self.fd.get_ref()) {
                // Another task (or process) took the message or the room:
                // forget this readiness and wait for the next edge. tokio
                // keeps readiness that arrived after `ready` was reported.
                Err(e) if e.kind() == ErrorKind::Busy => ready.clear_ready(),
                done => return done,
            }
        }
    }
}

fn io_error(op: &'static str, name: &std::sync::Arc<str>, e: &std::io::Error) -> Error {
    match e.raw_os_error() {
        Some(errno) => Error::os(op, Some(name), errno),
        None => Error::new(ErrorKind::Other, op, Some(name), format!("tokio: {e}")),
    }
}

impl From<AsyncMessageQueue> for MessageQueue {
    fn from(queue: AsyncMessageQueue) -> MessageQueue {
        queue.into_inner()
    }
}

impl AsFd for AsyncMessageQueue {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.get_ref().as_fd()
    }
}

impl AsRawFd for AsyncMessageQueue {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.get_ref().as_raw_fd()
    }
}

impl fmt::Debug for AsyncMessageQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncMessageQueue")
            .field("queue", self.fd.get_ref())
            .finish()
    }
}

impl fmt::Display for AsyncMessageQueue {
    /// The name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.fd.get_ref(), f)
    }
}
