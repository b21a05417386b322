//! Interoperability with Python's posix_ipc 1.3.2, both ways, for the three
//! kinds of object. The interpreter is `$IPC_TEST_PYTHON`, or a venv the
//! tests make under `target/` (posix-ipc from PyPI); when neither can be
//! had, the tests fail: they never pass without running.

use std::process::Command;
use std::time::{Duration, Instant};

use ipc::consts;
use ipc::{ErrorKind, MessageQueue, Semaphore, SharedMemory};
use ipc_tests::{Kind, Name, Peer, py, py_spawn, python};

const LONG: Duration = Duration::from_secs(30);

/// Runs the posix_ipc call `call` (with `args[0]` = `name`) and returns the
/// name of the posix_ipc exception it raised, or "" if it raised none.
fn py_error(python: &std::path::Path, call: &str, name: &str) -> String {
    let code = format!("try:\n    {call}\nexcept p.Error as e:\n    print(type(e).__name__)");
    py(python, &code, &[name])
}

/// Our constants equal posix_ipc's.
#[test]
fn constants_match() {
    let Some(python) = python() else { return };
    let out = py(
        python,
        "print(p.SEMAPHORE_VALUE_MAX, p.QUEUE_PRIORITY_MAX, p.PAGE_SIZE,
      p.QUEUE_MESSAGES_MAX_DEFAULT, p.QUEUE_MESSAGE_SIZE_MAX_DEFAULT,
      p.USER_SIGNAL_MIN, p.USER_SIGNAL_MAX,
      int(p.SEMAPHORE_TIMEOUT_SUPPORTED), int(p.SEMAPHORE_VALUE_SUPPORTED),
      int(p.MESSAGE_QUEUES_SUPPORTED))",
        &[],
    );
    let ours = format!(
        "{} {} {} {} {} {} {} {} {} {}",
        consts::SEMAPHORE_VALUE_MAX,
        consts::QUEUE_PRIORITY_MAX,
        consts::page_size(),
        consts::queue_messages_max_default(),
        consts::queue_message_size_max_default(),
        consts::user_signal_min(),
        consts::user_signal_max(),
        u8::from(consts::SEMAPHORE_TIMEOUT_SUPPORTED),
        u8::from(consts::SEMAPHORE_VALUE_SUPPORTED),
        u8::from(consts::MESSAGE_QUEUES_SUPPORTED),
    );
    assert_eq!(out, ours);
}

/// Python creates a semaphore, Rust opens it: the value agrees both ways.
#[test]
fn semaphore_python_creates_rust_opens() {
    let Some(python) = python() else { return };
    let name = Name::sem("py-sem");
    let out = py(
        python,
        "s = p.Semaphore(args[0], p.O_CREX, mode=0o600, initial_value=5); print(s.value)",
        &[&name],
    );
    assert_eq!(out, "5");
    let sem = Semaphore::open(&name).unwrap();
    assert_eq!(sem.value().unwrap(), 5);
    sem.acquire().unwrap();
    sem.acquire().unwrap();
    let out = py(python, "print(p.Semaphore(args[0]).value)", &[&name]);
    assert_eq!(out, "3");
}

/// Rust creates a semaphore, Python opens and takes from it.
#[test]
fn semaphore_rust_creates_python_opens() {
    let Some(python) = python() else { return };
    let name = Name::sem("rs-sem");
    let sem = Semaphore::create_new(&name, 3).unwrap();
    let out = py(
        python,
        "s = p.Semaphore(args[0]); s.acquire(0); s.acquire(0); print(s.value)",
        &[&name],
    );
    assert_eq!(out, "1");
    assert_eq!(sem.value().unwrap(), 1);
}

/// A Python process blocked in acquire is woken by a Rust release, and a
/// Rust acquire is woken by a Python release.
#[test]
fn semaphore_wakeups_both_ways() {
    let Some(python) = python() else { return };
    let name = Name::sem("wake");
    let sem = Semaphore::create_new(&name, 0).unwrap();
    let mut peer = py_spawn(
        python,
        "s = p.Semaphore(args[0]); print('waiting'); s.acquire(30); print('acquired')",
        &[&name],
    );
    assert_eq!(peer.line(), "waiting");
    std::thread::sleep(Duration::from_millis(200));
    assert!(peer.running(), "python did not block");
    sem.release().unwrap();
    assert_eq!(peer.line(), "acquired");
    peer.finish();
    assert_eq!(sem.value().unwrap(), 0);

    let peer = py_spawn(
        python,
        "s = p.Semaphore(args[0]); time.sleep(0.2); s.release()",
        &[&name],
    );
    let start = Instant::now();
    sem.acquire_timeout(LONG).unwrap();
    assert!(start.elapsed() < LONG);
    peer.finish();
}

