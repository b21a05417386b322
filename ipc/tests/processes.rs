//! Two real processes sharing named semaphores: this binary re-runs itself in
//! a child role (chosen by `IPC_TEST_ROLE`), so parent and child are separate
//! processes with separate handles, as in production. Children also do what
//! a test thread must not do to a shared test process: close fd 0, lower a
//! resource limit, block signals.

// Blocking signals, lowering RLIMIT_FSIZE and closing fd 0 in the children
// are libc calls; each carries its SAFETY argument.
#![allow(unsafe_code)]

mod common;

use std::process::{Child, ExitCode};
use std::time::Duration;

use common::{Name, spawn};
use ipc::{ErrorKind, MessageQueue, Semaphore, SharedMemory};

const ROUNDS: u32 = 2_000;

fn main() -> ExitCode {
    if let Ok(role) = std::env::var("IPC_TEST_ROLE") {
        let args: Vec<String> = std::env::args().skip(1).collect();
        match role.as_str() {
            "ping-pong" => child_ping_pong(&args[0], &args[1]),
            "holder" => child_holder(&args[0], &args[1]),
            "shm-peer" => child_shm_peer(&args[0]),
            "fd-zero" => child_fd_zero(&args[0]),
            "fsize-limit" => child_fsize_limit(&args[0], &args[1]),
            "signal-notify" => child_signal_notify(&args[0]),
            "notify-holder" => child_notify_holder(&args[0], &args[1], &args[2]),
            "dsl-counter" => child_dsl_counter(&args[0]),
            "emfile-notify" => child_emfile_notify(&args[0], &args[1]),
            "msgqueue-limit" => child_msgqueue_limit(&args[0]),
            other => panic!("unknown role {other}"),
        }
        return ExitCode::SUCCESS;
    }
    BEFORE.get_or_init(common::namespace);
    let tests: [(&str, fn()); 11] = [
        (
            "critical_counter_in_shared_memory",
            critical_counter_in_shared_memory,
        ),
        ("ping_pong_between_processes", ping_pong_between_processes),
        ("lock_held_by_another_process", lock_held_by_another_process),
        (
            "shared_memory_between_processes",
            shared_memory_between_processes,
        ),
        ("fd_can_become_zero", fd_can_become_zero),
        (
            "failed_resize_keeps_existing_object",
            failed_resize_keeps_existing_object,
        ),
        ("signal_notifications", signal_notifications),
        (
            "notification_held_by_another_process",
            notification_held_by_another_process,
        ),
        (
            "descriptor_exhaustion_does_not_disable_callbacks",
            descriptor_exhaustion_does_not_disable_callbacks,
        ),
        ("msgqueue_limit_is_named", msgqueue_limit_is_named),
        ("namespace_left_as_found", namespace_left_as_found),
    ];
    common::run_tests(&tests)
}

fn wait_ok(mut child: Child) {
    let status = child.wait().unwrap();
    assert!(status.success(), "child failed: {status}");
}

/// The token goes parent → child → parent ROUNDS times through two
/// semaphores; both end at 0 and the child exits cleanly.
fn ping_pong_between_processes() {
    let (ping_name, pong_name) = (Name::sem("ping"), Name::sem("pong"));
    let ping = Semaphore::create_new(&ping_name, 0).unwrap();
    let pong = Semaphore::create_new(&pong_name, 0).unwrap();
    let child = spawn("ping-pong", &[&ping_name, &pong_name]);
    for _ in 0..ROUNDS {
        ping.release().unwrap();
        pong.acquire_timeout(Duration::from_secs(30)).unwrap();
    }
    wait_ok(child);
    assert_eq!(ping.value().unwrap(), 0);
    assert_eq!(pong.value().unwrap(), 0);
}

fn child_ping_pong(ping: &str, pong: &str) {
    let ping = Semaphore::open(ping).unwrap();
    let pong = Semaphore::open(pong).unwrap();
    for _ in 0..ROUNDS {
        ping.acquire_timeout(Duration::from_secs(30)).unwrap();
        pong.release().unwrap();
    }
}

