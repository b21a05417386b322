//! The channel's ring from many threads of one process: the test `.ci/run`
//! builds with ThreadSanitizer (`-Zsanitizer=thread` on nightly), and that
//! `cargo test` runs as a plain test.
//!
//! Senders and receivers hammer small channels (capacity 1, 2, 5 and 8: laps,
//! full and empty, sleepers and their waiter bits, a capacity that is no power
//! of two), with every kind of call (`send`, `try_send`, `send_timeout`,
//! `send_with`, and the same for receiving). The checks: every value arrives
//! exactly once, each sender's values in order at every receiver, and the
//! channel is empty at the end. Under ThreadSanitizer, any access to a slot's
//! value that the slot's state word does not order is a reported data race.
//!
//! As in `tsan_probe.rs`: raw `pthread_create` threads and no libtest, since
//! without an instrumented standard library `std::thread` and libtest give
//! false reports. For the same reason the threads only borrow the handles
//! (an `Arc` dropped by a thread would end in an uninstrumented fence), and
//! `main` makes one round trip and one wait first, so that the channel's
//! lazily initialised statics (the pid, the CPU count) are set before any
//! thread starts.
// Raw threads need `pthread_create`, which is `unsafe`.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::time::Duration;

use ipc::{Channel, ErrorKind, Receiver, Sender};

/// A value: its sender, its sequence number, and a check word, so that a
/// torn copy shows.
type Value = [u64; 3];

fn value(sender: u64, seq: u64) -> Value {
    [
        sender,
        seq,
        sender.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seq,
    ]
}

const STOP: u64 = u64::MAX;

struct SendJob {
    tx: Sender<Value>,
    id: u64,
    count: u64,
}

struct RecvJob {
    rx: Receiver<Value>,
    got: Vec<(u64, u64)>,
}

extern "C" fn sender(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `run` passes a pointer to a SendJob that it neither touches
    // nor drops until it has joined this thread.
    let job = unsafe { &*arg.cast::<SendJob>() };
    for seq in 0..job.count {
        let v = value(job.id, seq);
        // Every way of sending, in turn.
        match seq % 4 {
            0 => job.tx.send(v).unwrap(),
            1 => loop {
                match job.tx.try_send(v) {
                    Ok(()) => break,
                    Err(e) if e.kind() == ErrorKind::Busy => std::thread::yield_now(),
                    Err(e) => panic!("{e}"),
                }
            },
            2 => loop {
                match job.tx.send_timeout(v, Duration::from_micros(50)) {
                    Ok(()) => break,
                    Err(e) if e.kind() == ErrorKind::Busy => {}
                    Err(e) => panic!("{e}"),
                }
            },
            _ => job.tx.send_with(|slot| *slot = v).unwrap(),
        }
    }
    std::ptr::null_mut()
}

extern "C" fn receiver(arg: *mut c_void) -> *mut c_void {
    // SAFETY: as in `sender`; this thread is the only one using `got`.
    let job = unsafe { &mut *arg.cast::<RecvJob>() };
    let mut turn = 0u32;
    loop {
        turn = turn.wrapping_add(1);
        let v = match turn % 4 {
            0 => job.rx.recv().unwrap(),
            1 => match job.rx.try_recv() {
                Ok(v) => v,
                Err(e) if e.kind() == ErrorKind::Busy => continue,
                Err(e) => panic!("{e}"),
            },
            2 => match job.rx.recv_timeout(Duration::from_micros(50)) {
                Ok(v) => v,
                Err(e) if e.kind() == ErrorKind::Busy => continue,
                Err(e) => panic!("{e}"),
            },
            _ => job.rx.recv_with(|v| *v).unwrap(),
        };
        assert_eq!(v, value(v[0], v[1]), "a torn value");
        if v[0] == STOP {
            return std::ptr::null_mut();
        }
        job.got.push((v[0], v[1]));
    }
}

/// Starts `f` on a raw thread with `arg`.
fn start<A>(f: extern "C" fn(*mut c_void) -> *mut c_void, arg: &mut A) -> libc::pthread_t {
    let mut t = 0 as libc::pthread_t;
    // SAFETY: `t` is writable; `f` has the signature pthread_create expects;
    // `arg` outlives the thread, which `join` ends before its owner drops it.
    let rc = unsafe {
        libc::pthread_create(
            &raw mut t,
            std::ptr::null(),
            f,
            std::ptr::from_mut(arg).cast(),
        )
    };
    assert_eq!(rc, 0, "pthread_create");
    t
}

fn join(t: libc::pthread_t) {
    // SAFETY: `t` is a joinable thread made by `start`, joined once.
    let rc = unsafe { libc::pthread_join(t, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "pthread_join");
}

/// `senders` threads send `each` values into a channel of `capacity`,
/// `receivers` threads receive them; then the checks.
fn run(capacity: usize, senders: u64, receivers: usize, each: u64) {
    let name = format!("/ipc-test.{}.tsan-channel-{capacity}", std::process::id());
    let channel = Channel::<Value>::create_new(&name, capacity).unwrap();
    // The statics, before any thread: see the module docs.
    channel.sender().send(value(0, 0)).unwrap();
    assert_eq!(channel.receiver().recv().unwrap(), value(0, 0));
    // A wait, which polls (the CPU count) before it sleeps.
    let idle = channel.receiver().recv_timeout(Duration::from_millis(1));
    assert_eq!(idle.unwrap_err().kind(), ErrorKind::Busy);

    let mut send_jobs: Vec<SendJob> = (0..senders)
        .map(|id| SendJob {
            tx: channel.sender(),
            id,
            count: each,
        })
        .collect();
    let mut recv_jobs: Vec<RecvJob> = (0..receivers)
        .map(|_| RecvJob {
            rx: channel.receiver(),
            got: Vec::new(),
        })
        .collect();
    let receiving: Vec<_> = recv_jobs.iter_mut().map(|j| start(receiver, j)).collect();
    let sending: Vec<_> = send_jobs.iter_mut().map(|j| start(sender, j)).collect();
    sending.into_iter().for_each(join);
    let tx = channel.sender();
    for _ in 0..receivers {
        tx.send(value(STOP, 0)).unwrap();
    }
    receiving.into_iter().for_each(join);

    let mut seen = vec![0u8; usize::try_from(senders * each).unwrap()];
    for job in &recv_jobs {
        let mut last = vec![None; usize::try_from(senders).unwrap()];
        for &(s, seq) in &job.got {
            let prev: &mut Option<u64> = &mut last[usize::try_from(s).unwrap()];
            assert!(
                prev.is_none_or(|p| p < seq),
                "sender {s}: {seq} after {prev:?}"
            );
            *prev = Some(seq);
            seen[usize::try_from(s * each + seq).unwrap()] += 1;
        }
    }
    let wrong = seen.iter().filter(|&&n| n != 1).count();
    assert_eq!(wrong, 0, "{wrong} values lost or duplicated");
    assert!(channel.is_empty(), "len {} at the end", channel.len());
    drop(send_jobs);
    drop(recv_jobs);
    channel.unlink().unwrap();
    println!(
        "  capacity {capacity}: {senders} senders × {each}, {receivers} receivers: every value once, in order"
    );
}

fn main() {
    let result = std::panic::catch_unwind(|| {
        run(8, 4, 3, 40_000);
        run(5, 3, 3, 20_000);
        run(2, 2, 2, 20_000);
        run(1, 2, 1, 10_000);
    });
    if result.is_err() {
        std::process::exit(1);
    }
    println!("test tsan_channel ... ok");
}
