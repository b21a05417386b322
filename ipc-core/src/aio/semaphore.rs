//! [`AsyncSemaphore`]: a named semaphore whose acquire is a future.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::{Error, ErrorKind, Result, Semaphore};

/// How long the helper thread waits in `sem_clockwait` before it looks
/// again at its queue of waiters: the longest it keeps waiting for tasks
/// that have all gone away. A `sem_post` wakes it at once.
const POLL: Duration = Duration::from_millis(20);

/// How long the helper thread stays without waiters before it exits (the
/// next waiter starts a new one).
const IDLE: Duration = Duration::from_secs(1);

/// A [`Semaphore`] whose [`lock`](Self::lock) and [`acquire`](Self::acquire)
/// are futures: waiting tasks do not block the runtime's threads.
///
/// A semaphore has no descriptor to poll, so the wait happens elsewhere. An
/// acquire first tries `sem_trywait` on the task. If that fails, the task
/// joins this handle's FIFO queue of waiters, and a helper thread (one per
/// handle, started on demand, gone after a second without waiters) waits in
/// `sem_clockwait` and hands each unit it takes to the oldest waiter still
/// there. A task only tries `sem_trywait` when nobody is queued before it,
/// so within a process units go to waiters in the order they came, and no
/// task starves behind later ones. Across processes the order is the
/// kernel's, as for [`Semaphore::acquire`].
///
/// Cheap to clone: the clones share one handle, one queue and one helper
/// thread.
///
/// # Cancellation
///
/// [`lock`](Self::lock) and [`acquire`](Self::acquire) are cancellation-safe:
/// a future dropped before it completes — by `tokio::time::timeout`,
/// `select!`, or an aborted task — holds no unit. A unit the helper took for
/// a waiter that went away is released, whether the waiter left before the
/// hand-over (the helper finds it gone) or after (the unit sits in the
/// dropped channel as an [`AsyncSemaphoreGuard`], whose `Drop` releases it).
///
/// # Examples
///
/// ```
/// use ipc::{AsyncSemaphore, Semaphore};
/// # #[tokio::main]
/// # async fn main() -> ipc::Result<()> {
/// let sem = AsyncSemaphore::new(Semaphore::options().initial_value(1).create_unique("/doc.asem")?);
/// let guard = sem.lock().await?;
/// let waiter = tokio::spawn({
///     let sem = sem.clone();
///     async move { sem.lock().await.map(drop) } // waits without blocking a thread
/// });
/// drop(guard); // the waiter gets the unit
/// waiter.await.expect("no panic")?;
/// assert_eq!(sem.semaphore().value()?, 1);
/// sem.semaphore().unlink()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AsyncSemaphore {
    handle: Arc<Handle>,
}

/// Holds one unit of an [`AsyncSemaphore`] and releases it on drop, also
/// while a panic unwinds.
///
/// `Send` and `'static`, so it can be held across `.await` and moved between
/// tasks and threads: a POSIX semaphore has no owner, and any thread may
/// post the unit back.
#[must_use = "the semaphore is released as soon as the guard is dropped"]
pub struct AsyncSemaphoreGuard {
    shared: Arc<Shared>,
    armed: bool,
}

/// What the user's clones share; its drop tells the helper thread to go.
struct Handle {
    shared: Arc<Shared>,
}

/// What the handle, the helper thread and the guards share.
struct Shared {
    sem: Semaphore,
    state: std::sync::Mutex<State>,
    /// `state.waiters.len()`, readable without the lock: the fast path only
    /// tries `sem_trywait` when it is 0.
    queued: AtomicUsize,
    /// Signalled when a waiter joins the queue, or the handle is dropped.
    wake: Condvar,
}

struct State {
    /// Oldest first. A sender whose receiver was dropped is a waiter that
    /// went away; the helper skips it.
    waiters: VecDeque<oneshot::Sender<Result<AsyncSemaphoreGuard>>>,
    /// A helper thread is running (or starting).
    helper: bool,
    /// The last clone of the handle was dropped.
    closed: bool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // No code that can panic runs under this lock; if some did, the
        // queue would still be consistent, so poisoning is ignored.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl AsyncSemaphore {
    /// Wraps `sem`; waits on it will be futures.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::{AsyncSemaphore, Semaphore};
    ///
    /// let sem = AsyncSemaphore::new(Semaphore::options().initial_value(2).create_unique("/doc.asem-new")?);
    /// assert_eq!(sem.semaphore().value()?, 2);
    /// sem.semaphore().unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[must_use]
    pub fn new(sem: Semaphore) -> AsyncSemaphore {
        let shared = Arc::new(Shared {
            sem,
            state: std::sync::Mutex::new(State {
                waiters: VecDeque::new(),
                helper: false,
                closed: false,
            }),
            queued: AtomicUsize::new(0),
            wake: Condvar::new(),
        });
        AsyncSemaphore {
            handle: Arc::new(Handle { shared }),
        }
    }

