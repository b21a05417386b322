//! Message queues on real kernel objects. Each posix_ipc test in
//! tests/test_message_queues.py (and test_module.py's queue tests) has a
//! counterpart here, named in its doc comment; the signal notifications and
//! the registration held by another process run in child processes, in
//! tests/processes.rs. Queues respect this machine's limits (msg_max 10,
//! msgsize_max 8192).

// poll(2) proves the descriptor is pollable; the libc call needs `unsafe`.
#![allow(unsafe_code)]

mod common;

use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use common::{Kind, Name};
use ipc::consts::QUEUE_PRIORITY_MAX;
use ipc::{ErrorKind, MessageQueue};

/// posix_ipc's setUp: a new queue of 10 messages of 10 bytes.
fn fixture(tag: &str) -> (Name, MessageQueue) {
    let name = Name::mq(tag);
    let mq = small(&name, 10, 10);
    (name, mq)
}

fn small(name: &str, messages: usize, size: usize) -> MessageQueue {
    MessageQueue::options()
        .create_new(true)
        .max_messages(messages)
        .max_message_size(size)
        .open(name)
        .unwrap()
}

const LONG: Duration = Duration::from_secs(30);

/// test_no_flags.
#[test]
fn open_existing() {
    let (name, _mq) = fixture("open");
    let again = MessageQueue::open(&name).unwrap();
    assert_eq!(again.name(), &*name);
    assert_eq!((again.max_messages(), again.max_message_size()), (10, 10));
}

/// Opening a missing queue is NotFound.
#[test]
fn open_missing_is_not_found() {
    let name = Name::mq("missing");
    let err = MessageQueue::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.to_string(), format!("mq_open({:?}): not found", &*name));
}

/// test_o_creat_existing: the existing queue's real limits win over the options.
#[test]
fn create_opens_existing_with_its_real_limits() {
    let name = Name::mq("creat-existing");
    let _mq = small(&name, 5, 16);
    let again = MessageQueue::options()
        .create(true)
        .max_messages(1)
        .max_message_size(1)
        .open(&name)
        .unwrap();
    assert_eq!((again.max_messages(), again.max_message_size()), (5, 16));
}

/// test_o_creat_new: a new queue gets the system defaults.
#[test]
fn create_makes_a_new_one_with_defaults() {
    let name = Name::mq("creat-new");
    let mq = MessageQueue::create(&name).unwrap();
    assert_eq!(mq.max_messages(), ipc::consts::queue_messages_max_default());
    assert_eq!(
        mq.max_message_size(),
        ipc::consts::queue_message_size_max_default()
    );
}