/// A lock taken by the child is Busy for the parent until the child lets go;
/// then the parent's blocked acquire returns.
fn lock_held_by_another_process() {
    let (lock_name, ready_name) = (Name::sem("lock"), Name::sem("ready"));
    let lock = Semaphore::create_new(&lock_name, 1).unwrap();
    let ready = Semaphore::create_new(&ready_name, 0).unwrap();
    let child = spawn("holder", &[&lock_name, &ready_name]);
    ready.acquire_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(lock.try_lock().unwrap_err().kind(), ErrorKind::Busy);
    let err = lock.lock_timeout(Duration::from_millis(50)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    // The child releases after 200 ms; this wait outlasts it.
    let guard = lock.lock_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(lock.value().unwrap(), 0);
    drop(guard);
    wait_ok(child);
    assert_eq!(lock.value().unwrap(), 1);
}

fn child_holder(lock: &str, ready: &str) {
    let lock = Semaphore::open(lock).unwrap();
    let ready = Semaphore::open(ready).unwrap();
    let guard = lock.lock().unwrap();
    ready.release().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    drop(guard);
}

/// The namespace when this binary started.
static BEFORE: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// Every test above unlinked what it created, on success and on failure.
///
/// Only this binary's names are compared (its pid, or the fixed name of its
/// `#[named_semaphore]`): other builds on the machine create and remove
/// objects of their own meanwhile. `.ci/run` checks the whole namespace at
/// its end.
fn namespace_left_as_found() {
    let pid = std::process::id();
    let ours = |names: Vec<String>| -> Vec<String> {
        names
            .into_iter()
            .filter(|n| {
                n.contains(&format!("ipc-test.{pid}.")) || n.contains("ipc-test.processes.")
            })
            .collect()
    };
    assert_eq!(
        ours(common::namespace()),
        ours(BEFORE.get().cloned().unwrap_or_default())
    );
}

/// Data written by one process is read by another, and the reverse.
fn shared_memory_between_processes() {
    let name = Name::shm("peer");
    let shm = SharedMemory::create_new(&name, 8192).unwrap();
    let map = shm.map().unwrap();
    map.write_at(0, b"from parent").unwrap();
    wait_ok(spawn("shm-peer", &[&name]));
    let mut buf = [0u8; 10];
    map.read_at(4096, &mut buf).unwrap();
    assert_eq!(&buf, b"from child");
}

fn child_shm_peer(name: &str) {
    let shm = SharedMemory::open(name).unwrap();
    let map = shm.map().unwrap();
    let mut buf = [0u8; 11];
    map.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"from parent");
    map.write_at(4096, b"from child").unwrap();
}

/// posix_ipc's test_ctor_fd_can_become_zero: with fd 0 closed, a new object
/// gets descriptor 0 and works.
fn fd_can_become_zero() {
    let name = Name::shm("fd-zero");
    wait_ok(spawn("fd-zero", &[&name]));
}

/// Running out of descriptors makes a callback registration fail with the
/// real cause (`EMFILE`, not "unsupported"), and callbacks work again once
/// descriptors are free. glibc creates its notification socket once per
/// process: after one `EMFILE` every later SIGEV_THREAD registration failed
/// with `ENOSYS` for good. A fresh process (no socket yet) whose
/// `RLIMIT_NOFILE` is lowered, so the limit stays there. The same child
/// checks that `map()` without a free descriptor names the real cause (the
/// duplicate the mapping keeps), not `mmap`.
fn descriptor_exhaustion_does_not_disable_callbacks() {
    let shm_name = Name::shm("emfile");
    let _shm = SharedMemory::create_new(&shm_name, 64).unwrap();
    let name = Name::mq("emfile");
    let _mq = MessageQueue::options()
        .create_new(true)
        .max_messages(2)
        .max_message_size(8)
        .open(&name)
        .unwrap();
    wait_ok(spawn("emfile-notify", &[&name, &shm_name]));
}

fn child_emfile_notify(name: &str, shm_name: &str) {
    use std::os::fd::AsFd;
    let mq = MessageQueue::open(name).unwrap();
    let shm = SharedMemory::open(shm_name).unwrap();
    let limit = libc::rlimit {
        rlim_cur: 64,
        rlim_max: 64,
    };
    // SAFETY: `limit` is a valid rlimit; lowering a limit is always allowed.
    let ret = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit) };
    assert_eq!(ret, 0);
    let mut hog = Vec::new();
    while let Ok(fd) = mq.as_fd().try_clone_to_owned() {
        hog.push(fd);
    }
    for _ in 0..2 {
        let err = mq.notify_callback(|| {}).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
        assert_ne!(err.kind(), ErrorKind::Unsupported, "{err}");
        assert!(err.to_string().contains("too many open files"), "{err}");
    }
    let err = shm.map().unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
    assert!(!err.to_string().starts_with("mmap"), "{err}");
    assert!(
        err.to_string().contains("duplicate of the descriptor"),
        "{err}"
    );
    drop(hog);
    shm.map().unwrap().write_at(0, b"ok").unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    mq.notify_callback(move || tx.send(()).unwrap()).unwrap();
    mq.send(b"x", 0).unwrap();
    rx.recv_timeout(Duration::from_secs(30)).unwrap();
    mq.receive().unwrap();
}

