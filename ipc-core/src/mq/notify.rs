//! Notifications: `mq_notify` with a signal or a closure run on a thread.

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
    /// The kernel's rule: a process's registration is removed when that
    /// process closes *any* descriptor of the queue — another handle, or a
    /// descriptor duplicated through `AsFd`. For a signal registration that
    /// rule applies as is (register again after closing other handles);
    /// [`notify_callback`](Self::notify_callback) registers again by itself.
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
        let registering = callbacks::Registering::start();
        let old = self.cancel_locked(&mut slot);
        let result = mq::notify_signal(self.fd.as_fd(), signal).map_err(|e| self.notify_error(e));
        drop(registering);
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
    /// notified there: each process receives its notifications on a netlink
    /// socket and thread of its own (made at its first registration), so a
    /// child's registrations never run the parent's closures or the reverse.
    ///
    /// The kernel removes a process's registration whenever that process
    /// closes *any* descriptor of the queue (another handle, or a descriptor
    /// duplicated through `AsFd`). While `f` is pending, `ipc` keeps a
    /// duplicate of this handle's descriptor and registers `f` again when
    /// the kernel reports such a removal; a message that arrived meanwhile
    /// runs `f`. So a pending callback costs one descriptor, and the process
    /// one more for its notification socket. If another process registered
    /// in between, `f` is dropped instead.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Busy`](crate::ErrorKind::Busy) (`EBUSY`) when another
    ///   process is registered.
    /// - `EMFILE`/`ENFILE` (no descriptor for the duplicate or the
    ///   notification socket) are [`ErrorKind::Other`](crate::ErrorKind::Other)
    ///   with the step that failed ("creating the notification socket: too
    ///   many open files in this process"); nothing is left broken, the next
    ///   call tries again.
    /// - Other OS errors are reported as
    ///   [`ErrorKind::Other`](crate::ErrorKind::Other). On error `f` is dropped.
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
        let registering = callbacks::Registering::start();
        let old = self.cancel_locked(&mut slot);
        let (result, refused) = match registering.register(self.fd.as_fd(), Box::new(f)) {
            Ok(token) => {
                *slot = Some(token);
                (Ok(()), None)
            }
            Err((errno, None, f)) => (Err(self.notify_error(errno)), Some(f)),
            Err((errno, Some(step), f)) => {
                (Err(self.error("mq_notify", errno).during(step)), Some(f))
            }
        };
        // After unlocking, as in `notify_signal`.
        drop(registering);
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
        let registering = callbacks::Registering::start();
        // The closure leaves the table first, so that the kernel's "removed"
        // message for this cancel finds nothing to re-register.
        let old = slot.take().and_then(callbacks::take);
        let result = mq::notify_cancel(self.fd.as_fd()).map_err(|e| self.notify_error(e));
        drop(registering);
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
        let old = slot.take().and_then(callbacks::take);
        let _ = mq::notify_cancel(self.fd.as_fd());
        old
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

/// The closures waiting for a SIGEV_THREAD notification, by token, and
/// their delivery.
///
/// The kernel is given a token, never a pointer: a notification that fires
/// after its registration was cancelled, or its queue closed, looks up a
/// token that is no longer here and does nothing. Whoever removes an entry
/// (the notification, a cancel, a close) owns the closure, so it runs or is
/// dropped exactly once.
///
/// Delivery does not go through the C library's SIGEV_THREAD (glibc keeps
/// one netlink socket per process, created once: a forked child inherits it
/// and reads the parent's notifications on its own helper thread, and after
/// one `EMFILE` every later registration fails with `ENOSYS`). Each process
/// has its own netlink socket here, with a reader thread and a worker
/// thread, made on its first registration and again in a forked child
/// (which has neither threads nor, as far as it knows, socket of its own);
/// a failure to make them is reported with its real cause and tried again
/// next time.
///
/// Every entry keeps a duplicate of the registering handle's descriptor.
/// The kernel removes a process's registration whenever that process closes
/// *any* descriptor of the queue; it then sends a "removed" message, and an
/// entry still here (neither run nor cancelled) is registered again through
/// its descriptor, so closing another handle does not silently cancel it.
///
/// A registration (`mq_notify`) waits while the socket's receive buffer is
/// full (each replaced or cancelled registration queues a message there),
/// until the reader drains it. So the reader never waits for a lock held
/// across `mq_notify` and never registers itself: re-registrations go to
/// the worker, and the table of closures is never locked during a system
/// call.
mod callbacks {
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    use std::sync::Arc;
    use std::sync::mpsc::{Receiver, Sender};