/// test_o_crex.
#[test]
fn create_new_on_existing_is_already_exists() {
    let (name, _mq) = fixture("crex");
    let err = MessageQueue::create_new(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
}

/// test_randomly_generated_name.
#[test]
fn create_unique_names() {
    let mq = MessageQueue::options()
        .max_message_size(16)
        .create_unique("/ipc-test.uniq-mq")
        .unwrap();
    let _name = Name::adopt(mq.name(), Kind::MessageQueue);
    assert!(mq.name().starts_with("/ipc-test.uniq-mq."));
}

/// test_name_as_bytes: non-ASCII names round-trip instead.
#[test]
fn non_ascii_name() {
    let name = Name::adopt(
        &format!("{}-ünï", common::unique("utf8")),
        Kind::MessageQueue,
    );
    let mq = small(&name, 1, 1);
    assert_eq!(MessageQueue::open(&name).unwrap().name(), mq.name());
}

/// test_max_messages: a full queue refuses a try.
#[test]
fn full_queue_is_busy() {
    let name = Name::mq("max-messages");
    let mq = small(&name, 1, 10);
    mq.send(b"foo", 0).unwrap();
    let err = mq.try_send(b"bar", 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert!(err.to_string().contains("full"), "{err}");
    let err = mq.send_timeout(b"bar", 0, Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
}

/// test_max_message_size: an oversized message is InvalidInput naming the limit.
#[test]
fn oversized_message_names_the_limit() {
    let (_name, mq) = fixture("max-size");
    let err = mq.send(b"12345678901", 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string()
            .contains("message of 11 bytes exceeds max_message_size (10)"),
        "{err}"
    );
    assert_eq!(mq.current_messages().unwrap(), 0);
}

/// test_read_flag_new_queue and test_read_flag_existing_queue.
#[test]
fn write_only_handles_refuse_receive() {
    let name = Name::mq("write-only");
    let mq = MessageQueue::options()
        .create_new(true)
        .read(false)
        .max_messages(2)
        .max_message_size(10)
        .open(&name)
        .unwrap();
    mq.send(b"foo", 0).unwrap();
    let err = mq.receive().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("without read access"), "{err}");
    let existing = MessageQueue::options().read(false).open(&name).unwrap();
    for err in [
        existing.receive().unwrap_err(),
        existing.try_receive().unwrap_err(),
        existing.receive_timeout(LONG).unwrap_err(),
        existing.receive_into(&mut [0; 10]).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    }
}

/// test_write_flag_new_queue and test_write_flag_existing_queue; the
/// permission check comes before the size and priority checks.
#[test]
fn read_only_handles_refuse_send() {
    let name = Name::mq("read-only");
    let mq = MessageQueue::options()
        .create_new(true)
        .write(false)
        .max_messages(2)
        .max_message_size(10)
        .open(&name)
        .unwrap();
    let err = mq.send(b"foo", 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("without write access"), "{err}");
    let existing = MessageQueue::options().write(false).open(&name).unwrap();
    assert_eq!(
        existing.send(&[0; 100], 1 << 20).unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        existing.try_send(b"x", 0).unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    let err = MessageQueue::options()
        .read(false)
        .write(false)
        .open(&name)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// test_kwargs: every option at once.
#[test]
fn all_options() {
    let name = Name::mq("kwargs");
    let mq = MessageQueue::options()
        .create(true)
        .create_new(true)
        .mode(0o600)
        .max_messages(1)
        .max_message_size(256)
        .read(true)
        .write(true)
        .blocking(true)
        .open(&name)
        .unwrap();
    assert_eq!((mq.max_messages(), mq.max_message_size()), (1, 256));
    assert_eq!(mq.mode(), 0o600);
    assert!(mq.is_blocking().unwrap());
}

/// Limits the kernel refuses are InvalidInput naming the system limits;
/// zero limits and bad modes are refused before any system call.
#[test]
fn bad_limits() {
    let name = Name::mq("limits");
    let msg_max: usize = std::fs::read_to_string("/proc/sys/fs/mqueue/msg_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    for (messages, size) in [(0, 10), (10, 0), (msg_max + 100_000, 10), (1, 1 << 40)] {
        let err = MessageQueue::options()
            .create(true)
            .max_messages(messages)
            .max_message_size(size)
            .open(&name)
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidInput,
            "{messages}/{size}: {err}"
        );
    }
    let err = MessageQueue::options()
        .create(true)
        .max_messages(msg_max + 100_000)
        .open(&name)
        .unwrap_err();
    assert!(err.to_string().contains("msg_max"), "{err}");
    let err = MessageQueue::options()
        .create(true)
        .mode(0o1000)
        .open(&name)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        MessageQueue::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    for bad in ["", "/", "q", "/a/b", "/.."] {
        let err = MessageQueue::create(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidName, "{bad:?}");
    }
}

/// test_send, test_send_priority_default, test_receive.
#[test]
fn send_and_receive() {
    let (_name, mq) = fixture("send");
    mq.send(b"foo", 0).unwrap();
    assert_eq!(mq.receive().unwrap(), (b"foo".to_vec(), 0));
    mq.send(b"foo", 3).unwrap();
    assert_eq!(mq.receive().unwrap(), (b"foo".to_vec(), 3));
    mq.send(b"", 0).unwrap();
    assert_eq!(mq.receive().unwrap(), (Vec::new(), 0));
}

/// test_send_timeout_keyword/_positional, test_send_timeout_zero_success,
/// test_send_timeout_zero_fails, test_send_nonzero_timeout: a full queue
/// times out after, never before, the timeout.
#[test]
fn send_timeouts() {
    let name = Name::mq("send-timeout");
    let mq = small(&name, 2, 10);
    mq.send_timeout(b"a", 0, Duration::ZERO).unwrap();
    mq.send_timeout(b"b", 0, LONG).unwrap();
    let err = mq.send_timeout(b"c", 0, Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert_eq!(err.raw_os_error(), Some(libc::EAGAIN));
    let timeout = Duration::from_millis(300);
    let start = Instant::now();
    let err = mq.send_timeout(b"c", 0, timeout).unwrap_err();
    let waited = start.elapsed();
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert_eq!(err.raw_os_error(), Some(libc::ETIMEDOUT));
    assert!(waited >= timeout, "gave up after {waited:?}");
    assert_eq!(mq.current_messages().unwrap(), 2);
}

/// test_send_fifo_default: FIFO within one priority.
#[test]
fn fifo_within_a_priority() {
    let (_name, mq) = fixture("fifo");
    for c in b"abcdefg" {
        mq.send(&[*c], 0).unwrap();
    }
    for c in b"abcdefg" {
        assert_eq!(mq.receive().unwrap(), (vec![*c], 0));
    }
}

/// test_send_priority, _keyword, _positional, test_send_kwargs: highest
/// priority first, FIFO within one (posix_ipc observed b3,c3,e2,a1,d0).
#[test]
fn highest_priority_first() {
    let (_name, mq) = fixture("priority");
    for (msg, p) in [(b"a", 1), (b"b", 3), (b"c", 3), (b"d", 0), (b"e", 2)] {
        mq.send(msg, p).unwrap();
    }
    let order: Vec<_> = (0..5).map(|_| mq.receive().unwrap()).collect();
    let want: Vec<_> = [(b"b", 3), (b"c", 3), (b"e", 2), (b"a", 1), (b"d", 0)]
        .iter()
        .map(|(m, p)| (m.to_vec(), *p))
        .collect();
    assert_eq!(order, want);
    mq.send(b"foo", 42).unwrap();
    assert_eq!(mq.receive().unwrap(), (b"foo".to_vec(), 42));
}

/// test_constant_queue_priority_max: every priority round-trips; one more is
/// InvalidInput naming the limit.
#[test]
fn every_priority_round_trips() {
    let (_name, mq) = fixture("all-priorities");
    let mut buf = [0u8; 10];
    for p in 0..=QUEUE_PRIORITY_MAX {
        mq.send(b"", p).unwrap();
        assert_eq!(mq.receive_into(&mut buf).unwrap(), (0, p));
    }
    let err = mq.send(b"", QUEUE_PRIORITY_MAX + 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains(&format!(
            "exceeds QUEUE_PRIORITY_MAX ({QUEUE_PRIORITY_MAX})"
        )),
        "{err}"
    );
    assert_eq!(
        mq.send(b"", u32::MAX).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

/// test_receive_timeout_positional, test_receive_nonzero_timeout.
#[test]
fn receive_timeouts() {
    let (_name, mq) = fixture("receive-timeout");
    let err = mq.receive_timeout(Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert!(err.to_string().contains("empty"), "{err}");
    assert_eq!(mq.try_receive().unwrap_err().kind(), ErrorKind::Busy);
    assert_eq!(
        mq.try_receive_into(&mut [0; 10]).unwrap_err().kind(),
        ErrorKind::Busy
    );
    let timeout = Duration::from_millis(300);
    let start = Instant::now();
    let err = mq.receive_timeout(timeout).unwrap_err();
    let waited = start.elapsed();
    assert_eq!(err.raw_os_error(), Some(libc::ETIMEDOUT));
    assert!(waited >= timeout, "gave up after {waited:?}");
    let start = Instant::now();
    let err = mq.receive_into_timeout(&mut [0; 10], timeout).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert!(start.elapsed() >= timeout);
}

/// A timed receive returns as soon as a message comes from another thread.
#[test]
fn timed_receive_is_woken_by_send() {
    let (name, mq) = fixture("wake");
    let other = MessageQueue::open(&name).unwrap();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        other.send(b"wake", 7).unwrap();
    });
    assert_eq!(mq.receive_timeout(LONG).unwrap(), (b"wake".to_vec(), 7));
    t.join().unwrap();
}

/// test_receive_max_length: a message of exactly max_message_size; and
/// receive_into with buffers of the limit, longer, and shorter.
#[test]
fn receive_max_length_and_buffers() {
    let (_name, mq) = fixture("max-len");
    mq.send(b"abcdefghij", 0).unwrap();
    assert_eq!(mq.receive().unwrap(), (b"abcdefghij".to_vec(), 0));
    mq.send(b"abcdefghij", 1).unwrap();
    let mut buf = [0u8; 10];
    assert_eq!(mq.receive_into(&mut buf).unwrap(), (10, 1));
    assert_eq!(&buf, b"abcdefghij");
    mq.send(b"xy", 2).unwrap();
    let mut big = [0u8; 64];
    assert_eq!(mq.receive_into(&mut big).unwrap(), (2, 2));
    mq.send(b"z", 0).unwrap();
    let err = mq.receive_into(&mut [0u8; 9]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string()
            .contains("buffer of 9 bytes is shorter than max_message_size (10)"),
        "{err}"
    );
    assert_eq!(mq.current_messages().unwrap(), 1);
}

/// test_request_notification_threaded_one_shot: the closure runs once, on
/// another thread.
#[test]
fn callback_runs_once_on_another_thread() {
    let (_name, mq) = fixture("notify-once");
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    mq.notify_callback(move || tx.send(std::thread::current().id()).unwrap())
        .unwrap();
    mq.send(b"1", 0).unwrap();
    let thread = rx.recv_timeout(LONG).unwrap();
    assert_ne!(thread, std::thread::current().id());
    mq.receive().unwrap();
    mq.send(b"2", 0).unwrap();
    drop(tx2);
    // One-shot: nothing more arrives, and the sender side is gone.
    assert!(matches!(
        rx.recv_timeout(LONG),
        Err(mpsc::RecvTimeoutError::Disconnected)
    ));
}

/// test_request_notification_threaded_rearm: the callback re-arms from
/// inside itself; 10 cycles each fire.
#[test]
fn callback_can_rearm_itself() {
    fn arm(mq: &Arc<MessageQueue>, tx: mpsc::Sender<usize>, n: usize) {
        let again = Arc::clone(mq);
        mq.notify_callback(move || {
            arm(&again, tx.clone(), n + 1);
            // Let go of the queue before reporting, so that the test sees
            // only the Arc held by the next registration.
            drop(again);
            tx.send(n).unwrap();
        })
        .unwrap();
    }
    let (_name, mq) = fixture("rearm");
    let mq = Arc::new(mq);
    let (tx, rx) = mpsc::channel();
    arm(&mq, tx, 0);
    for i in 0..10 {
        mq.send(b"x", 0).unwrap();
        assert_eq!(rx.recv_timeout(LONG).unwrap(), i);
        mq.receive().unwrap();
    }
    mq.cancel_notification().unwrap();
    // The cancelled closure held an Arc of the queue: it was dropped.
    assert_eq!(Arc::strong_count(&mq), 1);
}

/// test_request_notification_cancel_default and _cancel_multiple; a closure
/// that never fires is dropped on cancel, on replacement, and on close.
#[test]
fn unfired_closures_are_dropped_not_leaked() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let fired = Arc::new(AtomicUsize::new(0));
    let closure = || {
        let c = Counted(Arc::clone(&drops));
        let fired = Arc::clone(&fired);
        move || {
            let _c = &c;
            fired.fetch_add(1, Ordering::SeqCst);
        }
    };
    let (name, mq) = fixture("notify-drop");
    mq.notify_callback(closure()).unwrap();
    mq.cancel_notification().unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    for _ in 0..1000 {
        mq.cancel_notification().unwrap();
    }
    mq.send(b"x", 0).unwrap();
    mq.receive().unwrap();

    mq.notify_callback(closure()).unwrap();
    mq.notify_callback(closure()).unwrap(); // replaces the first
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    drop(mq); // closing drops the second
    assert_eq!(drops.load(Ordering::SeqCst), 3);

    let mq = MessageQueue::open(&name).unwrap();
    mq.notify_callback(closure()).unwrap();
    mq.close().unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 4);

    // The registration ended with the handle: a send fires nothing.
    let mq = MessageQueue::open(&name).unwrap();
    mq.send(b"y", 0).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(fired.load(Ordering::SeqCst), 0);
}

/// test_close_and_unlink and test_unlink_message_queue.
#[test]
fn unlink_then_close() {
    let (name, mq) = fixture("unlink");
    mq.send(b"kept", 0).unwrap();
    mq.unlink().unwrap();
    assert_eq!(mq.receive().unwrap().0, b"kept");
    mq.close().unwrap();
    assert_eq!(
        MessageQueue::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let (name, _mq) = fixture("unlink-fn");
    ipc::unlink_message_queue(&name).unwrap();
    assert_eq!(
        ipc::unlink_message_queue(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

/// test_property_name, _mqd, test_fileno, _max_messages, _max_message_size.
#[test]
fn properties() {
    let (name, mq) = fixture("props");
    assert_eq!(mq.name(), &*name);
    assert_eq!(mq.to_string(), &*name);
    assert!(mq.as_raw_fd() >= 0);
    assert_eq!(mq.as_fd().as_raw_fd(), mq.as_raw_fd());
    assert_eq!((mq.max_messages(), mq.max_message_size()), (10, 10));
    let debug = format!("{mq:?}");
    assert!(
        debug.contains(&*name) && debug.contains("max_messages: 10"),
        "{debug}"
    );
}

/// test_property_current_messages.
#[test]
fn current_messages_counts() {
    let (_name, mq) = fixture("current");
    assert_eq!(mq.current_messages().unwrap(), 0);
    mq.send(b"", 0).unwrap();
    assert_eq!(mq.current_messages().unwrap(), 1);
    mq.send(b"", 0).unwrap();
    mq.send(b"", 0).unwrap();
    mq.send(b"", 0).unwrap();
    assert_eq!(mq.current_messages().unwrap(), 4);
    for left in (0..4).rev() {
        mq.receive().unwrap();
        assert_eq!(mq.current_messages().unwrap(), left);
    }
}

/// test_block_flag_default_value_and_writability.
#[test]
fn blocking_flag() {
    let (name, mq) = fixture("block");
    assert!(mq.is_blocking().unwrap());
    mq.set_blocking(false).unwrap();
    assert!(!mq.is_blocking().unwrap());
    // The flag belongs to the handle, not the queue.
    assert!(MessageQueue::open(&name).unwrap().is_blocking().unwrap());
    mq.set_blocking(true).unwrap();
    assert!(mq.is_blocking().unwrap());
}

/// test_block_flag_false: a non-blocking handle fails at once, whatever the
/// timeout (the 30 s timeouts below would hang the test if it waited).
#[test]
fn non_blocking_handle_never_waits() {
    let name = Name::mq("nonblock");
    let mq = MessageQueue::options()
        .create_new(true)
        .max_messages(3)
        .max_message_size(10)
        .blocking(false)
        .open(&name)
        .unwrap();
    assert!(!mq.is_blocking().unwrap());
    let start = Instant::now();
    let err = mq.receive_timeout(LONG).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert_eq!(mq.receive().unwrap_err().kind(), ErrorKind::Busy);
    for _ in 0..3 {
        mq.send(b" ", 0).unwrap();
    }
    assert_eq!(
        mq.send_timeout(b" ", 0, LONG).unwrap_err().kind(),
        ErrorKind::Busy
    );
    assert_eq!(mq.send(b" ", 0).unwrap_err().kind(), ErrorKind::Busy);
    assert!(start.elapsed() < LONG / 3);
}

/// The descriptor is pollable: readable once a message is waiting.
#[test]
fn descriptor_is_pollable() {
    let (_name, mq) = fixture("poll");
    let poll = |events| {
        let mut pfd = libc::pollfd {
            fd: mq.as_raw_fd(),
            events,
            revents: 0,
        };
        // SAFETY: `pfd` is one valid pollfd; a zero timeout does not block.
        let n = unsafe { libc::poll(&raw mut pfd, 1, 0) };
        assert!(n >= 0);
        pfd.revents
    };
    assert_eq!(poll(libc::POLLIN) & libc::POLLIN, 0);
    assert_ne!(poll(libc::POLLOUT) & libc::POLLOUT, 0);
    mq.send(b"x", 0).unwrap();
    assert_ne!(poll(libc::POLLIN) & libc::POLLIN, 0);
}

/// The mode of a created queue is exact, whatever the umask.
#[test]
fn mode_is_exact() {
    use std::os::unix::fs::PermissionsExt;
    for mode in [0o644, 0o600, 0o620] {
        let name = Name::mq("mode");
        let mq = MessageQueue::options()
            .create_new(true)
            .mode(mode)
            .max_message_size(8)
            .open(&name)
            .unwrap();
        let fd = mq.as_fd().try_clone_to_owned().unwrap();
        let file = std::fs::File::from(fd);
        assert_eq!(file.metadata().unwrap().permissions().mode() & 0o777, mode);
    }
}

/// Errors convert to io::Error with the matching kind.
#[test]
fn errors_convert_to_io() {
    let (_name, mq) = fixture("io");
    let io: std::io::Error = mq.try_receive().unwrap_err().into();
    assert_eq!(io.kind(), std::io::ErrorKind::WouldBlock);
    let io: std::io::Error = mq.send(&[0; 11], 0).unwrap_err().into();
    assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
}

/// A closure whose `Drop` calls back into the queue's notification methods
/// (here `cancel_notification`, through an `Arc` of the queue) is dropped
/// after the queue's notification lock is released: cancelling, replacing
/// and a refused registration all return instead of deadlocking. The work
/// runs on a thread; the watchdog only detects a hang, it measures nothing.
#[test]
fn closure_drop_may_call_back_into_the_queue() {
    struct CancelOnDrop(Arc<MessageQueue>, mpsc::Sender<()>);
    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            let _ = self.0.cancel_notification();
            let _ = self.1.send(());
        }
    }
    let name = Name::mq("notify-reenter");
    let mq = Arc::new(small(&name, 2, 8));
    let (drops_tx, drops) = mpsc::channel();
    let (done_tx, done) = mpsc::channel();
    let worker = {
        let mq = Arc::clone(&mq);
        std::thread::spawn(move || {
            let closure = || {
                let guard = CancelOnDrop(Arc::clone(&mq), drops_tx.clone());
                move || drop(guard)
            };
            mq.notify_callback(closure()).unwrap();
            mq.cancel_notification().unwrap(); // drops the first
            mq.notify_callback(closure()).unwrap();
            mq.notify_callback(closure()).unwrap(); // replaces (drops) the second
            mq.notify_signal(ipc::consts::user_signal_min()).unwrap(); // drops the third
            mq.cancel_notification().unwrap();
            done_tx.send(()).unwrap();
        })
    };
    assert!(
        done.recv_timeout(LONG).is_ok(),
        "deadlock: a closure was dropped under the notification lock"
    );
    worker.join().unwrap();
    assert_eq!(drops.try_iter().count(), 3);
}

/// The kernel removes a process's registration when that process closes
/// *any* descriptor of the queue. Closing another handle, or a descriptor
/// duplicated through `AsFd`, used to cancel the callback silently (it
/// never fired and stayed pending); `ipc` registers it again.
#[test]
fn closing_another_handle_keeps_the_registration() {
    let (name, mq) = fixture("notify-other-handle");
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    mq.notify_callback(move || tx.send("first").unwrap())
        .unwrap();
    drop(MessageQueue::open(&name).unwrap());
    drop(mq.as_fd().try_clone_to_owned().unwrap());
    MessageQueue::open(&name).unwrap().close().unwrap();
    mq.send(b"x", 0).unwrap();
    assert_eq!(rx.recv_timeout(LONG).unwrap(), "first");
    mq.receive().unwrap();

    // A message sent through another handle fires it too, once.
    mq.notify_callback(move || tx2.send("second").unwrap())
        .unwrap();
    let other = MessageQueue::open(&name).unwrap();
    other.send(b"y", 0).unwrap();
    drop(other);
    assert_eq!(rx.recv_timeout(LONG).unwrap(), "second");
}

/// A plain open ignores the limits, as documented: `max_messages(0)` and
/// `max_message_size(0)` are not errors there.
#[test]
fn limits_are_ignored_on_plain_open() {
    let (name, _mq) = fixture("plain-limits");
    let again = MessageQueue::options()
        .max_messages(0)
        .max_message_size(0)
        .open(&name)
        .unwrap();
    assert_eq!((again.max_messages(), again.max_message_size()), (10, 10));
    let err = MessageQueue::options()
        .create(true)
        .max_messages(0)
        .open(&name)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

/// A plain open reads no /proc file (it read the two limit defaults each
/// time): counted with this thread's read system calls.
#[test]
#[cfg(target_os = "linux")]
fn plain_open_reads_no_proc_file() {
    fn reads() -> u64 {
        let io = std::fs::read_to_string("/proc/thread-self/io").unwrap();
        io.lines()
            .find_map(|l| l.strip_prefix("syscr: "))
            .unwrap()
            .parse()
            .unwrap()
    }
    let (name, _mq) = fixture("plain-proc");
    drop(MessageQueue::open(&name).unwrap());
    let before = reads();
    for _ in 0..100 {
        drop(MessageQueue::open(&name).unwrap());
    }
    let after = reads();
    // Reading /proc/thread-self/io itself costs a few reads.
    assert!(
        after - before < 20,
        "{} read calls for 100 opens",
        after - before
    );
}
