//! [`AsyncSender`] and [`AsyncReceiver`]: a [`Channel`](crate::Channel)'s
//! send and receive as futures.
//!
//! # Design
//!
//! The task does every claim itself: a future tries the ring (the same
//! `try_send` / `try_recv` as the blocking handles) each time it is polled,
//! and a value moves in or out of a slot inside that one poll. Only when the
//! try fails does the future register its waker with the handle's helper
//! thread and return `Pending`. The helper never claims a slot: it looks at
//! the ring without changing it ([`Ring::probe_recv`] /
//! [`Ring::probe_send`]), and while a claim would fail it sets the waiter bit
//! on the state in the way and sleeps on this side's futex word, exactly as
//! a blocked `recv` or `send` sleeps, so the other side's claim wakes it.
//! When a claim could succeed, it wakes every registered task (as tokio's
//! `AsyncFd` wakes every task waiting for readiness) and waits for tasks to
//! register again. So a dropped future has never claimed anything, and the
//! helper holds nothing a task could lose.
//!
//! The helper's futex wait is bounded ([`POLL`]), so it notices within that
//! time when all its tasks went away, and it exits after [`IDLE`] without
//! any (the next waiting task starts a new one). An idle waiting task costs
//! one thread asleep in the kernel, which wakes 20 times a second.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::future::poll_fn;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Condvar, MutexGuard, PoisonError};
use std::task::{Poll, Waker};
use std::time::Duration;

use crate::sys::ring::{InTheWay, Ring, Step};
use crate::{Receiver, Result, Sender, ShmSafe};

/// The longest the helper thread sleeps on the futex before it looks at its
/// tasks again: how long it keeps waiting for tasks that have all gone, and
/// the bound on the delay a claim left by a killed process causes (as the
/// blocking calls' watchdog).
const POLL: Duration = Duration::from_millis(50);

/// How long the helper thread stays without waiting tasks before it exits.
const IDLE: Duration = Duration::from_secs(1);

/// A [`Sender`] whose [`send`](Self::send) is a future: a task waiting for
/// room in a full channel blocks no thread of its runtime.
///
/// The task tries to send each time it is polled; while the channel is full,
/// a helper thread (one per handle, started when a task first waits, gone
/// after a second without waiting tasks) sleeps on the channel's futex until
/// a receiver in any process frees a slot, then wakes the waiting tasks,
/// which try again. The helper never claims a slot itself.
///
/// Cheap to clone: clones share one [`Sender`] and one helper thread. The
/// futures need only a [`Waker`], so they run on any executor; the type is
/// part of the `tokio` feature like the other async wrappers.
///
/// # Cancellation
///
/// [`send`](Self::send) is cancellation-safe: the value goes into the
/// channel inside the one poll that returns `Ready(Ok(()))`. A future
/// dropped before it returned has not sent its value — not partly, not
/// later — and the value is dropped with it. So whether a value was sent is
/// exactly whether its `send` completed.
///
/// # Examples
///
/// ```
/// use ipc::{AsyncReceiver, AsyncSender, Channel};
/// # #[tokio::main]
/// # async fn main() -> ipc::Result<()> {
/// let name = format!("/doc.achannel.{}", std::process::id());
/// let channel = Channel::<u64>::create(&name, 1)?;
/// let tx = AsyncSender::new(channel.sender());
/// let rx = AsyncReceiver::new(channel.receiver());
/// let producer = tokio::spawn(async move {
///     for i in 0..3 {
///         tx.send(i).await?; // waits (without a thread) while the one slot is taken
///     }
///     Ok::<(), ipc::Error>(())
/// });
/// for i in 0..3 {
///     assert_eq!(rx.recv().await?, i);
/// }
/// producer.await.expect("no panic")?;
/// channel.unlink()?;
/// # Ok(()) }
/// ```
pub struct AsyncSender<T: ShmSafe> {
    handle: Arc<Handle<Sender<T>>>,
}