    /// Waits for a unit and returns a guard that releases it on drop.
    ///
    /// Cancellation-safe: a dropped future holds no unit (see
    /// [Cancellation](AsyncSemaphore#cancellation)).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Other`] when the helper thread cannot be started, or
    /// `sem_clockwait` reports an error (none is expected with a handle from
    /// this crate); other errors of `sem_trywait` as
    /// [`Semaphore::try_acquire`], except [`ErrorKind::Busy`], which is
    /// waited out.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::{AsyncSemaphore, Semaphore};
    /// use std::time::Duration;
    /// # #[tokio::main]
    /// # async fn main() -> ipc::Result<()> {
    /// let sem = AsyncSemaphore::new(Semaphore::options().initial_value(1).create_unique("/doc.asem-lock")?);
    /// let guard = sem.lock().await?;
    /// // Taken: a second lock waits, and the timeout drops it without a unit.
    /// assert!(tokio::time::timeout(Duration::from_millis(20), sem.lock()).await.is_err());
    /// drop(guard);
    /// assert_eq!(sem.semaphore().value()?, 1);
    /// sem.semaphore().unlink()?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "sem_wait")]
    pub async fn lock(&self) -> Result<AsyncSemaphoreGuard> {
        let shared = &self.handle.shared;
        // Nobody here is waiting longer: taking a free unit now overtakes
        // no one. (A waiter queued at this very moment may be overtaken
        // once; it is not starved, as every later task sees it queued.)
        if shared.queued.load(Ordering::Acquire) == 0 {
            match shared.sem.try_acquire() {
                Ok(()) => return Ok(AsyncSemaphoreGuard::new(Arc::clone(shared))),
                Err(e) if e.kind() == ErrorKind::Busy => {}
                Err(e) => return Err(e),
            }
        }
        let waiting = {
            let mut state = shared.state();
            let (tx, rx) = oneshot::channel();
            state.waiters.push_back(tx);
            shared.queued.store(state.waiters.len(), Ordering::Release);
            if state.helper {
                shared.wake.notify_one();
            } else {
                start_helper(shared, &mut state)?;
            }
            rx
        };
        // The only await point. Dropped here, the receiver takes with it any
        // guard already sent, which releases its unit.
        match waiting.await {
            Ok(result) => result,
            Err(_) => Err(Error::new(
                ErrorKind::Other,
                "sem_clockwait",
                Some(shared.sem.shared_name()),
                "the helper thread stopped",
            )),
        }
    }

    /// Waits for a unit and keeps it: as [`lock`](Self::lock) without the
    /// guard. Give the unit back with [`release`](Self::release).
    ///
    /// Cancellation-safe: a dropped future took no unit.
    ///
    /// # Errors
    ///
    /// As [`lock`](Self::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::{AsyncSemaphore, Semaphore};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ipc::Result<()> {
    /// let sem = AsyncSemaphore::new(Semaphore::options().initial_value(1).create_unique("/doc.asem-acquire")?);
    /// sem.acquire().await?;
    /// assert_eq!(sem.semaphore().value()?, 0);
    /// sem.release()?;
    /// sem.semaphore().unlink()?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "sem_wait")]
    pub async fn acquire(&self) -> Result<()> {
        self.lock().await.map(AsyncSemaphoreGuard::forget)
    }

    /// `sem_trywait` — takes a unit now if one is free, without waiting.
    ///
    /// # Errors
    ///
    /// As [`Semaphore::try_acquire`]: [`ErrorKind::Busy`] when the value is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::{AsyncSemaphore, Semaphore};
    ///
    /// let sem = AsyncSemaphore::new(Semaphore::options().initial_value(1).create_unique("/doc.asem-try")?);
    /// let guard = sem.try_lock()?;
    /// assert_eq!(sem.try_lock().unwrap_err().kind(), ipc::ErrorKind::Busy);
    /// drop(guard);
    /// sem.semaphore().unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "sem_trywait")]
    pub fn try_lock(&self) -> Result<AsyncSemaphoreGuard> {
        let shared = &self.handle.shared;
        shared.sem.try_acquire()?;
        Ok(AsyncSemaphoreGuard::new(Arc::clone(shared)))
    }

    /// `sem_post` — gives a unit back (as [`Semaphore::release`]).
    ///
    /// # Errors
    ///
    /// As [`Semaphore::release`].
    pub fn release(&self) -> Result<()> {
        self.handle.shared.sem.release()
    }

    /// The semaphore, for its other methods (`value`, `name`, `unlink`...).
    #[must_use]
    pub fn semaphore(&self) -> &Semaphore {
        &self.handle.shared.sem
    }
}

impl From<Semaphore> for AsyncSemaphore {
    fn from(sem: Semaphore) -> AsyncSemaphore {
        AsyncSemaphore::new(sem)
    }
}

/// Starts the helper thread; on failure, takes the caller's waiter (the
/// last one queued) back out of the queue.
fn start_helper(shared: &Arc<Shared>, state: &mut State) -> Result<()> {
    let started = spawn(shared);
    if started.is_ok() {
        state.helper = true;
    } else {
        state.waiters.pop_back();
        shared.queued.store(state.waiters.len(), Ordering::Release);
    }
    started
}

