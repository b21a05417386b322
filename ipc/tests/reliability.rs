//! Reliability and security guarantees, each proved here (see RELIABILITY.md):
//! signals, other users, umask, crashes, fork, leaks and multi-process
//! stress. The file has its own `main` and runs its tests one at a time,
//! because they fork, change the umask, install signal handlers and count
//! this process's descriptors and mappings.

// fork, setuid, umask, kill, signal handlers and shared counters are libc
// calls; each states why it is sound.
#![allow(unsafe_code)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use common::Name;
use ipc::{ErrorKind, MessageQueue, Semaphore, SharedMemory};

fn main() -> std::process::ExitCode {
    common::run_tests(&[
        // Forking tests first: later ones start the C library's notification
        // thread, and a process should fork while it has a single thread.
        ("other_users_are_refused", other_users_are_refused),
        (
            "killed_holder_leaves_semaphore_taken",
            killed_holder_leaves_semaphore_taken,
        ),
        (
            "killed_sender_loses_no_sent_message",
            killed_sender_loses_no_sent_message,
        ),
        (
            "killed_receiver_loses_no_message",
            killed_receiver_loses_no_message,
        ),
        (
            "eight_processes_lose_no_update",
            eight_processes_lose_no_update,
        ),
        (
            "four_producers_four_consumers_exactly_once",
            four_producers_four_consumers_exactly_once,
        ),
        ("handles_work_after_fork", handles_work_after_fork),
        (
            "parent_and_child_both_register",
            parent_and_child_both_register,
        ),
        (
            "modes_are_exact_under_any_umask",
            modes_are_exact_under_any_umask,
        ),
        (
            "signal_storm_never_interrupts_a_wait",
            signal_storm_never_interrupts_a_wait,
        ),
        ("thousand_cycles_leak_nothing", thousand_cycles_leak_nothing),
    ])
}

const LONG: Duration = Duration::from_secs(30);

// ------------------------------------------------------------------ helpers

/// Runs `f` in a forked child and returns its pid; the child exits 0 if `f`
/// returned, 1 if it panicked. The forking tests run first, one at a time on
/// the main thread, while this process has no other thread, so the child may
/// allocate; it leaves with `_exit`, running no destructor of the parent's.
fn fork(f: impl FnOnce()) -> libc::pid_t {
    // SAFETY: see above; the child only runs `f` and `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_ok();
        // SAFETY: ends the child without running the parent's destructors
        // (which would unlink the parent's names).
        unsafe { libc::_exit(i32::from(!ok)) };
    }
    pid
}

/// Waits for a child and returns its raw wait status.
fn wait(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    // SAFETY: `pid` is our child; `status` is a writable int.
    let r = unsafe { libc::waitpid(pid, &raw mut status, 0) };
    assert_eq!(r, pid);
    status
}

fn wait_ok(pid: libc::pid_t) {
    let status = wait(pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: status {status:#x}"
    );
}

fn kill(pid: libc::pid_t) {
    // SAFETY: `pid` is our child, not yet reaped, so it names no other process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let status = wait(pid);
    assert!(
        libc::WIFSIGNALED(status),
        "the child was not killed: {status:#x}"
    );
}

/// A u32 cell in shared memory, read and written by several processes.
// The mapping is page-aligned (mmap), so u32 alignment holds.
#[allow(clippy::cast_ptr_alignment)]
fn cell(map: &ipc::Mapping, index: usize) -> &AtomicU32 {
    assert!((index + 1) * 4 <= map.len());
    // SAFETY: the mapping is page-aligned and at least (index+1)*4 bytes
    // (asserted), lives as long as the borrow of `map`, and AtomicU32 has
    // the size and alignment of u32; every process touches it only
    // through atomics.
    unsafe { &*map.as_mut_ptr().cast::<AtomicU32>().add(index) }
}

// ------------------------------------------------------------------ signals

static SIGNALS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_signal(_: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::Relaxed);
}