/// A [`Receiver`] whose [`recv`](Self::recv) is a future: a task waiting on
/// an empty channel blocks no thread of its runtime.
///
/// The task tries to receive each time it is polled; while the channel is
/// empty, a helper thread (one per handle, started when a task first waits,
/// gone after a second without waiting tasks) sleeps on the channel's futex
/// until a sender in any process publishes a value, then wakes the waiting
/// tasks, which try again. The helper never takes a value itself. An idle
/// waiting receiver uses no CPU to speak of: the helper sleeps in the
/// kernel, waking 20 times a second to see whether its tasks are still
/// there.
///
/// Cheap to clone: clones share one [`Receiver`] and one helper thread.
/// Every task waiting on one handle is woken when a value arrives; one of
/// them gets it, the others wait again.
///
/// # Cancellation
///
/// [`recv`](Self::recv) is cancellation-safe: a value leaves the channel
/// only inside the poll that returns it. A future dropped before it returned
/// took nothing; every value is either returned by exactly one `recv` (of
/// any handle, in any process) or still in the channel.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ipc::{AsyncReceiver, Channel};
/// # #[tokio::main]
/// # async fn main() -> ipc::Result<()> {
/// let name = format!("/doc.areceiver.{}", std::process::id());
/// let channel = Channel::<[u8; 4]>::create(&name, 8)?;
/// let rx = AsyncReceiver::new(channel.receiver());
/// // Nothing yet: the timeout drops the receive, which took nothing.
/// assert!(tokio::time::timeout(Duration::from_millis(20), rx.recv()).await.is_err());
/// channel.sender().send(*b"ping")?; // from any process
/// assert_eq!(&rx.recv().await?, b"ping");
/// channel.unlink()?;
/// # Ok(()) }
/// ```
pub struct AsyncReceiver<T: ShmSafe> {
    handle: Arc<Handle<Receiver<T>>>,
}

/// One side of a channel as a helper thread sees it.
trait Side: Send + Sync + 'static {
    type Value: ShmSafe;
    /// The helper thread's name (at most 15 bytes, Linux's limit).
    const THREAD: &'static str;
    fn ring(&self) -> &Ring<Self::Value>;
    /// The futex word this side sleeps on.
    fn event(&self) -> &AtomicU32;
    /// Whether this side's claim would succeed now (`Ok`), or what is in
    /// its way; claims nothing.
    fn probe(&self) -> std::result::Result<(), Step>;
    fn shared_name(&self) -> &Arc<str>;
}

impl<T: ShmSafe> Side for Sender<T> {
    type Value = T;
    const THREAD: &'static str = "ipc-chan-send";
    fn ring(&self) -> &Ring<T> {
        Sender::ring(self)
    }
    fn event(&self) -> &AtomicU32 {
        Sender::ring(self).send_event()
    }
    fn probe(&self) -> std::result::Result<(), Step> {
        Sender::ring(self).probe_send(self.cursor())
    }
    fn shared_name(&self) -> &Arc<str> {
        Sender::shared_name(self)
    }
}

impl<T: ShmSafe> Side for Receiver<T> {
    type Value = T;
    const THREAD: &'static str = "ipc-chan-recv";
    fn ring(&self) -> &Ring<T> {
        Receiver::ring(self)
    }
    fn event(&self) -> &AtomicU32 {
        Receiver::ring(self).recv_event()
    }
    fn probe(&self) -> std::result::Result<(), Step> {
        Receiver::ring(self).probe_recv(self.cursor())
    }
    fn shared_name(&self) -> &Arc<str> {
        Receiver::shared_name(self)
    }
}

/// What the user's clones share; its drop tells the helper thread to go.
struct Handle<S: Side> {
    waiters: Arc<Waiters<S>>,
}

/// What the handle and its helper thread share.
struct Waiters<S> {
    side: S,
    state: std::sync::Mutex<State>,
    /// Signalled when a task registers, or the handle is dropped.
    wake: Condvar,
}