/// The kernel reports an exhausted per-user `RLIMIT_MSGQUEUE` as `EMFILE`;
/// the error names the limit instead of "too many open files". A child
/// with the limit lowered to 0 bytes.
fn msgqueue_limit_is_named() {
    let name = Name::mq("msgqueue-limit");
    wait_ok(spawn("msgqueue-limit", &[&name]));
}

fn child_msgqueue_limit(name: &str) {
    let limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit; lowering a limit is always allowed.
    let ret = unsafe { libc::setrlimit(libc::RLIMIT_MSGQUEUE, &raw const limit) };
    assert_eq!(ret, 0);
    let err = MessageQueue::options()
        .create_new(true)
        .max_messages(2)
        .max_message_size(8)
        .open(name)
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
    assert!(err.to_string().contains("RLIMIT_MSGQUEUE"), "{err}");
    assert!(!err.to_string().contains("in this process"), "{err}");
}

fn child_fd_zero(name: &str) {
    use std::os::fd::AsRawFd;
    // SAFETY: this child process owns its stdin and never reads it; closing
    // fd 0 invalidates no Rust object.
    assert_eq!(unsafe { libc::close(0) }, 0);
    let shm = SharedMemory::create_new(name, 64).unwrap();
    assert_eq!(shm.as_raw_fd(), 0);
    shm.map().unwrap().write_at(0, b"zero").unwrap();
    assert_eq!(shm.size().unwrap(), 64);
    shm.unlink().unwrap();
    shm.close().unwrap();
}

/// A resize the system refuses (here: beyond RLIMIT_FSIZE, EFBIG) leaves an
/// object that existed before as it was, and removes one the call created.
/// posix_ipc unlinks both.
fn failed_resize_keeps_existing_object() {
    let existing = Name::shm("fsize-existing");
    let fresh = Name::shm("fsize-new");
    let shm = SharedMemory::create_new(&existing, 4096).unwrap();
    shm.map().unwrap().write_at(0, b"precious").unwrap();
    wait_ok(spawn("fsize-limit", &[&existing, &fresh]));
    assert_eq!(shm.size().unwrap(), 4096);
    let again = SharedMemory::open(&existing).unwrap();
    let mut buf = [0u8; 8];
    again.map().unwrap().read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"precious");
    assert_eq!(
        SharedMemory::open(&fresh).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

fn child_fsize_limit(existing: &str, fresh: &str) {
    // SAFETY: plain calls with valid arguments; ignoring SIGXFSZ makes an
    // oversized ftruncate fail with EFBIG instead of killing the process,
    // and this single-threaded child has no other use for the signal.
    unsafe {
        let mut lim = std::mem::zeroed::<libc::rlimit>();
        assert_eq!(libc::getrlimit(libc::RLIMIT_FSIZE, &raw mut lim), 0);
        lim.rlim_cur = 1 << 20;
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &raw const lim), 0);
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let err = SharedMemory::create(existing, 2 << 20).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(err.raw_os_error(), Some(libc::EFBIG));
    assert_eq!(SharedMemory::open(existing).unwrap().size().unwrap(), 4096);
    let err = SharedMemory::create_new(fresh, 2 << 20).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EFBIG));
    let err = SharedMemory::create(fresh, 2 << 20).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EFBIG));
}

/// posix_ipc's test_request_notification_signal, _signal_one_shot and
/// _cancel_default, in a child that blocks the signal and waits for it with
/// sigtimedwait.
fn signal_notifications() {
    let name = Name::mq("signal");
    wait_ok(spawn("signal-notify", &[&name]));
}

/// Waits up to `ms` for `signo`; true if it arrived.
fn wait_signal(signo: i32, ms: i64) -> bool {
    // SAFETY: `set` is initialized by sigemptyset before use; the timespec
    // is valid; sigtimedwait only reads both.
    unsafe {
        let mut set = std::mem::zeroed::<libc::sigset_t>();
        libc::sigemptyset(&raw mut set);
        libc::sigaddset(&raw mut set, signo);
        let ts = libc::timespec {
            tv_sec: ms / 1000,
            tv_nsec: (ms % 1000) * 1_000_000,
        };
        libc::sigtimedwait(&raw const set, std::ptr::null_mut(), &raw const ts) == signo
    }
}