    use super::{AtomicU64, Errno, Mutex, Ordering, PoisonError, mq};
    use crate::sys::mq::NotifyEvent;

    pub(super) type Callback = Box<dyn FnOnce() + Send>;

    struct Entry {
        f: Callback,
        /// A duplicate of the registering handle's descriptor, shared with
        /// a re-registration in progress (see [`rearm`]), which must not
        /// see it closed under it.
        queue: Arc<OwnedFd>,
    }

    static NEXT: AtomicU64 = AtomicU64::new(1);
    /// The registrations not yet run nor cancelled: at most one per queue
    /// and handle, so a few; a `Vec` searched by token keeps this crate's
    /// build free of a `BTreeMap` (a fifth of its LLVM IR otherwise).
    ///
    /// Never held across a system call: registering (`mq_notify`) can block
    /// until the reader thread drains the socket, and the reader takes this
    /// lock to find what a message is for.
    static PENDING: Mutex<Pending> = Mutex::new(Pending(Vec::new()));

    /// Held by whoever registers or cancels on this process's behalf (the
    /// handles' methods, and the worker re-registering), across their
    /// `mq_notify` calls, so that a re-registration of a token just
    /// cancelled cannot land between a cancel and the registration that
    /// follows it (which would then fail with `EBUSY`). The reader thread
    /// never takes it.
    static REGISTERING: Mutex<()> = Mutex::new(());

    struct Pending(Vec<(u64, Entry)>);

    impl Pending {
        fn insert(&mut self, token: u64, entry: Entry) {
            self.0.push((token, entry));
        }

        fn get(&self, token: u64) -> Option<&Entry> {
            self.0.iter().find(|(t, _)| *t == token).map(|(_, e)| e)
        }

        fn remove(&mut self, token: u64) -> Option<Entry> {
            let at = self.0.iter().position(|(t, _)| *t == token)?;
            Some(self.0.swap_remove(at).1)
        }
    }

    /// What the worker thread does for the reader.
    enum Job {
        /// The kernel removed this token's registration: register again if
        /// it is still pending.
        Rearm(u64),
        /// A closure to run, when no thread of its own could be started.
        Run(Callback),
    }

