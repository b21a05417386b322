//! Notifications: `mq_notify` with a signal or a closure run on a thread.

use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use super::MessageQueue;
use crate::sys::{Errno, mq};
use crate::{Error, Result};

/// The token of a handle's callback registration, if any; dropping it drops
/// a closure that has not run.
#[derive(Default)]
pub(super) struct Registration(Mutex<Option<u64>>);

impl Drop for Registration {
    fn drop(&mut self) {
        let slot = self.0.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(token) = slot.take() {
            drop(callbacks::take(token));
        }
    }
}

impl MessageQueue {
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
    /// - [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput): `signal`
    ///   is not a signal number
    ///   (1 ..= [`crate::consts::user_signal_max`]).
    /// - [`ErrorKind::Busy`](crate::ErrorKind::Busy) (`EBUSY`): another process is registered.
    /// - Other OS errors are reported as [`ErrorKind::Other`](crate::ErrorKind::Other).
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::MessageQueue;
    ///
    /// let mq = MessageQueue::options().max_messages(2).max_message_size(8).create_unique("/doc.notify-signal")?;
    /// // Deliver SIGRTMIN to this process when a message arrives in the empty
    /// // queue (install a handler or block and wait for it first).
    /// mq.notify_signal(ipc::consts::user_signal_min())?;
    /// mq.cancel_notification()?;
    /// assert_eq!(mq.notify_signal(0).unwrap_err().kind(), ipc::ErrorKind::InvalidInput);
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
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
        let old = self.cancel_locked(&mut slot);
        let result = mq::notify_signal(self.fd.as_fd(), signal).map_err(|e| self.notify_error(e));
        // Closures are dropped after unlocking: a closure's Drop may call
        // back into this queue's notification methods.
        drop(slot);
        drop(old);
        result
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
    /// [`ErrorKind::Busy`](crate::ErrorKind::Busy) (`EBUSY`) when another
    /// process is registered. Other OS errors are reported as
    /// [`ErrorKind::Other`](crate::ErrorKind::Other). On error `f` is dropped.
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
        let old = self.cancel_locked(&mut slot);
        let token = callbacks::insert(Box::new(f));
        let (result, refused) =
            match mq::notify_thread(self.fd.as_fd(), callbacks::trampoline, token as usize) {
                Ok(()) => {
                    *slot = Some(token);
                    (Ok(()), None)
                }
                Err(e) => (Err(self.notify_error(e)), callbacks::take(token)),
            };
        // After unlocking, as in `notify_signal`.
        drop(slot);
        drop(old);
        drop(refused);
        result
    }

    /// `mq_notify(NULL)` — cancels this process's registration, dropping a
    /// closure that has not run. Does nothing if there is none, or if the
    /// registration belongs to another process.
    ///
    /// # Errors
    ///
    /// OS errors are reported as [`ErrorKind::Other`](crate::ErrorKind::Other); none is expected.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::MessageQueue;
    ///
    /// let mq = MessageQueue::options().max_messages(2).max_message_size(8).create_unique("/doc.notify-cancel")?;
    /// mq.notify_callback(|| unreachable!("cancelled before any message"))?;
    /// mq.cancel_notification()?; // the closure is dropped here
    /// mq.send(b"x", 0)?;
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "mq_notify")]
    pub fn cancel_notification(&self) -> Result<()> {
        let mut slot = self.lock_notification();
        let result = mq::notify_cancel(self.fd.as_fd()).map_err(|e| self.notify_error(e));
        let old = slot.take().and_then(callbacks::take);
        // After unlocking, as in `notify_signal`.
        drop(slot);
        drop(old);
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

    /// Cancels (ignoring errors, as posix_ipc does) before a new
    /// registration; returns the closure that will not run, for the caller
    /// to drop once it has released the lock.
    #[must_use]
    fn cancel_locked(&self, slot: &mut Option<u64>) -> Option<callbacks::Callback> {
        let _ = mq::notify_cancel(self.fd.as_fd());
        slot.take().and_then(callbacks::take)
    }

    fn notify_error(&self, errno: Errno) -> Error {
        let err = self.error("mq_notify", errno);
        if errno == libc::EBUSY {
            err.with_detail("another process is registered for notifications")
        } else {
            err
        }
    }
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

    pub(super) type Callback = Box<dyn FnOnce() + Send>;

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
        // Unwinding out of the `extern "C"` trampoline would abort this
        // whole test process; it returns instead, and the token is spent.
        let token = callbacks::insert(Box::new(|| panic!("in a notification")));
        callbacks::trampoline(libc::sigval {
            sival_ptr: std::ptr::without_provenance_mut(token as usize),
        });
        assert!(callbacks::take(token).is_none());
    }
}
