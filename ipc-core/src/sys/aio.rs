//! Registering a message queue's descriptor with tokio's reactor.

use tokio::io::unix::AsyncFd;

use crate::MessageQueue;

/// `epoll_ctl(EPOLL_CTL_ADD)` on the queue's descriptor, through tokio's
/// reactor; gives the queue back with the error if that fails.
///
/// Must be called inside a tokio runtime whose I/O driver is enabled (tokio
/// panics otherwise; the caller checks for a runtime first).
pub(crate) fn register(queue: MessageQueue) -> Result<AsyncFd<MessageQueue>, std::io::Error> {
    // SAFETY: `AsyncFd::register` needs the descriptor that
    // `queue.as_raw_fd()` returns to stay open, to refer to the same open
    // file description, and to be returned by every `as_raw_fd` call, for
    // as long as the AsyncFd owns `queue`. It does: `MessageQueue` holds its
    // descriptor in a private `OwnedFd` field that no method reassigns, and
    // closes it only in `Drop` or `close(self)`, neither of which can run
    // while the AsyncFd owns the value (AsyncFd drops its registration
    // before it drops the inner value, and `into_inner` deregisters first).
    // The `AsyncMessageQueue` that holds the AsyncFd hands out only `&`
    // access to the queue, so no `mem::swap` can replace it either.
    unsafe { AsyncFd::register(queue) }.map_err(|e| {
        let (queue, error) = e.into_parts();
        drop(queue);
        error
    })
}