    /// This process's netlink socket and its worker's queue, with the pid
    /// that made them: after a fork the pid differs, and they are the
    /// parent's.
    static SOCKET: Mutex<Option<(u32, &'static OwnedFd, Sender<Job>)>> = Mutex::new(None);

    fn lock() -> std::sync::MutexGuard<'static, Pending> {
        // Entries are independent boxes; a panic elsewhere cannot leave the
        // map half-updated.
        PENDING.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A registration or cancel in progress: holds [`REGISTERING`].
    pub(super) struct Registering(#[allow(dead_code)] std::sync::MutexGuard<'static, ()>);

    impl Registering {
        pub(super) fn start() -> Registering {
            // Guards no data: a panicking holder leaves nothing half-done.
            Registering(REGISTERING.lock().unwrap_or_else(PoisonError::into_inner))
        }

        /// Registers `f` for the next message on `queue`; on error gives
        /// `f` back with what failed.
        #[allow(clippy::unused_self)] // `&self`: proof that REGISTERING is held
        pub(super) fn register(
            &self,
            queue: BorrowedFd<'_>,
            f: Callback,
        ) -> Result<u64, (Errno, Option<&'static str>, Callback)> {
            let sock = match socket() {
                Ok(sock) => sock,
                Err((errno, what)) => return Err((errno, what, f)),
            };
            let dup = match queue.try_clone_to_owned() {
                Ok(dup) => Arc::new(dup),
                Err(e) => {
                    let errno = e.raw_os_error().unwrap_or(libc::EIO);
                    return Err((errno, Some("duplicating the queue's descriptor"), f));
                }
            };
            let token = NEXT.fetch_add(1, Ordering::Relaxed);
            // In the table before the kernel knows the token, so that any
            // message about it finds it; the table is not locked during the
            // call, which may wait for the reader to make room.
            lock().insert(token, Entry { f, queue: dup });
            match mq::notify_netlink(queue, sock, token) {
                Ok(()) => Ok(token),
                Err(errno) => {
                    let entry = lock().remove(token).map(|e| e.f);
                    Err((errno, None, entry.unwrap_or_else(|| Box::new(|| {}))))
                }
            }
        }
    }

    /// The socket of this process, made (with its reader and worker
    /// threads) if needed.
    fn socket() -> Result<BorrowedFd<'static>, (Errno, Option<&'static str>)> {
        let mut slot = SOCKET.lock().unwrap_or_else(PoisonError::into_inner);
        let pid = std::process::id();
        if let Some((owner, sock, _)) = &*slot {
            if *owner == pid {
                let sock: &'static OwnedFd = sock;
                return Ok(sock.as_fd());
            }
        }
        // In a forked child the parent's socket stays open (nothing here
        // reads it) but is no longer used: the parent reads it.
        let sock =
            mq::netlink_socket().map_err(|e| (e, Some("creating the notification socket")))?;
        // Lives as long as the process: the threads use it forever.
        let sock: &'static OwnedFd = Box::leak(Box::new(sock));
        let thread_error = |e: std::io::Error| {
            let errno = e.raw_os_error().unwrap_or(libc::EAGAIN);
            (errno, Some("starting the notification thread"))
        };
        let (jobs, queue) = std::sync::mpsc::channel();
        spawn("ipc-mq-rearm", Box::new(move || work(sock.as_fd(), &queue)))
            .map_err(thread_error)?;
        let reader_jobs = jobs.clone();
        spawn(
            "ipc-mq-notify",
            Box::new(move || deliver(sock.as_fd(), &reader_jobs)),
        )
        .map_err(thread_error)?;
        *slot = Some((pid, sock, jobs));
        Ok(sock.as_fd())
    }

    /// Removes `token`'s entry: its closure will not run. Its descriptor is
    /// closed here (unless a re-registration still holds it), before the
    /// caller registers anything new.
    pub(super) fn take(token: u64) -> Option<Callback> {
        let entry = lock().remove(token)?;
        drop(entry.queue);
        Some(entry.f)
    }

    /// The reader thread: reads cookies from `sock` forever. It never waits
    /// for [`REGISTERING`] nor makes a registration (which could wait for
    /// room on the socket only it drains): re-registrations go to the
    /// worker.
    fn deliver(sock: BorrowedFd<'static>, jobs: &Sender<Job>) {
        loop {
            match mq::recv_notification(sock) {
                Ok((token, NotifyEvent::WokenUp)) => fire(token),
                Ok((token, NotifyEvent::Removed)) => {
                    let _ = jobs.send(Job::Rearm(token));
                }
                // EINTR, or a message that is not a cookie: keep reading.
                Err(_) => {}
            }
        }
    }

    /// The worker thread: re-registrations, and closures no thread could
    /// be started for.
    fn work(sock: BorrowedFd<'static>, jobs: &Receiver<Job>) {
        for job in jobs {
            match job {
                Job::Rearm(token) => rearm(token, sock),
                Job::Run(f) => run(f),
            }
        }
    }

    /// Runs `f`, catching a panic: there is no caller to report it to.
    fn run(f: Callback) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    }

    /// Runs `token`'s closure, if it is still here, on a new thread (on the
    /// worker if no thread can be started; on this one if there is none).
    pub(super) fn fire(token: u64) {
        let Some(f) = take(token) else { return };
        // The closure waits in a cell the new thread takes it from, so that
        // it is still here to run if no thread can be started.
        let cell = Arc::new(Mutex::new(Some(f)));
        let theirs = Arc::clone(&cell);
        let spawned = spawn(
            "ipc-mq-callback",
            Box::new(move || {
                let f = theirs.lock().unwrap_or_else(PoisonError::into_inner).take();
                if let Some(f) = f {
                    run(f);
                }
            }),
        );
        if spawned.is_err() {
            let f = cell.lock().unwrap_or_else(PoisonError::into_inner).take();
            let Some(f) = f else { return };
            let worker = SOCKET
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .filter(|(owner, ..)| *owner == std::process::id())
                .map(|(_, _, jobs)| jobs.clone());
            match worker {
                Some(jobs) => {
                    if let Err(std::sync::mpsc::SendError(Job::Run(f))) = jobs.send(Job::Run(f)) {
                        run(f);
                    }
                }
                None => run(f),
            }
        }
    }

