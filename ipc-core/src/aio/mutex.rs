//! [`Mutex::with_lock`]: a closure under a robust mutex, awaited.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::{Error, ErrorKind, Mutex, MutexGuard, Result, ShmSafe};

/// How long the blocking thread waits for the lock before it checks whether
/// the future that wants it is still there.
const POLL: Duration = Duration::from_millis(20);

/// Set when the `with_lock` future is dropped.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

impl<T: ShmSafe> Mutex<T> {
    /// Locks the mutex on tokio's blocking pool, runs `f` with the guard
    /// there, unlocks, and returns what `f` returned; the task awaiting it
    /// blocks no runtime thread.
    ///
    /// This is the async form of [`lock`](Mutex::lock). There is no guard
    /// that lives across `.await`: a robust mutex belongs to the thread that
    /// locked it — the kernel records that thread in the lock word, only it
    /// may unlock, and it is that thread's death that makes the lock
    /// [`recovered`](MutexGuard::recovered) — while a tokio task moves
    /// between worker threads at every `.await`. A guard held across one
    /// would be unlocked by another thread (an error), or would keep its
    /// worker's identity while the task runs elsewhere. So
    /// [`MutexGuard`] is `!Send`, and the critical section runs here, on one
    /// thread, from lock to unlock; it should be short and must not wait on
    /// the runtime. To compute something async, copy the data out under the
    /// lock, `.await` without it, and lock again to write back.
    ///
    /// # Cancellation
    ///
    /// Dropping the future before the lock is taken stops the wait (within
    /// 20 ms) and `f` never runs. Once the lock is taken, `f` runs to its
    /// end and the lock is released; a result nobody awaits any more is
    /// dropped. `f` runs at most once, and the lock is never left held.
    ///
    /// # Errors
    ///
    /// As [`lock`](Mutex::lock); [`ErrorKind::Other`] outside a tokio
    /// runtime, or when the runtime shuts down before `f` has run.
    ///
    /// # Panics
    ///
    /// If `f` panics, the lock is released and the panic resumes in the
    /// awaiting task.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// # #[tokio::main]
    /// # async fn main() -> ipc::Result<()> {
    /// let name = format!("/doc.mutex-with-lock.{}", std::process::id());
    /// let counter = Arc::new(ipc::Mutex::<u64>::create(&name)?);
    /// let n = counter
    ///     .with_lock(|count| {
    ///         if count.recovered() {
    ///             // The last holder died inside: repair the data here.
    ///         }
    ///         **count += 1;
    ///         **count
    ///     })
    ///     .await?;
    /// assert_eq!(n, 1);
    /// counter.unlink()?;
    /// # Ok(()) }
    /// ```
    pub async fn with_lock<R, F>(self: &Arc<Self>, f: F) -> Result<R>
    where
        F: FnOnce(&mut MutexGuard<'_, T>) -> R + Send + 'static,
        R: Send + 'static,
    {
        run_locked(Arc::clone(self), f).await
    }

    /// [`with_lock`](Mutex::with_lock) for a mutex that lives for the whole
    /// program, such as the one a [`#[named_mutex]`](attr.named_mutex.html)
    /// type's `mutex()` returns.
    ///
    /// # Errors
    ///
    /// As [`with_lock`](Mutex::with_lock).
    ///
    /// # Panics
    ///
    /// As [`with_lock`](Mutex::with_lock): a panic of `f` resumes here.
    ///
    /// # Examples
    ///
    /// ```
    /// # mod ipc { pub use ::ipc::*; pub use ipc_macros::*; } // the facade, in named-ipc-core
    /// #[ipc::named_mutex(name = "/doc.with-lock-static")]
    /// #[derive(ipc::ShmSafe)]
    /// #[repr(C)]
    /// struct Jobs {
    ///     done: u64,
    /// }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ipc::Result<()> {
    /// let done = Jobs::mutex()?.with_lock_static(|jobs| { jobs.done += 1; jobs.done }).await?;
    /// assert_eq!(done, 1);
    /// Jobs::unlink()?;
    /// # Ok(()) }
    /// ```
    pub async fn with_lock_static<R, F>(&'static self, f: F) -> Result<R>
    where
        F: FnOnce(&mut MutexGuard<'_, T>) -> R + Send + 'static,
        R: Send + 'static,
    {
        run_locked(self, f).await
    }
}

/// The body of `with_lock`: `mutex` is an `Arc` or a `&'static`, either of
/// which the blocking thread can keep as long as it runs.
async fn run_locked<T, H, R, F>(mutex: H, f: F) -> Result<R>
where
    T: ShmSafe,
    H: Deref<Target = Mutex<T>> + Send + 'static,
    F: FnOnce(&mut MutexGuard<'_, T>) -> R + Send + 'static,
    R: Send + 'static,
{
    const OP: &str = "Mutex::with_lock";
    let runtime = super::require_runtime(OP, mutex.name_arc())?;
    let cancelled = Arc::new(AtomicBool::new(false));
    let _on_drop = CancelOnDrop(Arc::clone(&cancelled));
    let name = Arc::clone(mutex.name_arc());
    // The guard is made, used and dropped on this one blocking thread: the
    // thread that locks is the thread that unlocks.
    let task = runtime.spawn_blocking(move || -> Option<Result<R>> {
        loop {
            match mutex.lock_timeout(POLL) {
                Ok(mut guard) => {
                    if cancelled.load(Ordering::Acquire) {
                        return None;
                    }
                    return Some(Ok(f(&mut guard)));
                }
                Err(e) if e.kind() == ErrorKind::Busy => {
                    if cancelled.load(Ordering::Acquire) {
                        return None;
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
    });
    match task.await {
        Ok(Some(result)) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // A task cancelled by the runtime's shutdown; `Ok(None)` does not
        // happen, as `cancelled` is only set once this future is dropped,
        // and then nobody polls it any more.
        Ok(None) | Err(_) => Err(Error::new(
            ErrorKind::Other,
            OP,
            Some(&name),
            "the runtime shut down before the closure ran",
        )),
    }
}