/// Runs `op` on a thread while this thread fires SIGUSR1 at it (handler
/// installed without SA_RESTART) until it finishes; `satisfy`, if given,
/// runs after `delay` to let an untimed `op` finish. Returns `op`'s result,
/// how long it took, how many signals hit it, and whether it returned only
/// after `satisfy` had started.
fn under_storm<T: Send + 'static>(
    op: impl FnOnce() -> T + Send + 'static,
    delay: Duration,
    satisfy: Option<&dyn Fn()>,
) -> (T, Duration, usize, bool) {
    let done = Arc::new(AtomicBool::new(false));
    let satisfying = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let (thread_done, thread_satisfying) = (Arc::clone(&done), Arc::clone(&satisfying));
    let handle = std::thread::spawn(move || {
        // SAFETY: pthread_self has no preconditions.
        tx.send(unsafe { libc::pthread_self() }).unwrap();
        let start = Instant::now();
        let result = op();
        let took = start.elapsed();
        let after = thread_satisfying.load(Ordering::SeqCst);
        thread_done.store(true, Ordering::SeqCst);
        (result, took, after)
    });
    let target = rx.recv().unwrap();
    let before = SIGNALS.load(Ordering::Relaxed);
    let start = Instant::now();
    let mut satisfied = satisfy.is_none();
    while !done.load(Ordering::SeqCst) {
        // SAFETY: `target` is the thread above; it is joined only after
        // this loop, so its pthread_t stays valid even once it has returned.
        unsafe { libc::pthread_kill(target, libc::SIGUSR1) };
        std::thread::sleep(Duration::from_micros(100));
        if !satisfied && start.elapsed() >= delay {
            satisfying.store(true, Ordering::SeqCst);
            satisfy.unwrap()();
            satisfied = true;
        }
    }
    let (result, took, after) = handle.join().unwrap();
    (
        result,
        took,
        SIGNALS.load(Ordering::Relaxed) - before,
        after,
    )
}

/// A storm of signals (no SA_RESTART) at a thread blocked in every kind of
/// wait: untimed waits return only when satisfied, timed waits wait their
/// full time, nothing reports Interrupted.
fn signal_storm_never_interrupts_a_wait() {
    // SAFETY: the handler only touches an atomic (async-signal-safe);
    // `sa_flags = 0` leaves SA_RESTART out on purpose.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = count_signal as *const () as usize;
        sa.sa_flags = 0;
        libc::sigemptyset(&raw mut sa.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &raw const sa, std::ptr::null_mut()),
            0
        );
    }
    let delay = Duration::from_millis(200);
    let timeout = Duration::from_millis(300);
    let sem_name = Name::sem("storm");
    let sem = Arc::new(Semaphore::create_new(&sem_name, 0).unwrap());
    let mq_name = Name::mq("storm");
    let mq = Arc::new(
        MessageQueue::options()
            .create_new(true)
            .max_messages(1)
            .max_message_size(8)
            .open(&mq_name)
            .unwrap(),
    );

    let s = Arc::clone(&sem);
    let (r, took, hits, after) =
        under_storm(move || s.acquire(), delay, Some(&|| sem.release().unwrap()));
    r.unwrap();
    assert!(after && hits > 100, "acquire: {took:?}, {hits} signals");

    let s = Arc::clone(&sem);
    let (r, took, hits, _) = under_storm(move || s.acquire_timeout(timeout), delay, None);
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Busy);
    assert!(
        took >= timeout && hits > 100,
        "acquire_timeout: {took:?}, {hits}"
    );

    let s = Arc::clone(&sem);
    let (r, took, _, after) = under_storm(
        move || s.acquire_timeout(LONG),
        delay,
        Some(&|| sem.release().unwrap()),
    );
    r.unwrap();
    assert!(after && took < LONG, "acquire_timeout(LONG): {took:?}");

    let q = Arc::clone(&mq);
    let (r, took, hits, after) = under_storm(
        move || q.receive(),
        delay,
        Some(&|| mq.send(b"x", 0).unwrap()),
    );
    assert_eq!(r.unwrap().0, b"x");
    assert!(after && hits > 100, "receive: {took:?}, {hits}");

    let q = Arc::clone(&mq);
    let (r, took, _, _) = under_storm(move || q.receive_timeout(timeout), delay, None);
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Busy);
    assert!(took >= timeout, "receive_timeout: {took:?}");

    mq.send(b"full", 0).unwrap();
    let q = Arc::clone(&mq);
    let (r, took, _, after) = under_storm(
        move || q.send(b"y", 0),
        delay,
        Some(&|| drop(mq.receive().unwrap())),
    );
    r.unwrap();
    assert!(after, "send: {took:?}");

    let q = Arc::clone(&mq);
    let (r, took, _, _) = under_storm(move || q.send_timeout(b"z", 0, timeout), delay, None);
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Busy);
    assert!(took >= timeout, "send_timeout: {took:?}");

    let q = Arc::clone(&mq);
    let (r, took, _, _) = under_storm(
        move || {
            let mut buf = [0u8; 8];
            q.receive_into_timeout(&mut buf, LONG)
                .map(|(n, _)| buf[..n].to_vec())
        },
        Duration::ZERO,
        None,
    );
    assert_eq!(r.unwrap(), b"y");
    assert!(took < LONG);
}