/// Starts a helper thread for `shared`.
fn spawn(shared: &Arc<Shared>) -> Result<()> {
    let for_thread = Arc::clone(shared);
    super::spawn_helper(
        "ipc-sem-waiter",
        "sem_clockwait",
        shared.sem.shared_name(),
        move || helper(&for_thread),
    )
}

/// The helper thread: while waiters are queued, takes units with
/// `sem_clockwait` and hands each to the oldest waiter still there.
fn helper(shared: &Arc<Shared>) {
    let _exit = HelperExit(shared);
    loop {
        if !wait_for_waiters(shared) {
            return;
        }
        match shared.sem.acquire_timeout(POLL) {
            Ok(()) => {
                let unit = AsyncSemaphoreGuard::new(Arc::clone(shared));
                // Released by its Drop if no waiter is left to take it.
                drop(hand_over(shared, Ok(unit)));
            }
            // Time to look at the queue again: its waiters may have left.
            Err(e) if e.kind() == ErrorKind::Busy => {}
            Err(e) => {
                drop(hand_over(shared, Err(e)));
                // Not expected with a valid handle; do not spin on it.
                std::thread::sleep(POLL);
            }
        }
    }
}

/// Should the helper thread unwind (a task's waker panicked while a unit
/// was handed to it: the unit went with the hand-over, so nothing leaks),
/// starts another for the waiters still queued, so that they are not left
/// waiting for a thread that no longer runs.
struct HelperExit<'a>(&'a Arc<Shared>);

impl Drop for HelperExit<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let mut state = self.0.state();
        state.helper = false;
        if state.waiters.is_empty() {
            return;
        }
        // If no thread can start, the next task to wait tries again.
        state.helper = spawn(self.0).is_ok();
    }
}

/// Blocks until a live waiter is queued (true) or the helper should exit
/// (false: the handle is gone, or nobody came for `IDLE`).
fn wait_for_waiters(shared: &Shared) -> bool {
    super::wait_for_work(
        shared.state(),
        &shared.wake,
        IDLE,
        |state| (&mut state.helper, state.closed),
        |state| {
            state.waiters.retain(|tx| !tx.is_closed());
            shared.queued.store(state.waiters.len(), Ordering::Release);
            !state.waiters.is_empty()
        },
    )
}

/// Sends `outcome` to the oldest waiter still listening; gives it back if
/// none is.
fn hand_over(
    shared: &Shared,
    outcome: Result<AsyncSemaphoreGuard>,
) -> Option<Result<AsyncSemaphoreGuard>> {
    let mut state = shared.state();
    let mut left = Some(outcome);
    while let Some(waiter) = state.waiters.pop_front() {
        let Some(outcome) = left.take() else { break };
        match waiter.send(outcome) {
            Ok(()) => break,
            Err(back) => left = Some(back),
        }
    }
    shared.queued.store(state.waiters.len(), Ordering::Release);
    left
}

impl AsyncSemaphoreGuard {
    fn new(shared: Arc<Shared>) -> AsyncSemaphoreGuard {
        AsyncSemaphoreGuard {
            shared,
            armed: true,
        }
    }

    /// The semaphore this guard holds a unit of.
    #[must_use]
    pub fn semaphore(&self) -> &Semaphore {
        &self.shared.sem
    }

    /// Keeps the unit taken: drops the guard without releasing it.
    pub fn forget(mut self) {
        self.armed = false;
    }

    /// Releases the unit now, reporting the error that `Drop` would ignore.
    ///
    /// # Errors
    ///
    /// As [`Semaphore::release`].
    pub fn unlock(mut self) -> Result<()> {
        self.armed = false;
        self.shared.sem.release()
    }
}

impl Drop for AsyncSemaphoreGuard {
    fn drop(&mut self) {
        if self.armed {
            // As SemaphoreGuard: the only possible error is EOVERFLOW, a
            // value already at its maximum, which this unit did not cause.
            let _ = self.shared.sem.release();
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let mut state = self.shared.state();
        state.closed = true;
        self.shared.wake.notify_all();
    }
}

impl fmt::Debug for AsyncSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let waiters = self.handle.shared.state().waiters.len();
        f.debug_struct("AsyncSemaphore")
            .field("semaphore", &self.handle.shared.sem)
            .field("waiters", &waiters)
            .finish()
    }
}

impl fmt::Display for AsyncSemaphore {
    /// The name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.handle.shared.sem, f)
    }
}

impl fmt::Debug for AsyncSemaphoreGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncSemaphoreGuard")
            .field("semaphore", &self.shared.sem.name())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + 'static>(_: &T) {}

    fn future_is_send<F: std::future::Future + Send>(_: &F) {}

    fn is_send<T: Send + 'static>() {}

    #[test]
    fn guard_and_futures_are_send() {
        is_send::<AsyncSemaphoreGuard>();
        is_send::<AsyncSemaphore>();
        let name = format!("/ipc-unit.asem-send.{}", std::process::id());
        let sem = AsyncSemaphore::new(Semaphore::create(&name, 1).unwrap());
        let fut = sem.lock();
        future_is_send(&fut);
        drop(fut);
        assert_send_sync(&sem);
        sem.semaphore().unlink().unwrap();
    }
}
