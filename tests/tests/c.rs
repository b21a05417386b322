//! Interoperability with a C program that calls sem_open, shm_open and
//! mq_open itself (`tests/c/peer.c`, compiled by the test with `cc`), both
//! ways, for the three kinds of object.

use std::process::Command;
use std::time::Duration;

use ipc::{ErrorKind, MessageQueue, Semaphore, SharedMemory};
use ipc_tests::{Name, Peer, c, c_peer};

fn peer() -> Option<&'static std::path::Path> {
    c_peer(env!("CARGO_TARGET_TMPDIR"))
}

/// C creates, Rust opens, and the reverse; a C waiter is woken by Rust and
/// a Rust waiter by C; unlink and exclusive creation are seen both ways.
#[test]
fn semaphores_with_c() {
    let Some(peer) = peer() else { return };
    let name = Name::sem("c-sem");
    assert_eq!(
        c(peer, &["sem-create", &name, "4"]),
        (true, "created".into())
    );
    let sem = Semaphore::open(&name).unwrap();
    assert_eq!(sem.value().unwrap(), 4);
    sem.acquire().unwrap();
    assert_eq!(c(peer, &["sem-value", &name]).1, "3");
    assert_eq!(
        Semaphore::create_new(&name, 0).unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    assert_eq!(c(peer, &["sem-unlink", &name]).1, "unlinked");
    assert_eq!(
        Semaphore::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );

    let sem = Semaphore::create_new(&name, 0).unwrap();
    let (ok, out) = c(peer, &["sem-create", &name, "0"]);
    assert!(!ok && out.starts_with("EEXIST"), "{out}");
    let mut cmd = Command::new(peer);
    cmd.args(["sem-wait", &name, "30"]);
    let mut waiter = Peer::spawn(cmd);
    assert_eq!(waiter.line(), "waiting");
    std::thread::sleep(Duration::from_millis(200));
    assert!(waiter.running(), "the C waiter did not block");
    sem.release().unwrap();
    assert_eq!(waiter.line(), "acquired");
    waiter.finish();

    let poster = std::thread::spawn({
        let name = name.to_string();
        move || {
            std::thread::sleep(Duration::from_millis(200));
            c(peer, &["sem-post", &name])
        }
    });
    sem.acquire_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(poster.join().unwrap().1, "posted");
    sem.unlink().unwrap();
    assert!(c(peer, &["sem-value", &name]).1.starts_with("ENOENT"));
}

/// Shared memory: sizes and bytes agree both ways; unlink and exclusive
/// creation too.
#[test]
fn shared_memory_with_c() {
    let Some(peer) = peer() else { return };
    let name = Name::shm("c-shm");
    assert_eq!(
        c(peer, &["shm-create", &name, "5000", "from c"]).1,
        "created"
    );
    let shm = SharedMemory::open(&name).unwrap();
    assert_eq!(shm.size().unwrap(), 5000);
    let map = shm.map().unwrap();
    let mut buf = [0u8; 6];
    map.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"from c");
    map.write_at(0, b"rust!!").unwrap();
    assert_eq!(c(peer, &["shm-read", &name, "6"]).1, "5000 rust!!");
    assert_eq!(
        SharedMemory::create_new(&name, 1).unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    shm.unlink().unwrap();
    assert!(c(peer, &["shm-read", &name, "1"]).1.starts_with("ENOENT"));

    let shm = SharedMemory::create_new(&name, 777).unwrap();
    shm.map().unwrap().write_at(0, b"made in rust").unwrap();
    assert_eq!(c(peer, &["shm-read", &name, "12"]).1, "777 made in rust");
    let (ok, out) = c(peer, &["shm-create", &name, "1", "x"]);
    assert!(!ok && out.starts_with("EEXIST"), "{out}");
    assert_eq!(c(peer, &["shm-unlink", &name]).1, "unlinked");
    assert_eq!(
        SharedMemory::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

/// Queues: attributes, priorities and wake-ups agree both ways.
#[test]
fn queues_with_c() {
    let Some(peer) = peer() else { return };
    let name = Name::mq("c-mq");
    assert_eq!(c(peer, &["mq-create", &name, "3", "40"]).1, "created");
    let mq = MessageQueue::open(&name).unwrap();
    assert_eq!((mq.max_messages(), mq.max_message_size()), (3, 40));
    assert_eq!(c(peer, &["mq-send", &name, "2", "two"]).1, "sent");
    assert_eq!(c(peer, &["mq-send", &name, "9", "nine"]).1, "sent");
    assert_eq!(mq.receive().unwrap(), (b"nine".to_vec(), 9));
    mq.send(b"from rust", 31).unwrap();
    assert_eq!(c(peer, &["mq-attr", &name]).1, "3 40 2");
    assert_eq!(
        c(peer, &["mq-receive", &name, "1"]).1,
        "waiting\n31 from rust"
    );
    assert_eq!(c(peer, &["mq-receive", &name, "1"]).1, "waiting\n2 two");

    let mut cmd = Command::new(peer);
    cmd.args(["mq-receive", &name, "30"]);
    let mut receiver = Peer::spawn(cmd);
    assert_eq!(receiver.line(), "waiting");
    std::thread::sleep(Duration::from_millis(200));
    assert!(receiver.running(), "the C receiver did not block");
    mq.send(b"wake", 4).unwrap();
    assert_eq!(receiver.line(), "4 wake");
    receiver.finish();

    assert_eq!(
        MessageQueue::create_new(&name).unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    assert_eq!(c(peer, &["mq-unlink", &name]).1, "unlinked");
    assert_eq!(
        MessageQueue::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let _mq = MessageQueue::options()
        .create_new(true)
        .max_messages(2)
        .max_message_size(8)
        .open(&name)
        .unwrap();
    assert_eq!(c(peer, &["mq-attr", &name]).1, "2 8 0");
    let (ok, out) = c(peer, &["mq-create", &name, "2", "8"]);
    assert!(!ok && out.starts_with("EEXIST"), "{out}");
}