// ------------------------------------------------------------------ users

/// Objects with the default mode (0o600) refuse another user: a child that
/// drops to `nobody` gets PermissionDenied for all three kinds, and may not
/// unlink them; with mode 0o666 the same child gets in (the control).
fn other_users_are_refused() {
    let names = [Name::sem("users"), Name::shm("users"), Name::mq("users")];
    let open_names = [
        Name::sem("users-open"),
        Name::shm("users-open"),
        Name::mq("users-open"),
    ];
    let create = |n: &[Name; 3], mode: u32| {
        let s = Semaphore::options()
            .create_new(true)
            .mode(mode)
            .open(&n[0])
            .unwrap();
        let m = SharedMemory::options()
            .create_new(true)
            .mode(mode)
            .size(64)
            .open(&n[1])
            .unwrap();
        let q = MessageQueue::options()
            .create_new(true)
            .mode(mode)
            .max_message_size(8)
            .open(&n[2])
            .unwrap();
        (s, m, q)
    };
    let _private = create(&names, 0o600);
    let _shared = create(&open_names, 0o666);
    let (private, open): (Vec<String>, Vec<String>) = (
        names.iter().map(|n| n.to_string()).collect(),
        open_names.iter().map(|n| n.to_string()).collect(),
    );
    wait_ok(fork(move || {
        // SAFETY: plain calls; the child gives up root for good.
        let switched = unsafe { libc::setgid(65534) == 0 && libc::setuid(65534) == 0 };
        assert!(
            switched,
            "this test runs as root, to become `nobody` in a child"
        );
        let denied = ErrorKind::PermissionDenied;
        assert_eq!(Semaphore::open(&private[0]).unwrap_err().kind(), denied);
        assert_eq!(
            Semaphore::create(&private[0], 1).unwrap_err().kind(),
            denied
        );
        assert_eq!(SharedMemory::open(&private[1]).unwrap_err().kind(), denied);
        let ro = SharedMemory::options().read_only(true).open(&private[1]);
        assert_eq!(ro.unwrap_err().kind(), denied);
        assert_eq!(MessageQueue::open(&private[2]).unwrap_err().kind(), denied);
        let ro = MessageQueue::options().write(false).open(&private[2]);
        assert_eq!(ro.unwrap_err().kind(), denied);
        assert_eq!(
            ipc::unlink_semaphore(&private[0]).unwrap_err().kind(),
            denied
        );
        assert_eq!(
            ipc::unlink_shared_memory(&private[1]).unwrap_err().kind(),
            denied
        );
        assert_eq!(
            ipc::unlink_message_queue(&private[2]).unwrap_err().kind(),
            denied
        );
        let err = Semaphore::open(&private[0]).unwrap_err().to_string();
        assert!(err.ends_with("permission denied"), "{err}");
        // The control: mode 0o666 lets the same user in.
        Semaphore::open(&open[0]).unwrap().release().unwrap();
        SharedMemory::open(&open[1])
            .unwrap()
            .map()
            .unwrap()
            .write_at(0, b"x")
            .unwrap();
        MessageQueue::open(&open[2]).unwrap().send(b"x", 0).unwrap();
    }));
}