struct State {
    /// The wakers of the tasks waiting now, by registration key. The helper
    /// takes them all when it wakes them; a task that must wait again
    /// registers again.
    wakers: HashMap<u64, Waker>,
    next_key: u64,
    /// A helper thread is running (or starting).
    helper: bool,
    /// The last clone of the handle was dropped.
    closed: bool,
}

impl<S: Side> Waiters<S> {
    fn new(side: S) -> Arc<Waiters<S>> {
        Arc::new(Waiters {
            side,
            state: std::sync::Mutex::new(State {
                wakers: HashMap::new(),
                next_key: 0,
                helper: false,
                closed: false,
            }),
            wake: Condvar::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing that can panic runs under this lock; the map would stay
        // consistent if something did, so poisoning is ignored.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `attempt` each time the future is polled until it gives `Some`;
    /// between polls, the task waits for the helper thread to see that a
    /// claim could succeed. `attempt` is the only thing that changes the
    /// channel, and only in the poll that returns its result.
    async fn until<R>(self: &Arc<Self>, mut attempt: impl FnMut() -> Option<R>) -> Result<R> {
        let mut registration = Registration {
            waiters: self,
            key: None,
        };
        poll_fn(|cx| {
            if let Some(r) = attempt() {
                return Poll::Ready(Ok(r));
            }
            if let Err(e) = registration.register(cx.waker()) {
                return Poll::Ready(Err(e));
            }
            // Registered: from here on the helper looks at the ring at least
            // once more, so nothing that happens after this try is missed;
            // something that happened before the registration is seen here.
            match attempt() {
                Some(r) => Poll::Ready(Ok(r)),
                None => Poll::Pending,
            }
        })
        .await
    }
}

/// A waiting future's entry in [`State::wakers`]; removed on drop, so a
/// future dropped while it waits leaves nothing behind.
struct Registration<'a, S: Side> {
    waiters: &'a Arc<Waiters<S>>,
    key: Option<u64>,
}

impl<S: Side> Registration<'_, S> {
    /// Stores (or refreshes) the task's waker and makes sure a helper
    /// thread is running.
    fn register(&mut self, waker: &Waker) -> Result<()> {
        let waiters = self.waiters;
        let mut state = waiters.state();
        let key = *self.key.get_or_insert_with(|| {
            let key = state.next_key;
            state.next_key = key.wrapping_add(1);
            key
        });
        match state.wakers.entry(key) {
            Entry::Occupied(mut entry) => {
                if !entry.get().will_wake(waker) {
                    entry.insert(waker.clone());
                }
                return Ok(());
            }
            Entry::Vacant(entry) => {
                entry.insert(waker.clone());
            }
        }
        if state.helper {
            waiters.wake.notify_one();
            return Ok(());
        }
        let for_thread = Arc::clone(waiters);
        let started = super::spawn_helper(
            S::THREAD,
            "futex_wait",
            waiters.side.shared_name(),
            move || helper(&for_thread),
        );
        if started.is_ok() {
            state.helper = true;
        } else {
            state.wakers.remove(&key);
        }
        started
    }
}

impl<S: Side> Drop for Registration<'_, S> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.waiters.state().wakers.remove(&key);
        }
    }
}

/// The helper thread: while tasks wait, sleeps until this side's claim
/// could succeed, then wakes them all. Claims nothing.
fn helper<S: Side>(waiters: &Waiters<S>) {
    let _exit = HelperExit(waiters);
    let side = &waiters.side;
    let (ring, event) = (side.ring(), side.event());
    let mut woken = Vec::new();
    let mut in_the_way = InTheWay::default();
    while wait_for_tasks(waiters) {
        // Read before looking at the ring: a change after the look bumps
        // the word, and the futex wait returns at once.
        let seen = event.load(std::sync::atomic::Ordering::Acquire);
        match side.probe() {
            Ok(()) => {
                in_the_way.clear();
                woken.extend(waiters.state().wakers.drain().map(|(_, w)| w));
                wake_all(&mut woken);
            }
            // As a blocked `send`/`recv` would, for at most `POLL`: then
            // look at the tasks again.
            Err(step) => in_the_way.wait_out(ring, event, seen, step, POLL),
        }
    }
}