/// Unlink on one side is seen on the other; exclusive creation collides both
/// ways (AlreadyExists here, ExistentialError there).
#[test]
fn semaphore_unlink_and_exclusive_creation() {
    let Some(python) = python() else { return };
    let name = Name::sem("excl");
    let _sem = Semaphore::create_new(&name, 0).unwrap();
    assert_eq!(
        py_error(python, "p.Semaphore(args[0], p.O_CREX)", &name),
        "ExistentialError"
    );
    py(python, "p.unlink_semaphore(args[0])", &[&name]);
    assert_eq!(
        Semaphore::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );

    py(python, "p.Semaphore(args[0], p.O_CREX)", &[&name]);
    assert_eq!(
        Semaphore::create_new(&name, 0).unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    ipc::unlink_semaphore(&name).unwrap();
    assert_eq!(
        py_error(python, "p.Semaphore(args[0])", &name),
        "ExistentialError"
    );
}

/// Python creates shared memory and writes it; Rust opens it, sees the size
/// and the bytes, and writes back.
#[test]
fn shared_memory_python_creates_rust_opens() {
    let Some(python) = python() else { return };
    let name = Name::shm("py-shm");
    py(
        python,
        "m = p.SharedMemory(args[0], p.O_CREX, size=4096)
mm = mmap.mmap(m.fd, m.size); mm[0:11] = b'from python'; mm.close(); m.close_fd()",
        &[&name],
    );
    let shm = SharedMemory::open(&name).unwrap();
    assert_eq!(shm.size().unwrap(), 4096);
    let map = shm.map().unwrap();
    let mut buf = [0u8; 11];
    map.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"from python");
    map.write_at(100, b"from rust").unwrap();
    let out = py(
        python,
        "m = p.SharedMemory(args[0]); mm = mmap.mmap(m.fd, m.size); print(mm[100:109].decode())",
        &[&name],
    );
    assert_eq!(out, "from rust");
}

/// Rust creates shared memory of an odd size; Python sees the size and bytes.
#[test]
fn shared_memory_rust_creates_python_opens() {
    let Some(python) = python() else { return };
    let name = Name::shm("rs-shm");
    let shm = SharedMemory::create_new(&name, 3333).unwrap();
    shm.map().unwrap().write_at(3000, b"tail").unwrap();
    let out = py(
        python,
        "m = p.SharedMemory(args[0]); mm = mmap.mmap(m.fd, m.size); print(m.size, mm[3000:3004].decode())",
        &[&name],
    );
    assert_eq!(out, "3333 tail");
    // A second Python handle with a size resizes it for us too.
    py(python, "p.SharedMemory(args[0], size=8192)", &[&name]);
    assert_eq!(shm.size().unwrap(), 8192);
}