/// Permission bits are exactly the requested mode under umask 0o077 and
/// 0o000 (sem_open, shm_open and mq_open alone would mask them).
fn modes_are_exact_under_any_umask() {
    use std::os::fd::AsFd;
    use std::os::unix::fs::PermissionsExt;
    let bits = |fd: std::os::fd::BorrowedFd<'_>| {
        let file = std::fs::File::from(fd.try_clone_to_owned().unwrap());
        file.metadata().unwrap().permissions().mode() & 0o777
    };
    for umask in [0o077, 0o000] {
        // SAFETY: umask has no memory preconditions; restored below.
        let old = unsafe { libc::umask(umask) };
        for mode in [0o600, 0o640, 0o644, 0o666] {
            let n = Name::sem("umask");
            let _s = Semaphore::options()
                .create_new(true)
                .mode(mode)
                .open(&n)
                .unwrap();
            let meta = std::fs::metadata(format!("/dev/shm/sem.{}", &n[1..])).unwrap();
            assert_eq!(
                meta.permissions().mode() & 0o777,
                mode,
                "sem {mode:o} umask {umask:o}"
            );
            let n = Name::shm("umask");
            let m = SharedMemory::options()
                .create(true)
                .mode(mode)
                .open(&n)
                .unwrap();
            assert_eq!(bits(m.as_fd()), mode, "shm {mode:o} umask {umask:o}");
            let n = Name::mq("umask");
            let q = MessageQueue::options()
                .create(true)
                .mode(mode)
                .max_message_size(8)
                .open(&n)
                .unwrap();
            assert_eq!(bits(q.as_fd()), mode, "mq {mode:o} umask {umask:o}");
        }
        // SAFETY: as above.
        unsafe { libc::umask(old) };
    }
}

// ------------------------------------------------------------------ crashes

/// A process SIGKILLed while holding a semaphore leaves it taken — POSIX
/// semaphores have no owner — and waiters' timeouts still expire.
fn killed_holder_leaves_semaphore_taken() {
    let (lock_name, ready_name) = (Name::sem("killed"), Name::sem("killed-ready"));
    let lock = Semaphore::create_new(&lock_name, 1).unwrap();
    let ready = Semaphore::create_new(&ready_name, 0).unwrap();
    let pid = fork(|| {
        let guard = lock.lock().unwrap();
        ready.release().unwrap();
        std::thread::sleep(LONG);
        drop(guard);
    });
    ready.acquire_timeout(LONG).unwrap();
    kill(pid);
    assert_eq!(lock.value().unwrap(), 0);
    let timeout = Duration::from_millis(100);
    let start = Instant::now();
    assert_eq!(
        lock.lock_timeout(timeout).unwrap_err().kind(),
        ErrorKind::Busy
    );
    assert!(start.elapsed() >= timeout);
    assert_eq!(lock.try_lock().unwrap_err().kind(), ErrorKind::Busy);
}

fn seq_queue(tag: &str) -> (Name, MessageQueue) {
    let name = Name::mq(tag);
    let mq = MessageQueue::options()
        .create_new(true)
        .max_messages(10)
        .max_message_size(8)
        .open(&name)
        .unwrap();
    (name, mq)
}

fn seq(msg: &[u8]) -> u64 {
    u64::from_le_bytes(msg.try_into().unwrap())
}

/// A sender SIGKILLed mid-stream: every message whose send completed is
/// delivered, in order, once.
fn killed_sender_loses_no_sent_message() {
    let (_name, mq) = seq_queue("killed-sender");
    let shm_name = Name::shm("killed-sender");
    let shm = SharedMemory::create_new(&shm_name, 8).unwrap();
    let map = shm.map().unwrap();
    let pid = fork(|| {
        for i in 0u64.. {
            mq.send(&i.to_le_bytes(), 0).unwrap();
            cell(&map, 0).store(u32::try_from(i + 1).unwrap(), Ordering::SeqCst);
        }
    });
    for i in 0..500 {
        assert_eq!(seq(&mq.receive_timeout(LONG).unwrap().0), i);
    }
    kill(pid);
    let sent = u64::from(cell(&map, 0).load(Ordering::SeqCst));
    let mut next = 500;
    while let Ok((msg, _)) = mq.try_receive() {
        assert_eq!(seq(&msg), next, "a gap or a duplicate");
        next += 1;
    }
    // The child may die between a completed send and recording it.
    assert!(
        next == sent || next == sent + 1,
        "received {next}, sent {sent}"
    );
}

/// A receiver SIGKILLed mid-stream: every message it did not take is still
/// in the queue, in order.
fn killed_receiver_loses_no_message() {
    let (_name, mq) = seq_queue("killed-receiver");
    let shm_name = Name::shm("killed-receiver");
    let shm = SharedMemory::create_new(&shm_name, 8).unwrap();
    let map = shm.map().unwrap();
    let pid = fork(|| {
        loop {
            let (msg, _) = mq.receive().unwrap();
            cell(&map, 0).store(u32::try_from(seq(&msg) + 1).unwrap(), Ordering::SeqCst);
        }
    });
    for i in 0u64..500 {
        mq.send_timeout(&i.to_le_bytes(), 0, LONG).unwrap();
    }
    kill(pid);
    let taken = u64::from(cell(&map, 0).load(Ordering::SeqCst));
    let rest: Vec<u64> =
        std::iter::from_fn(|| mq.try_receive().ok().map(|(m, _)| seq(&m))).collect();
    let first = rest.first().copied().unwrap_or(500);
    // The child may die between taking a message and recording it.
    assert!(
        first == taken || first == taken + 1,
        "first left {first}, taken {taken}"
    );
    assert_eq!(rest, (first..500).collect::<Vec<_>>());
}

