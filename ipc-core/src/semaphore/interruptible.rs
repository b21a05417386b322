//! Waits that a signal ends, for callers that run their own signal handlers.

use std::time::Duration;

use super::Semaphore;
use crate::Result;
use crate::deadline::Deadline;
use crate::sys::{Clock, sem::Sem};

impl Semaphore {
    /// `sem_wait` or `sem_clockwait` that returns at the first signal — waits
    /// like [`acquire`](Semaphore::acquire) (`None`) or
    /// [`acquire_timeout`](Semaphore::acquire_timeout) (`Some`), except that
    /// a signal that interrupts the wait ends it with
    /// [`ErrorKind::Interrupted`](crate::ErrorKind::Interrupted) instead of
    /// resuming it.
    ///
    /// For callers that must act on signals while a thread waits, such as a
    /// language binding whose interpreter runs its signal handlers only once
    /// the call returns: it runs them, then raises or waits again.
    /// `Some(Duration::ZERO)` behaves as
    /// [`try_acquire`](Semaphore::try_acquire).
    ///
    /// # Errors
    ///
    /// - `ErrorKind::Interrupted` (`EINTR`): a signal arrived first.
    /// - `ErrorKind::Busy` (`EAGAIN`, `ETIMEDOUT`): no unit before the
    ///   timeout expired.
    /// - other OS errors are reported as `ErrorKind::Other`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let sem = ipc::Semaphore::options().initial_value(1).create_unique("/ipc-doc.intr")?;
    /// sem.acquire_interruptible(None)?;
    /// let busy = sem.acquire_interruptible(Some(Duration::from_millis(5))).unwrap_err();
    /// assert_eq!(busy.kind(), ipc::ErrorKind::Busy);
    /// sem.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn acquire_interruptible(&self, timeout: Option<Duration>) -> Result<()> {
        if timeout.is_some_and(|t| t.is_zero()) {
            return self.try_acquire();
        }
        if self.raw.try_wait().is_ok() {
            return Ok(());
        }
        let Some(deadline) = timeout.and_then(Deadline::after) else {
            return self.raw.wait().map_err(|e| self.error("sem_wait", e));
        };
        loop {
            match self.raw.wait_until(&deadline.on(Sem::WAIT_CLOCK)) {
                // A wall-clock deadline that a clock jump brought forward:
                // the monotonic one has not passed yet.
                Err(libc::ETIMEDOUT)
                    if Sem::WAIT_CLOCK == Clock::Realtime && !deadline.expired() => {}
                result => return result.map_err(|e| self.error("sem_clockwait", e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::{ErrorKind, Semaphore};

    #[test]
    fn waits_and_times_out_like_the_retrying_calls() {
        let sem = Semaphore::options()
            .initial_value(1)
            .create_unique("/ipc-unit-intr")
            .unwrap();
        sem.unlink().unwrap();
        sem.acquire_interruptible(None).unwrap();
        let e = sem.acquire_interruptible(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Busy);
        let start = Instant::now();
        let e = sem
            .acquire_interruptible(Some(Duration::from_millis(30)))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Busy);
        assert!(start.elapsed() >= Duration::from_millis(30));
        sem.release().unwrap();
        sem.acquire_interruptible(Some(Duration::from_secs(5)))
            .unwrap();
    }
}