/// Wakes every waker in `woken`, emptying it. A waker that panics (a
/// foreign executor's) does not stop the others nor the helper thread.
fn wake_all(woken: &mut Vec<Waker>) {
    for waker in woken.drain(..) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake()));
    }
}

/// Should the helper thread unwind anyway, marks it gone and wakes the
/// waiting tasks: their next poll registers again and starts a new one,
/// instead of waiting for a thread that no longer runs.
struct HelperExit<'a, S: Side>(&'a Waiters<S>);

impl<S: Side> Drop for HelperExit<'_, S> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let mut woken: Vec<Waker> = {
            let mut state = self.0.state();
            state.helper = false;
            state.wakers.drain().map(|(_, w)| w).collect()
        };
        wake_all(&mut woken);
    }
}

/// Blocks until a task waits (true) or the helper should exit (false: the
/// handle is gone, or no task came for [`IDLE`]).
fn wait_for_tasks<S: Side>(waiters: &Waiters<S>) -> bool {
    super::wait_for_work(
        waiters.state(),
        &waiters.wake,
        IDLE,
        |state| (&mut state.helper, state.closed),
        |state| !state.wakers.is_empty(),
    )
}

impl<S: Side> Handle<S> {
    fn new(side: S) -> Arc<Handle<S>> {
        Arc::new(Handle {
            waiters: Waiters::new(side),
        })
    }
}

impl<S: Side> Drop for Handle<S> {
    fn drop(&mut self) {
        self.waiters.state().closed = true;
        self.waiters.wake.notify_all();
    }
}

impl<T: ShmSafe> AsyncSender<T> {
    /// Wraps `sender`; waits for room will be futures.
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.asender-new.{}", std::process::id());
    /// let channel = ipc::Channel::<u32>::create(&name, 4)?;
    /// let tx = ipc::AsyncSender::new(channel.sender());
    /// tx.try_send(1)?;
    /// assert_eq!(channel.len(), 1);
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[must_use]
    pub fn new(sender: Sender<T>) -> AsyncSender<T> {
        AsyncSender {
            handle: Handle::new(sender),
        }
    }

    /// Sends `value`, waiting while the channel is full.
    ///
    /// Cancellation-safe: a future dropped before it completed has not sent
    /// `value` (see [Cancellation](AsyncSender#cancellation)). Values that
    /// one task sends arrive in the order it sent them.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Other`](crate::ErrorKind::Other) when the helper thread
    /// cannot be started (the value is dropped); a full channel is waited
    /// out, never [`ErrorKind::Busy`](crate::ErrorKind::Busy).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # #[tokio::main]
    /// # async fn main() -> ipc::Result<()> {
    /// let name = format!("/doc.asender-send.{}", std::process::id());
    /// let channel = ipc::Channel::<u64>::create(&name, 1)?;
    /// let tx = ipc::AsyncSender::new(channel.sender());
    /// tx.send(1).await?;
    /// // Full: the second send waits, and the timeout drops it unsent.
    /// assert!(tokio::time::timeout(Duration::from_millis(20), tx.send(2)).await.is_err());
    /// assert_eq!(channel.receiver().try_recv()?, 1);
    /// assert!(channel.is_empty());
    /// channel.unlink()?;
    /// # Ok(()) }
    /// ```
    pub async fn send(&self, value: T) -> Result<()> {
        let sender = &self.handle.waiters.side;
        let mut value = Some(value);
        self.handle
            .waiters
            .until(|| match sender.try_send_or_keep(value.take()?) {
                Ok(()) => Some(()),
                Err(back) => {
                    value = Some(back);
                    None
                }
            })
            .await
    }