// ------------------------------------------------------------------ fork

/// Handles opened before fork() work in the child. A notification
/// registration stays with the process that made it: a message the child
/// sends fires the parent's callback.
fn handles_work_after_fork() {
    let (sem_name, shm_name, mq_name) = (Name::sem("fork"), Name::shm("fork"), Name::mq("fork"));
    let sem = Semaphore::create_new(&sem_name, 0).unwrap();
    let shm = SharedMemory::create_new(&shm_name, 64).unwrap();
    let map = shm.map().unwrap();
    let mq = MessageQueue::options()
        .create_new(true)
        .max_messages(2)
        .max_message_size(8)
        .open(&mq_name)
        .unwrap();
    let (tx, rx) = mpsc::channel();
    mq.notify_callback(move || tx.send(std::process::id()).unwrap())
        .unwrap();
    wait_ok(fork(|| {
        sem.release().unwrap();
        map.write_at(0, b"child").unwrap();
        assert_eq!(shm.size().unwrap(), 64);
        mq.send(b"child", 1).unwrap();
    }));
    assert_eq!(sem.value().unwrap(), 1);
    let mut buf = [0u8; 5];
    map.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"child");
    assert_eq!(rx.recv_timeout(LONG).unwrap(), std::process::id());
    assert_eq!(mq.receive().unwrap(), (b"child".to_vec(), 1));
}

/// A queue of 2 messages of 8 bytes, for the notification tests.
fn notify_queue(tag: &str) -> (Name, MessageQueue) {
    let name = Name::mq(tag);
    let mq = MessageQueue::options()
        .create_new(true)
        .max_messages(2)
        .max_message_size(8)
        .open(&name)
        .unwrap();
    (name, mq)
}

/// After fork(), parent and child both register callbacks, on queues of
/// their own: each message runs the closure of the process and queue it was
/// registered for. With glibc's SIGEV_THREAD the child shared the parent's
/// netlink socket and both processes' helper threads read it, while the
/// copied token counter made the child's tokens equal the parent's: a
/// message on the child's queue could run the parent's closure (and the
/// child's never ran).
fn parent_and_child_both_register() {
    let (_p1_name, p1) = notify_queue("fork-reg-p1");
    let (_p2_name, p2) = notify_queue("fork-reg-p2");
    let (_c_name, child_queue) = notify_queue("fork-reg-c");
    let sem_name = Name::sem("fork-reg");
    let parent_registered = Semaphore::create_new(&sem_name, 0).unwrap();
    let (tx, rx) = mpsc::channel();
    let tx1 = tx.clone();
    p1.notify_callback(move || tx1.send("p1").unwrap()).unwrap();
    let child = fork(|| {
        parent_registered.acquire().unwrap();
        // Several rounds: with the shared socket, each cookie went to either
        // process's helper thread.
        for _ in 0..10 {
            let (tx, rx) = mpsc::channel();
            child_queue
                .notify_callback(move || tx.send(std::process::id()).unwrap())
                .unwrap();
            child_queue.send(b"child", 0).unwrap();
            assert_eq!(rx.recv_timeout(LONG).unwrap(), std::process::id());
            child_queue.receive().unwrap();
        }
    });
    // The parent's next token is the one the child hands out first.
    p2.notify_callback(move || tx.send("p2").unwrap()).unwrap();
    parent_registered.release().unwrap();
    wait_ok(child);
    p2.send(b"p2", 0).unwrap();
    assert_eq!(rx.recv_timeout(LONG).unwrap(), "p2");
    p1.send(b"p1", 0).unwrap();
    assert_eq!(rx.recv_timeout(LONG).unwrap(), "p1");
    assert!(rx.try_recv().is_err(), "a closure ran twice");
}

// ------------------------------------------------------------------ leaks

