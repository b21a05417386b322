//! Async waits on tokio (feature `tokio`): [`AsyncMessageQueue`],
//! [`AsyncSemaphore`], [`AsyncSender`] / [`AsyncReceiver`] and
//! [`Mutex::with_lock`](crate::Mutex::with_lock).
//!
//! Nothing here blocks a runtime worker thread:
//!
//! - A message queue is a descriptor on Linux, so [`AsyncMessageQueue`]
//!   registers it with tokio's reactor (`AsyncFd`, epoll) and opens it
//!   non-blocking: each future tries the operation, and on `EAGAIN` clears
//!   the readiness it saw and waits for the next edge. The message moves
//!   between the kernel and the caller inside one poll, so dropping a future
//!   never loses a message.
//! - A semaphore has no descriptor. [`AsyncSemaphore`] tries `sem_trywait`
//!   on the task; if that fails the task joins a FIFO queue of waiters, and
//!   one helper thread per handle waits in `sem_clockwait` and hands each unit
//!   it takes to the oldest waiter still there, as a guard sent through a
//!   oneshot channel. A unit that finds no taker — its future was dropped
//!   before or after the hand-over — is released by the guard's `Drop`.
//! - A [`Channel`](crate::Channel) lives in shared memory and its sleepers
//!   sleep on a futex, which no reactor can poll. [`AsyncSender`] and
//!   [`AsyncReceiver`] try the claim on the task; while it fails, one helper
//!   thread per handle sleeps on the futex (as a blocked `send`/`recv`
//!   would) and wakes the waiting tasks when a claim could succeed. The
//!   helper only looks, never claims, so the value moves inside the poll
//!   that returns it and dropping a future never loses one.
//! - A robust mutex belongs to the thread that locked it, so its guard cannot
//!   cross an `.await`; [`Mutex::with_lock`](crate::Mutex::with_lock) runs a
//!   closure under the lock on tokio's blocking pool instead.

mod channel;
#[cfg(target_os = "linux")]
mod mq;
mod mutex;
mod semaphore;

pub use channel::{AsyncReceiver, AsyncSender};
#[cfg(target_os = "linux")]
pub use mq::AsyncMessageQueue;
pub use semaphore::{AsyncSemaphore, AsyncSemaphoreGuard};

use std::sync::{Arc, Condvar, MutexGuard, PoisonError};
use std::time::Duration;

use crate::{Error, ErrorKind, Result};

/// Starts a helper thread named `thread` running `f`; a failure is an
/// [`ErrorKind::Other`] naming `op` (the call the helper waits in) and the
/// object.
fn spawn_helper(
    thread: &str,
    op: &'static str,
    object: &Arc<str>,
    f: impl FnOnce() + Send + 'static,
) -> Result<()> {
    std::thread::Builder::new()
        .name(thread.into())
        .spawn(f)
        .map(drop)
        .map_err(|e| {
            Error::new(
                ErrorKind::Other,
                op,
                Some(object),
                format!("cannot start the helper thread: {e}"),
            )
        })
}

/// How the helper threads of [`AsyncSemaphore`] and of the channel handles
/// wait for work: blocks on `wake` until `has_work` (true), or until the
/// helper should exit (false: its handle is gone, or no work came for
/// `idle`), clearing the state's "helper running" flag then. `has_work` may
/// tidy the state first (drop waiters that went away); `flags` gives the
/// state's "helper running" flag and whether the handle is gone.
fn wait_for_work<S>(
    mut state: MutexGuard<'_, S>,
    wake: &Condvar,
    idle: Duration,
    flags: impl Fn(&mut S) -> (&mut bool, bool),
    mut has_work: impl FnMut(&mut S) -> bool,
) -> bool {
    let mut timed_out = false;
    loop {
        let work = has_work(&mut state);
        let (helper, closed) = flags(&mut state);
        if closed || (timed_out && !work) {
            *helper = false;
            return false;
        }
        if work {
            return true;
        }
        let (next, timeout) = wake
            .wait_timeout(state, idle)
            .unwrap_or_else(PoisonError::into_inner);
        state = next;
        timed_out = timeout.timed_out();
    }
}

/// Fails unless the caller runs inside a tokio runtime: tokio panics when a
/// reactor or the blocking pool is used from outside one.
fn require_runtime(op: &'static str, name: &Arc<str>) -> Result<tokio::runtime::Handle> {
    tokio::runtime::Handle::try_current().map_err(|_| {
        Error::new(
            ErrorKind::Other,
            op,
            Some(name),
            "no tokio runtime: call this from inside one (a task, or Runtime::enter)",
        )
    })
}
