//! Sends and receives that a signal ends, for callers that run their own
//! signal handlers.

use std::os::fd::AsFd;
use std::time::Duration;

use super::{MessageQueue, Wait};
use crate::deadline::Deadline;
use crate::sys::mq;
use crate::{ErrorKind, Result};

impl MessageQueue {
    /// `mq_send` or `mq_timedsend` that returns at the first signal — sends
    /// like [`send`](MessageQueue::send) (`None`) or
    /// [`send_timeout`](MessageQueue::send_timeout) (`Some`), except that a
    /// signal that interrupts the wait ends it with
    /// [`ErrorKind::Interrupted`] instead of resuming it.
    ///
    /// For callers that must act on signals while a thread waits, such as a
    /// language binding whose interpreter runs its signal handlers only once
    /// the call returns. `Some(Duration::ZERO)` behaves as
    /// [`try_send`](MessageQueue::try_send).
    ///
    /// # Errors
    ///
    /// Those of [`send`](MessageQueue::send), and
    /// `ErrorKind::Interrupted` (`EINTR`) when a signal arrived first;
    /// other OS errors are reported as `ErrorKind::Other`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mq = ipc::MessageQueue::options()
    ///     .max_messages(1)
    ///     .max_message_size(8)
    ///     .create_unique("/ipc-doc.intr")?;
    /// mq.send_interruptible(b"hi", 0, None)?;
    /// let full = mq.send_interruptible(b"hi", 0, Some(std::time::Duration::from_millis(5)));
    /// assert_eq!(full.unwrap_err().kind(), ipc::ErrorKind::Busy);
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn send_interruptible(
        &self,
        message: &[u8],
        priority: u32,
        timeout: Option<Duration>,
    ) -> Result<()> {
        // The attempt that does not wait also checks access, size and
        // priority, so the waiting call below only has to wait.
        match self.send_with(message, priority, Wait::Try) {
            Err(e) if e.kind() == ErrorKind::Busy && !timeout.is_some_and(|t| t.is_zero()) => {}
            result => return result,
        }
        let fd = self.fd.as_fd();
        let deadline = timeout.and_then(Deadline::after);
        until(deadline.as_ref(), |at| mq::send(fd, message, priority, at))
            .map_err(|e| self.busy_error("mq_send", e, "the queue is full"))
    }

    /// `mq_receive` or `mq_timedreceive` into `buf` that returns at the
    /// first signal — receives like [`receive_into`](MessageQueue::receive_into)
    /// (`None`) or [`receive_into_timeout`](MessageQueue::receive_into_timeout)
    /// (`Some`), except that a signal that interrupts the wait ends it with
    /// [`ErrorKind::Interrupted`] instead of resuming it.
    ///
    /// # Errors
    ///
    /// Those of [`receive_into`](MessageQueue::receive_into), and
    /// `ErrorKind::Interrupted` (`EINTR`) when a signal arrived first;
    /// other OS errors are reported as `ErrorKind::Other`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mq = ipc::MessageQueue::options()
    ///     .max_messages(1)
    ///     .max_message_size(8)
    ///     .create_unique("/ipc-doc.intr")?;
    /// mq.send(b"hi", 3)?;
    /// let mut buf = [0u8; 8];
    /// assert_eq!(mq.receive_into_interruptible(&mut buf, None)?, (2, 3));
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn receive_into_interruptible(
        &self,
        buf: &mut [u8],
        timeout: Option<Duration>,
    ) -> Result<(usize, u32)> {
        match self.receive_into_with(buf, Wait::Try) {
            Err(e) if e.kind() == ErrorKind::Busy && !timeout.is_some_and(|t| t.is_zero()) => {}
            result => return result,
        }
        let fd = self.fd.as_fd();
        let deadline = timeout.and_then(Deadline::after);
        until(deadline.as_ref(), |at| mq::receive(fd, buf, at))
            .map_err(|e| self.busy_error("mq_receive", e, "the queue is empty"))
    }
}

/// One call without a deadline, or calls until the monotonic `deadline`
/// passes: `mq_timed*` take a wall-clock deadline, and one that a clock jump
/// brought forward is retried. `EINTR` ends it either way.
fn until<T>(
    deadline: Option<&Deadline>,
    mut f: impl FnMut(Option<&libc::timespec>) -> Result<T, crate::sys::Errno>,
) -> Result<T, crate::sys::Errno> {
    let Some(deadline) = deadline else {
        return f(None);
    };
    loop {
        match f(Some(&deadline.on(crate::sys::Clock::Realtime))) {
            Err(libc::ETIMEDOUT) if !deadline.expired() => {}
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::{ErrorKind, MessageQueue};

    #[test]
    fn checks_waits_and_times_out_like_the_retrying_calls() {
        let mq = MessageQueue::options()
            .max_messages(1)
            .max_message_size(4)
            .create_unique("/ipc-unit-intr")
            .unwrap();
        mq.unlink().unwrap();
        let e = mq.send_interruptible(b"too long", 0, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        mq.send_interruptible(b"ab", 7, None).unwrap();
        let start = Instant::now();
        let e = mq
            .send_interruptible(b"cd", 0, Some(Duration::from_millis(30)))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Busy);
        assert!(start.elapsed() >= Duration::from_millis(30));
        let e = mq
            .send_interruptible(b"cd", 0, Some(Duration::ZERO))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Busy);
        let mut buf = [0u8; 4];
        assert_eq!(
            mq.receive_into_interruptible(&mut buf, None).unwrap(),
            (2, 7)
        );
        let e = mq
            .receive_into_interruptible(&mut buf, Some(Duration::from_millis(10)))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Busy);
    }
}