    /// Starts a named thread. One boxed type for all threads of this
    /// module: one instance of std's spawn machinery in the build.
    fn spawn(name: &str, f: Box<dyn FnOnce() + Send>) -> std::io::Result<()> {
        std::thread::Builder::new()
            .name(name.into())
            .spawn(f)
            .map(drop)
    }

    /// The kernel removed `token`'s registration. If it was not cancelled
    /// (its entry is still here), a descriptor of the queue was closed in
    /// this process: register again. If that fails (another registration
    /// came first), the closure is dropped, never left pending.
    fn rearm(token: u64, sock: BorrowedFd<'_>) {
        // Most "removed" messages are for tokens cancelled or replaced:
        // those need no lock beyond the table's.
        if lock().get(token).is_none() {
            return;
        }
        let registering = Registering::start();
        let Some(queue) = lock().get(token).map(|e| Arc::clone(&e.queue)) else {
            return;
        };
        if mq::notify_netlink(queue.as_fd(), sock, token).is_err() {
            let lost = lock().remove(token);
            drop(registering);
            drop(lost);
            return;
        }
        // Dropped meanwhile with its handle (which takes no lock but the
        // table's): this registration is for nothing.
        if lock().get(token).is_none() {
            let _ = mq::notify_cancel(queue.as_fd());
            return;
        }
        // A message that arrived while unregistered made the queue
        // non-empty without a notification: deliver it now.
        let missed = mq::attr(queue.as_fd()).is_ok_and(|a| a.current_messages > 0);
        if missed && mq::notify_cancel(queue.as_fd()).is_ok() {
            drop(registering);
            fire(token);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(tag: &str) -> MessageQueue {
        MessageQueue::options()
            .max_messages(2)
            .max_message_size(8)
            .create_unique(&format!("/ipc-test.{}.{tag}", std::process::id()))
            .unwrap()
    }

    #[test]
    fn a_token_runs_or_drops_once() {
        let mq = queue("token-once");
        let (tx, rx) = std::sync::mpsc::channel();
        let token = callbacks::Registering::start()
            .register(mq.fd.as_fd(), Box::new(move || tx.send(1).unwrap()))
            .map_err(|(e, ..)| e)
            .unwrap();
        callbacks::fire(token);
        callbacks::fire(token); // a second firing finds nothing
        assert_eq!(rx.recv().unwrap(), 1);
        assert!(rx.recv().is_err(), "the closure ran twice");
        assert!(callbacks::take(token).is_none());
        mq.unlink().unwrap();
    }

    #[test]
    fn a_panicking_callback_is_contained() {
        // The panic stays on the callback's thread; the token is spent.
        let mq = queue("token-panic");
        let token = callbacks::Registering::start()
            .register(mq.fd.as_fd(), Box::new(|| panic!("in a notification")))
            .map_err(|(e, ..)| e)
            .unwrap();
        callbacks::fire(token);
        assert!(callbacks::take(token).is_none());
        mq.unlink().unwrap();
    }

    /// Each replaced registration makes the kernel send a "removed" message
    /// to the socket. Registering used to hold the table's lock inside
    /// `mq_notify`, which waits for room on the socket when it is full;
    /// the reader, which makes that room, waited for the same lock: the
    /// loop below hung (posix_ipc's `request_notification` in a loop, from
    /// Python, did within 5 000 to 200 000 iterations).
    #[test]
    fn registering_in_a_loop_never_deadlocks() {
        let mq = std::sync::Arc::new(queue("re-register-loop"));
        let (tx, rx) = std::sync::mpsc::channel();
        let looping = std::sync::Arc::clone(&mq);
        std::thread::spawn(move || {
            for _ in 0..200_000 {
                looping.notify_callback(|| {}).unwrap();
            }
            looping.cancel_notification().unwrap();
            tx.send(()).unwrap();
        });
        let finished = rx.recv_timeout(std::time::Duration::from_secs(120));
        let _ = mq.unlink();
        assert!(
            finished.is_ok(),
            "200 000 registrations did not finish in 120 s: deadlocked"
        );
    }
}
