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
        let old = self.cancel_locked(&mut slot, &registering);
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
    /// registration on the queue, made through this handle or another one.
    ///
    /// A closure that never runs is dropped, not leaked, when the
    /// registration is cancelled or replaced, or this handle is dropped or
    /// closed. A panic in `f` is caught and discarded, since there is no
    /// caller to report it to. If `f` owns an `Arc` of this queue, the queue
    /// lives until `f` runs or is cancelled.
    ///
    /// A registration belongs to the process that made it and is not
    /// inherited across `fork()`: a message sent by the child still fires
    /// the parent's `f`, and the child's copy of `f` is neither run nor
    /// dropped (a child starts with notification state of its own, so that
    /// no lock a parent's thread held at the fork can block it). Register again in the child to be
    /// notified there: each process receives its notifications on a netlink
    /// socket and thread of its own (made at its first registration), so a
    /// child's registrations never run the parent's closures or the reverse.
    ///
    /// The kernel removes a process's registration whenever that process
    /// closes *any* descriptor of the queue (another handle, or a descriptor
    /// duplicated through `AsFd`). While `f` is pending, `ipc` registers it
    /// again, through this handle's descriptor (shared with the pending
    /// callback, never duplicated), when the kernel reports such a removal;
    /// if the queue holds messages then (one may have arrived meanwhile,
    /// which the kernel would not report), `f` runs. The process keeps one
    /// descriptor for its notification socket. If another process
    /// registered in between, `f` is dropped instead.
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
        let old = self.cancel_locked(&mut slot, &registering);
        let (result, refused) = match registering.register(&self.fd, Box::new(f)) {
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

    /// `mq_notify(NULL)` — cancels this process's registration on the queue
    /// (made through this handle or another one), dropping a closure that
    /// has not run. Does nothing if there is none, or if the registration
    /// belongs to another process.
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
        // The closures leave the table first, so that the kernel's "removed"
        // message for this cancel finds nothing to re-register.
        let old = self.take_pending(&mut slot, &registering);
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
    /// registration; returns the closures that will not run, for the caller
    /// to drop once it has released the lock.
    #[must_use]
    fn cancel_locked(
        &self,
        slot: &mut Option<u64>,
        registering: &callbacks::Registering,
    ) -> Option<callbacks::Callback> {
        let old = self.take_pending(slot, registering);
        let _ = mq::notify_cancel(self.fd.as_fd());
        old
    }

    /// Takes this handle's pending closure out of the table, and marks one
    /// made through another handle of the same queue as superseded (the
    /// kernel keeps one registration per process and queue, which a new
    /// registration or a cancel through any handle replaces). A superseded
    /// closure is dropped when the kernel reports its registration removed,
    /// and still runs if its message came first (the report is then a
    /// notification): only the kernel knows which happened.
    #[must_use]
    fn take_pending(
        &self,
        slot: &mut Option<u64>,
        registering: &callbacks::Registering,
    ) -> Option<callbacks::Callback> {
        let old = slot.take().and_then(callbacks::take);
        if let Ok(id) = crate::sys::file_id(self.fd.as_fd()) {
            registering.supersede_queue(id);
        }
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
    use std::os::fd::{AsFd, OwnedFd};
    use std::sync::mpsc::{Receiver, Sender};
    use std::sync::{Arc, MutexGuard};

    use std::sync::atomic::AtomicPtr;

    use super::{AtomicU64, Errno, Mutex, Ordering, PoisonError, mq};
    use crate::sys::mq::NotifyEvent;

    pub(super) type Callback = Box<dyn FnOnce() + Send>;

    struct Entry {
        f: Callback,
        /// The registering handle's descriptor, shared with it: the entry
        /// registers again through it, and never closes it while the handle
        /// lives (closing any descriptor of the queue would remove the
        /// process's registration, whichever it is by then).
        queue: Arc<OwnedFd>,
        /// The queue's (device, inode): registrations are per process and
        /// queue, whatever the handle.
        id: (u64, u64),
        /// Replaced or cancelled through another handle of the queue: never
        /// registered again (see `MessageQueue::take_pending`).
        superseded: bool,
    }

    static NEXT: AtomicU64 = AtomicU64::new(1);

    /// The state of this process's notifications, one per process
    /// incarnation: a forked child makes its own on first use. Its locks
    /// start unlocked there, whatever the parent's threads (which the child
    /// does not have) held at the fork; the parent's pending closures stay
    /// in the parent's state, never run nor dropped in the child.
    struct Process {
        /// The registrations not yet run nor cancelled: at most one per
        /// queue and handle, so a few; a `Vec` searched by token keeps this
        /// crate's build free of a `BTreeMap` (a fifth of its LLVM IR
        /// otherwise).
        ///
        /// Never held across a system call: registering (`mq_notify`) can
        /// block until the reader thread drains the socket, and the reader
        /// takes this lock to find what a message is for.
        pending: Mutex<Pending>,
        /// Held by whoever registers or cancels on this process's behalf
        /// (the handles' methods, and the worker registering again), across
        /// their `mq_notify` calls, so that a re-registration of a token
        /// just cancelled cannot land between a cancel and the registration
        /// that follows it (which would then fail with `EBUSY`). The reader
        /// thread never takes it.
        registering: Mutex<()>,
        /// The netlink socket and the worker's queue, once made.
        socket: Mutex<Option<(Arc<OwnedFd>, Sender<Job>)>>,
    }

    static PROCESS: AtomicPtr<(u32, Process)> = AtomicPtr::new(std::ptr::null_mut());

    /// This process's state, made on first use in this process (or in this
    /// forked child).
    fn process() -> &'static Process {
        crate::sys::per_process(&PROCESS, || Process {
            pending: Mutex::new(Pending(Vec::new())),
            registering: Mutex::new(()),
            socket: Mutex::new(None),
        })
    }

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

        fn supersede_queue(&mut self, id: (u64, u64)) {
            for (_, entry) in &mut self.0 {
                if entry.id == id {
                    entry.superseded = true;
                }
            }
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

    fn lock() -> MutexGuard<'static, Pending> {
        // Entries are independent boxes; a panic elsewhere cannot leave the
        // map half-updated.
        process()
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A registration or cancel in progress: holds this process's
    /// registration lock (see [`Process::registering`]).
    pub(super) struct Registering(#[allow(dead_code)] MutexGuard<'static, ()>);

    impl Registering {
        pub(super) fn start() -> Registering {
            // Guards no data: a panicking holder leaves nothing half-done.
            Registering(
                process()
                    .registering
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            )
        }

        /// Registers `f` for the next message on `queue`; on error gives
        /// `f` back with what failed.
        #[allow(clippy::unused_self)] // `&self`: proof that the lock is held
        pub(super) fn register(
            &self,
            queue: &Arc<OwnedFd>,
            f: Callback,
        ) -> Result<u64, (Errno, Option<&'static str>, Callback)> {
            let sock = match socket() {
                Ok(sock) => sock,
                Err((errno, what)) => return Err((errno, what, f)),
            };
            let id = match crate::sys::file_id(queue.as_fd()) {
                Ok(id) => id,
                Err(errno) => return Err((errno, Some("fstat of the queue"), f)),
            };
            let token = NEXT.fetch_add(1, Ordering::Relaxed);
            // In the table before the kernel knows the token, so that any
            // message about it finds it; the table is not locked during the
            // call, which may wait for the reader to make room.
            let queue = Arc::clone(queue);
            let fd = Arc::clone(&queue);
            lock().insert(
                token,
                Entry {
                    f,
                    queue,
                    id,
                    superseded: false,
                },
            );
            match mq::notify_netlink(fd.as_fd(), sock.as_fd(), token) {
                Ok(()) => Ok(token),
                Err(errno) => {
                    let entry = lock().remove(token).map(|e| e.f);
                    Err((errno, None, entry.unwrap_or_else(|| Box::new(|| {}))))
                }
            }
        }

        /// Marks every pending closure of the queue `id` superseded.
        #[allow(clippy::unused_self)] // `&self`: proof that the lock is held
        pub(super) fn supersede_queue(&self, id: (u64, u64)) {
            lock().supersede_queue(id);
        }
    }

    /// The socket of this process, made (with its reader and worker
    /// threads) if needed. If a thread cannot be started, nothing stays
    /// behind: the socket closes with the last thread holding it.
    fn socket() -> Result<Arc<OwnedFd>, (Errno, Option<&'static str>)> {
        let mut slot = process()
            .socket
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((sock, _)) = &*slot {
            return Ok(Arc::clone(sock));
        }
        // In a forked child the parent's socket stays open (nothing here
        // reads it) but is no longer used: the parent reads it.
        let sock = Arc::new(
            mq::netlink_socket().map_err(|e| (e, Some("creating the notification socket")))?,
        );
        let thread_error = |e: std::io::Error| {
            let errno = e.raw_os_error().unwrap_or(libc::EAGAIN);
            (errno, Some("starting the notification thread"))
        };
        let (jobs, queue) = std::sync::mpsc::channel();
        let worker_sock = Arc::clone(&sock);
        spawn("ipc-mq-rearm", Box::new(move || work(&worker_sock, &queue)))
            .map_err(thread_error)?;
        let reader_sock = Arc::clone(&sock);
        let reader_jobs = jobs.clone();
        // On failure `jobs` and `reader_jobs` drop: the worker's loop ends
        // and its copy of the socket closes.
        spawn(
            "ipc-mq-notify",
            Box::new(move || deliver(&reader_sock, &reader_jobs)),
        )
        .map_err(thread_error)?;
        *slot = Some((Arc::clone(&sock), jobs));
        Ok(sock)
    }

    /// Holds this process's table locked, as the reader does for a moment.
    #[cfg(test)]
    pub(super) fn hold_table() -> MutexGuard<'static, impl Sized> {
        lock()
    }

    /// Removes `token`'s entry: its closure will not run.
    pub(super) fn take(token: u64) -> Option<Callback> {
        lock().remove(token).map(|e| e.f)
    }

    /// The reader thread: reads cookies from `sock` forever. It never waits
    /// for the registration lock nor makes a registration (which could wait
    /// for room on the socket only it drains): re-registrations go to the
    /// worker.
    fn deliver(sock: &OwnedFd, jobs: &Sender<Job>) {
        loop {
            match mq::recv_notification(sock.as_fd()) {
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
    /// be started for. A closure that panics, or whose drop panics, does
    /// not end it.
    fn work(sock: &OwnedFd, jobs: &Receiver<Job>) {
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

    /// Drops `value` on a thread of this module, where a panicking `Drop`
    /// (a user's closure) must not end the thread.
    fn drop_quietly<T>(value: T) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(value)));
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
            let worker = process()
                .socket
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .map(|(_, jobs)| jobs.clone());
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

    /// Whether `token` is pending and not superseded; a superseded entry,
    /// whose registration the kernel has now removed, is dropped here.
    fn still_wanted(token: u64) -> bool {
        let mut pending = lock();
        match pending.get(token) {
            None => false,
            Some(entry) if entry.superseded => {
                let lost = pending.remove(token);
                drop(pending);
                drop_quietly(lost);
                false
            }
            Some(_) => true,
        }
    }

    /// The kernel removed `token`'s registration. If it was not cancelled
    /// (its entry is still here), a descriptor of the queue was closed in
    /// this process: register again. If that fails (another registration
    /// came first), the closure is dropped, never left pending.
    fn rearm(token: u64, sock: &OwnedFd) {
        // Most "removed" messages are for tokens cancelled or replaced:
        // those need no lock beyond the table's.
        if !still_wanted(token) {
            return;
        }
        let registering = Registering::start();
        if !still_wanted(token) {
            return;
        }
        let Some(queue) = lock().get(token).map(|e| Arc::clone(&e.queue)) else {
            return;
        };
        if mq::notify_netlink(queue.as_fd(), sock.as_fd(), token).is_err() {
            let lost = lock().remove(token);
            drop(registering);
            drop_quietly(lost);
            drop_quietly(queue);
            return;
        }
        // Dropped meanwhile with its handle (which takes no lock but the
        // table's): this registration is for nothing.
        if lock().get(token).is_none() {
            let _ = mq::notify_cancel(queue.as_fd());
            drop(registering);
            drop_quietly(queue);
            return;
        }
        // A message that arrived while unregistered made the queue
        // non-empty without a notification: deliver it now.
        let missed = mq::attr(queue.as_fd()).is_ok_and(|a| a.current_messages > 0);
        if missed && mq::notify_cancel(queue.as_fd()).is_ok() {
            drop(registering);
            fire(token);
        }
        drop_quietly(queue);
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

    /// Unlinks the queue on drop, also when the test fails.
    struct Unlink(String);

    impl Unlink {
        fn of(mq: &MessageQueue) -> Unlink {
            Unlink(mq.name().to_owned())
        }
    }

    impl Drop for Unlink {
        fn drop(&mut self) {
            let _ = crate::unlink_message_queue(&self.0);
        }
    }

    #[test]
    fn a_token_runs_or_drops_once() {
        let mq = queue("token-once");
        let _unlink = Unlink::of(&mq);
        let (tx, rx) = std::sync::mpsc::channel();
        let token = callbacks::Registering::start()
            .register(&mq.fd, Box::new(move || tx.send(1).unwrap()))
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
        let _unlink = Unlink::of(&mq);
        let token = callbacks::Registering::start()
            .register(&mq.fd, Box::new(|| panic!("in a notification")))
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
        let _unlink = Unlink::of(&mq);
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

    fn second_handle(mq: &MessageQueue) -> MessageQueue {
        MessageQueue::open(mq.name()).unwrap()
    }

    const WAIT: std::time::Duration = std::time::Duration::from_secs(5);

    /// A callback fires, and right after the message another handle of the
    /// queue registers: the first callback's table entry used to close a
    /// duplicate descriptor when it fired, which removed the newer
    /// registration (the review lost it 50 times in 50).
    /// How many of this process's descriptors refer to `mq`'s queue.
    fn descriptors_of(mq: &MessageQueue) -> usize {
        use std::os::unix::fs::MetadataExt;
        let id = crate::sys::file_id(mq.fd.as_fd()).unwrap();
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::metadata(e.path()).ok())
            .filter(|m| (m.dev(), m.ino()) == id)
            .count()
    }

    #[test]
    fn a_fired_callback_leaves_a_later_registration_alone() {
        let a = queue("fired-then-b");
        let _unlink = Unlink::of(&a);
        let b = second_handle(&a);
        // No descriptor of the library's own whose closing, at a moment
        // nobody chose, would remove the process's registration.
        assert_eq!(descriptors_of(&a), 2);
        a.notify_callback(|| {}).unwrap();
        assert_eq!(
            descriptors_of(&a),
            2,
            "a pending callback holds a descriptor"
        );
        a.cancel_notification().unwrap();
        for round in 0..50 {
            let (tx_a, rx_a) = std::sync::mpsc::channel();
            a.notify_callback(move || tx_a.send(()).unwrap()).unwrap();
            b.send(b"1", 0).unwrap();
            // No wait for A's callback: its registration is spent already.
            let (tx_b, rx_b) = std::sync::mpsc::channel();
            b.notify_callback(move || tx_b.send(()).unwrap()).unwrap();
            rx_a.recv_timeout(WAIT)
                .expect("A's message ran A's callback");
            a.receive().unwrap();
            b.send(b"2", 0).unwrap();
            assert!(
                rx_b.recv_timeout(WAIT).is_ok(),
                "B's registration lost in round {round}"
            );
            a.receive().unwrap();
        }
        a.unlink().unwrap();
    }

    /// Registering or cancelling through another handle of the queue
    /// replaces or cancels this process's registration made through the
    /// first (one per process and queue): the first closure is dropped, not
    /// registered again when the kernel reports its removal (it ran 413
    /// times in 500, and a cancel through the other handle never took).
    #[test]
    fn another_handle_replaces_or_cancels_the_registration() {
        let a = queue("replace-via-b");
        let _unlink = Unlink::of(&a);
        let b = second_handle(&a);
        let ran = std::sync::Arc::new(AtomicU64::new(0));
        for _ in 0..50 {
            let counted = std::sync::Arc::clone(&ran);
            a.notify_callback(move || {
                counted.fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
            let (tx_b, rx_b) = std::sync::mpsc::channel();
            b.notify_callback(move || tx_b.send(()).unwrap()).unwrap();
            a.send(b"x", 0).unwrap();
            rx_b.recv_timeout(WAIT).expect("B's callback runs");
            a.receive().unwrap();
            // A re-registration of A's closure would fire now (queue
            // non-empty): give the worker the time to make that mistake.
            a.send(b"y", 0).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
            a.receive().unwrap();
        }
        assert_eq!(ran.load(Ordering::Relaxed), 0, "a replaced closure ran");

        for _ in 0..20 {
            let counted = std::sync::Arc::clone(&ran);
            a.notify_callback(move || {
                counted.fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
            b.cancel_notification().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(10));
            a.send(b"z", 0).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
            a.receive().unwrap();
        }
        assert_eq!(ran.load(Ordering::Relaxed), 0, "a cancelled closure ran");
        a.unlink().unwrap();
    }

    /// A fork while this process's notification locks are held (by threads
    /// the child does not have) leaves the child's notification calls free:
    /// it starts with state of its own (27 children in 3 000 hung before).
    #[test]
    fn a_forked_child_never_waits_for_the_parents_locks() {
        let mq = queue("fork-locks");
        let _unlink = Unlink::of(&mq);
        mq.notify_callback(|| {}).unwrap();
        let registering = callbacks::Registering::start();
        let pending = callbacks::hold_table();
        let status = crate::sys::in_forked_child(|| {
            // The parent's registration on `mq` stays (the child's cancel
            // does nothing to it); the child registers on a queue of its
            // own.
            let own = queue("fork-locks-child");
            let ok = mq.cancel_notification().is_ok() && own.notify_callback(|| {}).is_ok();
            let _ = own.cancel_notification();
            let _ = own.unlink();
            ok
        });
        drop(pending);
        drop(registering);
        assert_eq!(status, Ok(()), "the child hung (SIGALRM) or failed");
    }
}