/// Unlink and exclusive creation of shared memory, both ways.
#[test]
fn shared_memory_unlink_and_exclusive_creation() {
    let Some(python) = python() else { return };
    let name = Name::shm("excl");
    let _shm = SharedMemory::create_new(&name, 16).unwrap();
    assert_eq!(
        py_error(python, "p.SharedMemory(args[0], p.O_CREX)", &name),
        "ExistentialError"
    );
    py(python, "p.unlink_shared_memory(args[0])", &[&name]);
    assert_eq!(
        SharedMemory::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    py(
        python,
        "p.SharedMemory(args[0], p.O_CREX, size=16)",
        &[&name],
    );
    assert_eq!(
        SharedMemory::create_new(&name, 16).unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    ipc::unlink_shared_memory(&name).unwrap();
    assert_eq!(
        py_error(python, "p.SharedMemory(args[0])", &name),
        "ExistentialError"
    );
}

/// Python creates a queue and sends with priorities; Rust sees its
/// attributes and receives in priority order.
#[test]
fn queue_python_creates_rust_opens() {
    let Some(python) = python() else { return };
    let name = Name::mq("py-mq");
    py(
        python,
        "q = p.MessageQueue(args[0], p.O_CREX, max_messages=5, max_message_size=64)
q.send('low', priority=1); q.send(b'high', priority=9); q.send('mid', priority=5); q.close()",
        &[&name],
    );
    let mq = MessageQueue::open(&name).unwrap();
    assert_eq!((mq.max_messages(), mq.max_message_size()), (5, 64));
    assert_eq!(mq.current_messages().unwrap(), 3);
    assert_eq!(mq.receive().unwrap(), (b"high".to_vec(), 9));
    assert_eq!(mq.receive().unwrap(), (b"mid".to_vec(), 5));
    assert_eq!(mq.receive().unwrap(), (b"low".to_vec(), 1));
}

/// Rust creates a queue and sends; Python sees the same attributes and
/// receives highest priority first, FIFO within one.
#[test]
fn queue_rust_creates_python_opens() {
    let Some(python) = python() else { return };
    let name = Name::mq("rs-mq");
    let mq = MessageQueue::options()
        .create_new(true)
        .max_messages(4)
        .max_message_size(32)
        .open(&name)
        .unwrap();
    for (m, prio) in [(&b"a"[..], 0), (b"b", 7), (b"c", 7), (b"d", 32767)] {
        mq.send(m, prio).unwrap();
    }
    let out = py(
        python,
        "q = p.MessageQueue(args[0])
print(q.max_messages, q.max_message_size, q.current_messages)
for _ in range(4):
    m, prio = q.receive(0)
    print(m.decode(), prio)",
        &[&name],
    );
    assert_eq!(out, "4 32 4\nd 32767\nb 7\nc 7\na 0");
    assert_eq!(mq.current_messages().unwrap(), 0);
}

/// A Python process blocked in receive is woken by a Rust send, and the reverse.
#[test]
fn queue_wakeups_both_ways() {
    let Some(python) = python() else { return };
    let name = Name::mq("wake");
    let mq = MessageQueue::options()
        .create_new(true)
        .max_messages(2)
        .max_message_size(16)
        .open(&name)
        .unwrap();
    let mut peer = py_spawn(
        python,
        "q = p.MessageQueue(args[0]); print('waiting'); m, prio = q.receive(30); print(m.decode(), prio)",
        &[&name],
    );
    assert_eq!(peer.line(), "waiting");
    std::thread::sleep(Duration::from_millis(200));
    assert!(peer.running(), "python did not block");
    mq.send(b"wake", 3).unwrap();
    assert_eq!(peer.line(), "wake 3");
    peer.finish();

    let peer = py_spawn(
        python,
        "q = p.MessageQueue(args[0]); time.sleep(0.2); q.send('back', priority=2)",
        &[&name],
    );
    assert_eq!(mq.receive_timeout(LONG).unwrap(), (b"back".to_vec(), 2));
    peer.finish();
}

/// Unlink and exclusive creation of queues, both ways.
#[test]
fn queue_unlink_and_exclusive_creation() {
    let Some(python) = python() else { return };
    let name = Name::mq("excl");
    let _mq = MessageQueue::options()
        .create_new(true)
        .max_message_size(8)
        .open(&name)
        .unwrap();
    assert_eq!(
        py_error(python, "p.MessageQueue(args[0], p.O_CREX)", &name),
        "ExistentialError"
    );
    py(python, "p.unlink_message_queue(args[0])", &[&name]);
    assert_eq!(
        MessageQueue::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    py(
        python,
        "p.MessageQueue(args[0], p.O_CREX, max_message_size=8)",
        &[&name],
    );
    assert_eq!(
        MessageQueue::create_new(&name).unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    ipc::unlink_message_queue(&name).unwrap();
    assert_eq!(
        py_error(python, "p.MessageQueue(args[0])", &name),
        "ExistentialError"
    );
}

/// A notification registered in Rust fires on a send from Python.
#[test]
fn rust_notification_fires_on_python_send() {
    let Some(python) = python() else { return };
    let name = Name::mq("notify");
    let mq = MessageQueue::options()
        .create_new(true)
        .max_messages(2)
        .max_message_size(16)
        .open(&name)
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    mq.notify_callback(move || tx.send(()).unwrap()).unwrap();
    py(python, "p.MessageQueue(args[0]).send('ping')", &[&name]);
    rx.recv_timeout(LONG).unwrap();
    assert_eq!(mq.receive().unwrap().0, b"ping");
}

/// A notification registered in Python makes ours Busy until Python exits.
#[test]
fn python_notification_makes_ours_busy() {
    let Some(python) = python() else { return };
    let name = Name::mq("notify-busy");
    let mq = MessageQueue::options()
        .create_new(true)
        .max_messages(2)
        .max_message_size(16)
        .open(&name)
        .unwrap();
    let mut peer = py_spawn(
        python,
        "q = p.MessageQueue(args[0]); q.request_notification((lambda _: None, None))
print('registered'); sys.stdin.read()",
        &[&name],
    );
    assert_eq!(peer.line(), "registered");
    let err = mq.notify_callback(|| {}).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    let err = mq.notify_signal(consts::user_signal_min()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    peer.finish();
    mq.notify_callback(|| {}).unwrap();
    mq.cancel_notification().unwrap();
}

/// Python and Rust processes increment one counter in shared memory under
/// one named semaphore: the final count is exact.
#[test]
fn mixed_stress_counter_is_exact() {
    const ROUNDS: u64 = 1_000;
    let Some(python) = python() else { return };
    // The lock ipc-peer declares with #[named_semaphore]; Python opens it too.
    let _unlink = Name::adopt("/ipc-tests.stress-lock", Kind::Semaphore);
    let name = Name::shm("stress");
    let shm = SharedMemory::create_new(&name, 8).unwrap();
    let rounds = ROUNDS.to_string();
    let python_code = "s = p.Semaphore('/ipc-tests.stress-lock', p.O_CREAT, initial_value=1)
m = p.SharedMemory(args[0]); mm = mmap.mmap(m.fd, 8)
for _ in range(int(args[1])):
    with s:
        v = struct.unpack_from('<Q', mm, 0)[0]
        struct.pack_into('<Q', mm, 0, v + 1)";
    let mut peers: Vec<Peer> = (0..2)
        .map(|_| py_spawn(python, python_code, &[&name, &rounds]))
        .collect();
    for _ in 0..2 {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipc-peer"));
        cmd.args(["count", &name, &rounds]);
        peers.push(Peer::spawn(cmd));
    }
    for peer in peers {
        peer.finish();
    }
    let mut buf = [0u8; 8];
    shm.map().unwrap().read_at(0, &mut buf).unwrap();
    assert_eq!(u64::from_le_bytes(buf), 4 * ROUNDS);
}