    /// Sends `value` if there is room now ([`Sender::try_send`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Busy`](crate::ErrorKind::Busy) when the channel is full
    /// (the value is dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.asender-try.{}", std::process::id());
    /// let channel = ipc::Channel::<u64>::create(&name, 1)?;
    /// let tx = ipc::AsyncSender::new(channel.sender());
    /// tx.try_send(1)?;
    /// assert_eq!(tx.try_send(2).unwrap_err().kind(), ipc::ErrorKind::Busy);
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn try_send(&self, value: T) -> Result<()> {
        self.handle.waiters.side.try_send(value)
    }

    /// The wrapped [`Sender`], for its blocking calls.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let name = format!("/doc.asender-ref.{}", std::process::id());
    /// let channel = ipc::Channel::<u64>::create(&name, 1)?;
    /// let tx = ipc::AsyncSender::new(channel.sender());
    /// tx.get_ref().send_timeout(5, Duration::from_millis(10))?; // blocking, outside async code
    /// assert_eq!(channel.len(), 1);
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[must_use]
    pub fn get_ref(&self) -> &Sender<T> {
        &self.handle.waiters.side
    }
}

impl<T: ShmSafe> AsyncReceiver<T> {
    /// Wraps `receiver`; waits for values will be futures.
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.areceiver-new.{}", std::process::id());
    /// let channel = ipc::Channel::<u32>::create(&name, 4)?;
    /// let rx = ipc::AsyncReceiver::new(channel.receiver());
    /// channel.sender().send(9)?;
    /// assert_eq!(rx.try_recv()?, 9);
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[must_use]
    pub fn new(receiver: Receiver<T>) -> AsyncReceiver<T> {
        AsyncReceiver {
            handle: Handle::new(receiver),
        }
    }

    /// Receives a value, waiting while the channel is empty.
    ///
    /// Cancellation-safe: a future dropped before it completed took no
    /// value (see [Cancellation](AsyncReceiver#cancellation)).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Other`](crate::ErrorKind::Other) when the helper thread
    /// cannot be started; an empty channel is waited out, never
    /// [`ErrorKind::Busy`](crate::ErrorKind::Busy).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> ipc::Result<()> {
    /// let name = format!("/doc.areceiver-recv.{}", std::process::id());
    /// let channel = ipc::Channel::<i32>::create(&name, 4)?;
    /// let rx = ipc::AsyncReceiver::new(channel.receiver());
    /// let tx = channel.sender();
    /// std::thread::spawn(move || tx.send(-1)); // or another process
    /// assert_eq!(rx.recv().await?, -1);
    /// channel.unlink()?;
    /// # Ok(()) }
    /// ```
    pub async fn recv(&self) -> Result<T> {
        let receiver = &self.handle.waiters.side;
        self.handle.waiters.until(|| receiver.try_take()).await
    }

    /// Receives a value if one is waiting now ([`Receiver::try_recv`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Busy`](crate::ErrorKind::Busy) when the channel is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.areceiver-try.{}", std::process::id());
    /// let channel = ipc::Channel::<i32>::create(&name, 4)?;
    /// let rx = ipc::AsyncReceiver::new(channel.receiver());
    /// assert_eq!(rx.try_recv().unwrap_err().kind(), ipc::ErrorKind::Busy);
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn try_recv(&self) -> Result<T> {
        self.handle.waiters.side.try_recv()
    }

    /// The wrapped [`Receiver`], for its blocking calls.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let name = format!("/doc.areceiver-ref.{}", std::process::id());
    /// let channel = ipc::Channel::<u64>::create(&name, 1)?;
    /// let rx = ipc::AsyncReceiver::new(channel.receiver());
    /// channel.sender().send(5)?;
    /// assert_eq!(rx.get_ref().recv_timeout(Duration::from_millis(10))?, 5); // blocking
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[must_use]
    pub fn get_ref(&self) -> &Receiver<T> {
        &self.handle.waiters.side
    }
}