/// This process's descriptors and mappings, and the names of the kind
/// `thousand_cycles_leak_nothing` creates (other processes on the machine,
/// benchmarks included, may come and go meanwhile).
fn snapshot() -> (usize, usize, Vec<String>) {
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count);
    let maps = std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count();
    let mut names = common::namespace();
    names.retain(|n| n.contains("ipc-test.leak"));
    (fds, maps, names)
}

/// 1000 create/use/unlink cycles of each kind leave the descriptors, the
/// mappings and the namespaces as they were; the 1000 notification closures
/// that never fired were all dropped.
fn thousand_cycles_leak_nothing() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let cycle = || {
        let sem = Semaphore::options()
            .initial_value(1)
            .create_unique("/ipc-test.leak")
            .unwrap();
        drop(sem.lock().unwrap());
        sem.unlink().unwrap();
        let shm = SharedMemory::options()
            .size(4096)
            .create_unique("/ipc-test.leak")
            .unwrap();
        let map = shm.map().unwrap();
        map.write_at(0, b"x").unwrap();
        shm.unlink().unwrap();
        drop((shm, map));
        let mq = MessageQueue::options()
            .max_messages(2)
            .max_message_size(8)
            .create_unique("/ipc-test.leak")
            .unwrap();
        let _mq_name = Name::adopt(mq.name(), common::Kind::MessageQueue);
        mq.send(b"x", 0).unwrap();
        mq.receive().unwrap();
        let counted = Counted(Arc::clone(&dropped));
        mq.notify_callback(move || drop(counted)).unwrap();
        mq.unlink().unwrap();
    };
    cycle(); // warm up: the first notification starts the C library's helper
    let before = snapshot();
    for _ in 0..1000 {
        cycle();
    }
    assert_eq!(snapshot(), before);
    assert_eq!(dropped.load(Ordering::SeqCst), 1001);
}

// ------------------------------------------------------------------ stress

#[ipc::named_semaphore(name = "/ipc-test.reliability.stress", initial = 1)]
struct StressLock;

/// 8 processes × 10 000 critical sections on one counter lose no update.
fn eight_processes_lose_no_update() {
    let _unlink = Name::adopt(StressLock::NAME, common::Kind::Semaphore);
    let name = Name::shm("stress");
    let shm = SharedMemory::create_new(&name, 8).unwrap();
    let map = shm.map().unwrap();
    StressLock::semaphore().unwrap();
    let pids: Vec<_> = (0..8)
        .map(|_| {
            fork(|| {
                for _ in 0..10_000 {
                    ipc::critical!(StressLock => {
                        // A plain read-modify-write: only the lock makes it safe.
                        let c = cell(&map, 0);
                        c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for pid in pids {
        wait_ok(pid);
    }
    assert_eq!(cell(&map, 0).load(Ordering::SeqCst), 80_000);
}

/// 4 producers and 4 consumers on one queue: every message is delivered
/// exactly once.
fn four_producers_four_consumers_exactly_once() {
    const EACH: u32 = 5_000;
    let (_name, mq) = seq_queue("mpmc");
    let shm_name = Name::shm("mpmc");
    let shm = SharedMemory::create_new(&shm_name, 4 * EACH as usize * 4).unwrap();
    let map = shm.map().unwrap();
    let consumers: Vec<_> = (0..4)
        .map(|_| {
            fork(|| {
                loop {
                    let (msg, _) = mq.receive().unwrap();
                    let id = seq(&msg);
                    if id == u64::MAX {
                        break;
                    }
                    cell(&map, usize::try_from(id).unwrap()).fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    let mq_ref = &mq;
    let producers: Vec<_> = (0..4u32)
        .map(|p| {
            fork(move || {
                for i in 0..EACH {
                    mq_ref
                        .send(&u64::from(p * EACH + i).to_le_bytes(), p)
                        .unwrap();
                }
            })
        })
        .collect();
    for pid in producers {
        wait_ok(pid);
    }
    for _ in 0..4 {
        mq.send(&u64::MAX.to_le_bytes(), 0).unwrap();
    }
    for pid in consumers {
        wait_ok(pid);
    }
    let counts: Vec<u32> = (0..4 * EACH as usize)
        .map(|i| cell(&map, i).load(Ordering::SeqCst))
        .collect();
    let wrong: Vec<_> = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c != 1)
        .take(5)
        .collect();
    assert!(
        wrong.is_empty(),
        "messages not delivered exactly once: {wrong:?}"
    );
}
