//! The `tokio` feature's cost: an uncontended async acquire beside the
//! blocking one, and the wake-up latency across processes — a Rust child
//! process posts a semaphore (or sends a message), and a task of this
//! process wakes — beside a thread of this process blocked in `sem_wait`
//! (or `mq_receive`). The same for a `Channel<u64>`: uncontended send +
//! receive pairs, and wake-ups of a task in `AsyncReceiver::recv` beside a
//! thread in `Receiver::recv`, the value sent by another process or thread.
//! Medians and 99th percentiles; ratios async/blocking.
//!
//! `cargo bench -p named-ipc --features tokio --bench async` (`IPC_BENCH_QUICK=1`
//! for a fifth of the work). The binary runs itself again in a child role
//! (`IPC_BENCH_ROLE`).

// Nanoseconds become f64 for the table.
#![allow(clippy::cast_precision_loss)]

mod raw;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ipc::{
    AsyncMessageQueue, AsyncReceiver, AsyncSemaphore, AsyncSender, Channel, MessageQueue,
    Semaphore, Shared,
};

fn now_ns() -> u64 {
    raw::monotonic_ns() as u64
}

fn unique(tag: &str) -> String {
    format!("/ipc-bench.{}.{tag}", std::process::id())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// ns per acquire + release pair: blocking, and awaited on a runtime.
fn uncontended(n: u32) -> (f64, f64) {
    let sem = Semaphore::options()
        .initial_value(1)
        .create_unique("/ipc-bench.async-unc")
        .unwrap();
    let name = sem.name().to_owned();
    let start = Instant::now();
    for _ in 0..n {
        sem.acquire().unwrap();
        sem.release().unwrap();
    }
    let blocking = start.elapsed().as_nanos() as f64 / f64::from(n);
    let asem = AsyncSemaphore::new(sem);
    let rt = runtime();
    let awaited = rt.block_on(async {
        let start = Instant::now();
        for _ in 0..n {
            asem.acquire().await.unwrap();
            asem.release().unwrap();
        }
        start.elapsed().as_nanos() as f64 / f64::from(n)
    });
    ipc::unlink_semaphore(&name).unwrap();
    (blocking, awaited)
}

/// ns per send + receive pair on a `Channel<u64>` of 64 slots: blocking,
/// and awaited on a runtime (both tries succeed at once: the cost of the
/// futures and their registration guard).
fn channel_uncontended(n: u32) -> (f64, f64) {
    let name = unique("async-chan-unc");
    let channel = Channel::<u64>::create_new(&name, 64).unwrap();
    let (tx, rx) = (channel.sender(), channel.receiver());
    let start = Instant::now();
    for i in 0..n {
        tx.send(u64::from(i)).unwrap();
        std::hint::black_box(rx.recv().unwrap());
    }
    let blocking = start.elapsed().as_nanos() as f64 / f64::from(n);
    let (atx, arx) = (AsyncSender::new(tx), AsyncReceiver::new(rx));
    let awaited = runtime().block_on(async {
        let start = Instant::now();
        for i in 0..n {
            atx.send(u64::from(i)).await.unwrap();
            std::hint::black_box(arx.recv().await.unwrap());
        }
        start.elapsed().as_nanos() as f64 / f64::from(n)
    });
    channel.unlink().unwrap();
    (blocking, awaited)
}

/// The channel's peer (a child process, or a thread): `rounds` times, waits
/// for `ping`, lets the receiver fall asleep, and sends its CLOCK_MONOTONIC
/// stamp on the channel `pong`.
fn channel_peer(ping: &str, pong: &str, rounds: u32) {
    let ping = Semaphore::open(ping).unwrap();
    let tx = Channel::<u64>::open(pong).unwrap().sender();
    for _ in 0..rounds {
        ping.acquire().unwrap();
        std::thread::sleep(Duration::from_micros(100));
        tx.send(now_ns()).unwrap();
    }
}

/// One-way channel wake-up latencies in ns, sorted: the sender is a child
/// process or a thread of this process, the receiver a thread blocked in
/// `Receiver::recv` or a task awaiting `AsyncReceiver::recv`.
fn channel_wake_ups(process: bool, awaited: bool, rounds: u32) -> Vec<u64> {
    let ping = Semaphore::options()
        .create_unique("/ipc-bench.async-chan-ping")
        .unwrap();
    let pong = unique(&format!("async-chan-pong-{process}-{awaited}"));
    let channel = Channel::<u64>::create_new(&pong, 4).unwrap();
    let mut peer = process.then(|| {
        Command::new(std::env::current_exe().unwrap())
            .env("IPC_BENCH_ROLE", "child")
            .args(["chan", ping.name(), &pong, &rounds.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    });
    let thread = (!process).then(|| {
        let (ping, pong) = (ping.name().to_owned(), pong.clone());
        std::thread::spawn(move || channel_peer(&ping, &pong, rounds))
    });
    let elapsed = |t: u64| now_ns().saturating_sub(t);
    let rx = channel.receiver();
    let mut lat = Vec::with_capacity(rounds as usize);
    if awaited {
        let rx = AsyncReceiver::new(rx);
        lat = runtime().block_on(async {
            for _ in 0..rounds {
                ping.release().unwrap();
                lat.push(elapsed(rx.recv().await.unwrap()));
            }
            lat
        });
    } else {
        for _ in 0..rounds {
            ping.release().unwrap();
            lat.push(elapsed(rx.recv().unwrap()));
        }
    }
    if let Some(peer) = &mut peer {
        assert!(peer.wait().unwrap().success());
    }
    if let Some(thread) = thread {
        thread.join().unwrap();
    }
    ping.unlink().unwrap();
    channel.unlink().unwrap();
    lat.sort_unstable();
    lat
}

/// The child: `rounds` times, waits for `ping`, lets the parent fall
/// asleep, stamps CLOCK_MONOTONIC and posts `pong` (or sends the stamp on
/// the queue or the channel).
fn child(kind: &str, ping: &str, pong: &str, rounds: u32) {
    if kind == "chan" {
        channel_peer(ping, pong, rounds);
        return;
    }
    let ping = Semaphore::open(ping).unwrap();
    let stamp = Shared::<AtomicU64>::open(&format!("{pong}.t")).unwrap();
    let (sem, queue) = if kind == "mq" {
        (None, Some(MessageQueue::open(pong).unwrap()))
    } else {
        (Some(Semaphore::open(pong).unwrap()), None)
    };
    for _ in 0..rounds {
        ping.acquire().unwrap();
        std::thread::sleep(Duration::from_micros(100));
        let t = now_ns();
        if let Some(sem) = &sem {
            stamp.store(t, Ordering::SeqCst);
            sem.release().unwrap();
        } else if let Some(queue) = &queue {
            queue.send(&t.to_le_bytes(), 0).unwrap();
        }
    }
}

/// One-way wake-up latencies in ns, sorted: `kind` is "sem" or "mq", and the
/// waiter is a blocked thread or an awaiting task.
fn wake_ups(kind: &str, awaited: bool, rounds: u32) -> Vec<u64> {
    let ping = Semaphore::options()
        .create_unique("/ipc-bench.async-ping")
        .unwrap();
    let pong_name = unique(&format!("async-pong-{kind}-{awaited}"));
    let stamp = Shared::<AtomicU64>::create_new(&format!("{pong_name}.t")).unwrap();
    let queue = (kind == "mq").then(|| {
        MessageQueue::options()
            .create_new(true)
            .max_messages(4)
            .max_message_size(8)
            .open(&pong_name)
            .unwrap()
    });
    let sem = (kind == "sem").then(|| Semaphore::create_new(&pong_name, 0).unwrap());
    let mut peer = Command::new(std::env::current_exe().unwrap())
        .env("IPC_BENCH_ROLE", "child")
        .args([kind, ping.name(), &pong_name, &rounds.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lat = Vec::with_capacity(rounds as usize);
    let elapsed = |t: u64| now_ns().saturating_sub(t);
    if awaited {
        let rt = runtime();
        lat = rt.block_on(async {
            let asem = sem.map(AsyncSemaphore::new);
            let aq = queue.map(|q| AsyncMessageQueue::new(q).unwrap());
            let mut buf = [0u8; 8];
            for _ in 0..rounds {
                ping.release().unwrap();
                if let Some(asem) = &asem {
                    asem.acquire().await.unwrap();
                    lat.push(elapsed(stamp.load(Ordering::SeqCst)));
                } else if let Some(aq) = &aq {
                    aq.receive_into(&mut buf).await.unwrap();
                    lat.push(elapsed(u64::from_le_bytes(buf)));
                }
            }
            lat
        });
    } else {
        let mut buf = [0u8; 8];
        for _ in 0..rounds {
            ping.release().unwrap();
            if let Some(sem) = &sem {
                sem.acquire().unwrap();
                lat.push(elapsed(stamp.load(Ordering::SeqCst)));
            } else if let Some(queue) = &queue {
                queue.receive_into(&mut buf).unwrap();
                lat.push(elapsed(u64::from_le_bytes(buf)));
            }
        }
    }
    assert!(peer.wait().unwrap().success());
    ping.unlink().unwrap();
    stamp.unlink().unwrap();
    if kind == "mq" {
        ipc::unlink_message_queue(&pong_name).unwrap();
    } else {
        ipc::unlink_semaphore(&pong_name).unwrap();
    }
    lat.sort_unstable();
    lat
}

fn percentile(sorted: &[u64], p: usize) -> f64 {
    sorted[(sorted.len() - 1) * p / 100] as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if std::env::var("IPC_BENCH_ROLE").is_ok() {
        let a: Vec<String> = std::env::args().skip(1).collect();
        child(&a[0], &a[1], &a[2], a[3].parse().unwrap());
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test` runs benches only to check they build.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let quick = std::env::var_os("IPC_BENCH_QUICK").is_some();
    let (n, rounds, reps) = if quick {
        (200_000, 400, 3)
    } else {
        (1_000_000, 2_000, 5)
    };

    let (mut blocking, mut awaited) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let (b, a) = uncontended(n);
        blocking.push(b);
        awaited.push(a);
    }
    let (b, a) = (median(blocking), median(awaited));
    println!("uncontended acquire + release, {n} pairs, median of {reps}:");
    println!("  blocking Semaphore::acquire         {b:8.1} ns");
    println!(
        "  AsyncSemaphore::acquire().await     {a:8.1} ns   ratio async/blocking {:.2}",
        a / b
    );
    println!();
    println!(
        "wake-up across processes: a Rust child posts (after 100 us, so the waiter sleeps), \
         this process wakes; {rounds} rounds"
    );
    println!("  {:<34} {:>10} {:>10}", "", "median", "p99");
    for kind in ["sem", "mq"] {
        let blocked = wake_ups(kind, false, rounds);
        let task = wake_ups(kind, true, rounds);
        let (bm, b99) = (percentile(&blocked, 50), percentile(&blocked, 99));
        let (tm, t99) = (percentile(&task, 50), percentile(&task, 99));
        let (what_b, what_t) = if kind == "sem" {
            (
                "thread in Semaphore::acquire",
                "task in AsyncSemaphore::acquire",
            )
        } else {
            (
                "thread in MessageQueue::receive",
                "task in AsyncMessageQueue::receive",
            )
        };
        println!("  {what_b:<34} {:>7.1} us {:>7.1} us", bm / 1e3, b99 / 1e3);
        println!(
            "  {what_t:<34} {:>7.1} us {:>7.1} us   ratio async/blocking {:.2} (p99 {:.2})",
            tm / 1e3,
            t99 / 1e3,
            tm / bm,
            t99 / b99
        );
    }

    let (mut blocking, mut awaited) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let (b, a) = channel_uncontended(n);
        blocking.push(b);
        awaited.push(a);
    }
    let (b, a) = (median(blocking), median(awaited));
    println!();
    println!("Channel<u64>, uncontended send + recv, {n} pairs, median of {reps}:");
    println!("  Sender::send + Receiver::recv                  {b:8.1} ns");
    println!(
        "  AsyncSender::send + AsyncReceiver::recv .await {a:8.1} ns   ratio async/blocking {:.2}",
        a / b
    );
    println!();
    println!(
        "Channel<u64> wake-up: the peer sends its stamp 100 us after the receiver went to \
         sleep; {rounds} rounds"
    );
    println!("  {:<44} {:>10} {:>10}", "", "median", "p99");
    for process in [true, false] {
        let blocked = channel_wake_ups(process, false, rounds);
        let task = channel_wake_ups(process, true, rounds);
        let (bm, b99) = (percentile(&blocked, 50), percentile(&blocked, 99));
        let (tm, t99) = (percentile(&task, 50), percentile(&task, 99));
        let from = if process { "process" } else { "thread" };
        let (what_b, what_t) = (
            format!("thread in Receiver::recv, from a {from}"),
            format!("task in AsyncReceiver::recv, from a {from}"),
        );
        println!("  {what_b:<44} {:>7.1} us {:>7.1} us", bm / 1e3, b99 / 1e3);
        println!(
            "  {what_t:<44} {:>7.1} us {:>7.1} us   ratio async/blocking {:.2} (p99 {:.2})",
            tm / 1e3,
            t99 / 1e3,
            tm / bm,
            t99 / b99
        );
    }
}