fn child_signal_notify(name: &str) {
    let signo = ipc::consts::user_signal_min();
    // SAFETY: blocking a signal in this single-threaded child changes no
    // Rust state; it makes the notification wait for sigtimedwait instead
    // of killing the process.
    unsafe {
        let mut set = std::mem::zeroed::<libc::sigset_t>();
        libc::sigemptyset(&raw mut set);
        libc::sigaddset(&raw mut set, signo);
        assert_eq!(
            libc::pthread_sigmask(libc::SIG_BLOCK, &raw const set, std::ptr::null_mut()),
            0
        );
    }
    let mq = MessageQueue::options()
        .create_new(true)
        .max_messages(4)
        .max_message_size(8)
        .open(name)
        .unwrap();
    // One-shot: the first send fires; a send to a non-empty queue does not;
    // after draining, a send does not either (the registration is spent).
    mq.notify_signal(signo).unwrap();
    mq.send(b"1", 0).unwrap();
    assert!(
        wait_signal(signo, 10_000),
        "no signal for the first message"
    );
    mq.send(b"2", 0).unwrap();
    assert!(!wait_signal(signo, 200));
    mq.receive().unwrap();
    mq.receive().unwrap();
    mq.send(b"3", 0).unwrap();
    assert!(!wait_signal(signo, 200));
    mq.receive().unwrap();
    // Cancelled: nothing fires.
    mq.notify_signal(signo).unwrap();
    mq.cancel_notification().unwrap();
    mq.send(b"4", 0).unwrap();
    assert!(!wait_signal(signo, 200));
    mq.receive().unwrap();
    // Re-requested: fires again.
    mq.notify_signal(signo).unwrap();
    mq.send(b"5", 0).unwrap();
    assert!(wait_signal(signo, 10_000), "no signal after re-arming");
    // Numbers that are not signals are refused by name.
    for bad in [0, -1, ipc::consts::user_signal_max() + 1, 9999] {
        let err = mq.notify_signal(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
    }
}

/// A registration held by another process makes ours Busy (posix_ipc's
/// BusyError); cancelling then is a no-op; once that process exits, ours works.
fn notification_held_by_another_process() {
    let (name, ready, done) = (
        Name::mq("held"),
        Name::sem("held-ready"),
        Name::sem("held-done"),
    );
    let mq = MessageQueue::options()
        .create_new(true)
        .max_messages(2)
        .max_message_size(8)
        .open(&name)
        .unwrap();
    let ready_sem = Semaphore::create_new(&ready, 0).unwrap();
    let done_sem = Semaphore::create_new(&done, 0).unwrap();
    let child = spawn("notify-holder", &[&name, &ready, &done]);
    ready_sem.acquire_timeout(Duration::from_secs(30)).unwrap();
    let err = mq.notify_callback(|| {}).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert!(err.to_string().contains("another process"), "{err}");
    let err = mq
        .notify_signal(ipc::consts::user_signal_min())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    mq.cancel_notification().unwrap();
    done_sem.release().unwrap();
    wait_ok(child);
    let (tx, rx) = std::sync::mpsc::channel();
    mq.notify_callback(move || tx.send(()).unwrap()).unwrap();
    mq.send(b"x", 0).unwrap();
    rx.recv_timeout(Duration::from_secs(30)).unwrap();
}

fn child_notify_holder(name: &str, ready: &str, done: &str) {
    let mq = MessageQueue::open(name).unwrap();
    mq.notify_callback(|| {}).unwrap();
    Semaphore::open(ready).unwrap().release().unwrap();
    Semaphore::open(done)
        .unwrap()
        .acquire_timeout(Duration::from_secs(30))
        .unwrap();
}

#[ipc::named_semaphore(name = "/ipc-test.processes.counter", initial = 1)]
struct CounterLock;

const COUNTER_PROCESSES: usize = 4;
const COUNTER_ROUNDS: u64 = 2_500;

/// Four processes increment one counter in shared memory inside
/// `critical!`: a read-modify-write that loses updates without the lock.
fn critical_counter_in_shared_memory() {
    let _unlink = Name::adopt(CounterLock::NAME, common::Kind::Semaphore);
    let name = Name::shm("counter");
    let shm = SharedMemory::create_new(&name, 8).unwrap();
    let children: Vec<_> = (0..COUNTER_PROCESSES)
        .map(|_| spawn("dsl-counter", &[&name]))
        .collect();
    for child in children {
        wait_ok(child);
    }
    let mut buf = [0u8; 8];
    shm.map().unwrap().read_at(0, &mut buf).unwrap();
    assert_eq!(
        u64::from_ne_bytes(buf),
        COUNTER_PROCESSES as u64 * COUNTER_ROUNDS
    );
    assert_eq!(CounterLock::semaphore().unwrap().value().unwrap(), 1);
}

fn child_dsl_counter(name: &str) {
    let map = SharedMemory::open(name).unwrap().map().unwrap();
    for i in 0..COUNTER_ROUNDS {
        ipc::critical!(CounterLock => {
            let mut buf = [0u8; 8];
            map.read_at(0, &mut buf).unwrap();
            if i % 100 == 0 {
                std::thread::yield_now();
            }
            map.write_at(0, &(u64::from_ne_bytes(buf) + 1).to_ne_bytes()).unwrap();
        })
        .unwrap();
    }
}