impl<T: ShmSafe> From<Sender<T>> for AsyncSender<T> {
    fn from(sender: Sender<T>) -> AsyncSender<T> {
        AsyncSender::new(sender)
    }
}

impl<T: ShmSafe> From<Receiver<T>> for AsyncReceiver<T> {
    fn from(receiver: Receiver<T>) -> AsyncReceiver<T> {
        AsyncReceiver::new(receiver)
    }
}

impl<T: ShmSafe> Clone for AsyncSender<T> {
    /// Another handle on the same sender and helper thread.
    fn clone(&self) -> Self {
        AsyncSender {
            handle: Arc::clone(&self.handle),
        }
    }
}

impl<T: ShmSafe> Clone for AsyncReceiver<T> {
    /// Another handle on the same receiver and helper thread.
    fn clone(&self) -> Self {
        AsyncReceiver {
            handle: Arc::clone(&self.handle),
        }
    }
}

impl<T: ShmSafe> fmt::Debug for AsyncSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let waiters = &self.handle.waiters;
        f.debug_struct("AsyncSender")
            .field("sender", &waiters.side)
            .field("waiting", &waiters.state().wakers.len())
            .finish()
    }
}

impl<T: ShmSafe> fmt::Debug for AsyncReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let waiters = &self.handle.waiters;
        f.debug_struct("AsyncReceiver")
            .field("receiver", &waiters.side)
            .field("waiting", &waiters.state().wakers.len())
            .finish()
    }
}

impl<T: ShmSafe> fmt::Display for AsyncSender<T> {
    /// The channel's name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.handle.waiters.side.shared_name())
    }
}

impl<T: ShmSafe> fmt::Display for AsyncReceiver<T> {
    /// The channel's name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.handle.waiters.side.shared_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Channel, ErrorKind};
    use std::future::Future;
    use std::pin::pin;
    use std::task::Context;

    fn name(tag: &str) -> crate::test_support::Unlink {
        crate::test_support::name(&format!("achan-{tag}"))
    }

    fn is_send_sync<X: Send + Sync + 'static>(_: &X) {}
    fn future_is_send<F: std::future::Future + Send>(_: &F) {}

    #[test]
    fn handles_and_futures_are_send() {
        let name = name("send");
        let channel = Channel::<u64>::create_new(&name.0, 2).unwrap();
        let (tx, rx) = (
            AsyncSender::new(channel.sender()),
            AsyncReceiver::new(channel.receiver()),
        );
        is_send_sync(&tx);
        is_send_sync(&rx);
        future_is_send(&tx.send(1));
        future_is_send(&rx.recv());
        let shown = format!("{tx:?} {rx:?} {tx} {rx}");
        assert!(
            shown.contains("AsyncSender") && shown.contains(&name.0),
            "{shown}"
        );
    }

    /// The two cancellations, made deterministic: a receive polled while the
    /// channel is empty and then dropped takes nothing; a send polled while
    /// it is full and then dropped sends nothing. Neither leaves a waker.
    #[test]
    fn dropped_futures_take_and_send_nothing() {
        let name = name("drop");
        let channel = Channel::<u64>::create_new(&name.0, 1).unwrap();
        let (tx, rx) = (
            AsyncSender::new(channel.sender()),
            AsyncReceiver::new(channel.receiver()),
        );
        let mut cx = Context::from_waker(Waker::noop());
        {
            let mut recv = pin!(rx.recv());
            assert!(recv.as_mut().poll(&mut cx).is_pending());
            assert_eq!(rx.handle.waiters.state().wakers.len(), 1);
        }
        assert_eq!(rx.handle.waiters.state().wakers.len(), 0);
        tx.try_send(7).unwrap();
        {
            let mut send = pin!(tx.send(8));
            assert!(send.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(tx.handle.waiters.state().wakers.len(), 0);
        assert_eq!(rx.try_recv().unwrap(), 7);
        assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::Busy);
    }
}
