//! `AsyncSender` / `AsyncReceiver` (feature `tokio`) on a multi-threaded
//! runtime: many tasks with exact counts and per-sender order, a
//! cancellation storm that must lose and duplicate nothing, tasks woken by
//! another process on both sides, and an idle waiting receiver that uses no
//! CPU to speak of.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ipc::{AsyncReceiver, AsyncSender, Channel};
use ipc_tests::{Name, Peer, XorShift, panicking_waker, storm_timer};

/// The child roles: `"<role> <channel name>"`.
const CHILD_ENV: &str = "IPC_TOKIO_CHANNEL_CHILD";

/// Checks what the receivers got: every `(sender, seq)` of `senders`
/// senders × `each` values exactly once, and each sender's values in
/// increasing order at every receiver.
fn check_exactly_once_in_order(got: &[Vec<[u64; 2]>], senders: u64, each: u64) {
    let mut seen = vec![0u32; (senders * each) as usize];
    for values in got {
        let mut last = vec![None; senders as usize];
        for &[sender, seq] in values {
            let prev = &mut last[sender as usize];
            assert!(
                prev.is_none_or(|p| p < seq),
                "sender {sender}: {seq} after {prev:?}"
            );
            *prev = Some(seq);
            seen[(sender * each + seq) as usize] += 1;
        }
    }
    let lost = seen.iter().filter(|&&n| n == 0).count();
    let twice = seen.iter().filter(|&&n| n > 1).count();
    assert_eq!((lost, twice), (0, 0), "values lost, values duplicated");
}

/// 4 sending tasks (on two `AsyncSender` handles) and 3 receiving tasks (on
/// two `AsyncReceiver` handles) plus a blocking receiver thread move 4 × 5 000
/// values through 8 slots: every value exactly once, in order per sender.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_exact_counts_in_order() {
    const SENDERS: u64 = 4;
    const EACH: u64 = 5_000;
    const RECEIVERS: usize = 4;
    let name = Name::shm("achan-many");
    let channel = Channel::<[u64; 2]>::create_new(&name, 8).unwrap();
    let rx = [
        AsyncReceiver::new(channel.receiver()),
        AsyncReceiver::new(channel.receiver()),
    ];
    let tx = [
        AsyncSender::new(channel.sender()),
        AsyncSender::new(channel.sender()),
    ];
    let receivers: Vec<_> = (0..RECEIVERS - 1)
        .map(|r| {
            let rx = rx[r % 2].clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let value = rx.recv().await.unwrap();
                    if value[0] == u64::MAX {
                        return got;
                    }
                    got.push(value);
                }
            })
        })
        .collect();
    let blocking = std::thread::spawn({
        let rx = channel.receiver();
        move || {
            let mut got = Vec::new();
            loop {
                let value = rx.recv().unwrap();
                if value[0] == u64::MAX {
                    return got;
                }
                got.push(value);
            }
        }
    });
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let tx = tx[s as usize % 2].clone();
            tokio::spawn(async move {
                for seq in 0..EACH {
                    tx.send([s, seq]).await.unwrap();
                }
            })
        })
        .collect();
    for s in senders {
        s.await.unwrap();
    }
    for _ in 0..RECEIVERS {
        tx[0].send([u64::MAX, 0]).await.unwrap();
    }
    let mut got = Vec::new();
    for r in receivers {
        got.push(r.await.unwrap());
    }
    got.push(
        tokio::task::spawn_blocking(move || blocking.join().unwrap())
            .await
            .unwrap(),
    );
    let counts: Vec<usize> = got.iter().map(Vec::len).collect();
    check_exactly_once_in_order(&got, SENDERS, EACH);
    assert!(channel.is_empty());
    eprintln!("{} values; per receiver {counts:?}", SENDERS * EACH);
}

/// 2 sending and 2 receiving tasks race every send and receive against a
/// storm timer (`select!`), thousands of times, through 4 slots, each side
/// pausing now and then so that the other waits on a full or empty
/// channel. At the end every value was received exactly once, in order per
/// sender: no dropped receive took a value, no dropped send sent one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_storm_loses_and_duplicates_nothing() {
    const SENDERS: u64 = 2;
    const EACH: u64 = 3_000;
    let name = Name::shm("achan-storm");
    let channel = Channel::<[u64; 2]>::create_new(&name, 4).unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let cancelled_recvs = Arc::new(AtomicUsize::new(0));
    let cancelled_sends = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let tx = AsyncSender::new(channel.sender());
            let cancelled = Arc::clone(&cancelled_sends);
            tokio::spawn(async move {
                let mut rng = XorShift(0x9e37_79b9_7f4a_7c15 + s);
                for seq in 0..EACH {
                    if seq % 16 == 0 {
                        tokio::time::sleep(Duration::from_millis(2)).await; // receivers wait
                    }
                    loop {
                        tokio::select! {
                            sent = tx.send([s, seq]) => { sent.unwrap(); break; }
                            () = tokio::time::sleep(storm_timer(&mut rng)) => {
                                cancelled.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
            })
        })
        .collect();
    let rx = AsyncReceiver::new(channel.receiver());
    let receivers: Vec<_> = (0..2u64)
        .map(|r| {
            // One handle shared by both tasks: they share its helper thread.
            let rx = rx.clone();
            let (received, cancelled) = (Arc::clone(&received), Arc::clone(&cancelled_recvs));
            tokio::spawn(async move {
                let mut rng = XorShift(0x2545_f491_4f6c_dd1d + r);
                let mut got = Vec::new();
                while received.load(Ordering::SeqCst) < SENDERS * EACH {
                    if got.len() % 25 == 12 {
                        tokio::time::sleep(Duration::from_millis(2)).await; // senders wait
                    }
                    tokio::select! {
                        value = rx.recv() => {
                            got.push(value.unwrap());
                            received.fetch_add(1, Ordering::SeqCst);
                        }
                        () = tokio::time::sleep(storm_timer(&mut rng)) => {
                            cancelled.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                got
            })
        })
        .collect();
    for s in senders {
        s.await.unwrap();
    }
    let mut got = Vec::new();
    for r in receivers {
        got.push(r.await.unwrap());
    }
    check_exactly_once_in_order(&got, SENDERS, EACH);
    assert_eq!(
        rx.try_recv().unwrap_err().kind(),
        ipc::ErrorKind::Busy,
        "a value too many"
    );
    let (recvs, sends) = (
        cancelled_recvs.load(Ordering::Relaxed),
        cancelled_sends.load(Ordering::Relaxed),
    );
    assert!(
        recvs > 50 && sends > 50,
        "the storm cancelled too little: {recvs} receives, {sends} sends"
    );
    eprintln!(
        "{} values; cancelled {recvs} receives and {sends} sends",
        SENDERS * EACH
    );
}

/// The child roles, a no-op unless started by a test below.
#[test]
#[ignore = "a child process's role: the tests that need it start it (with --ignored)"]
fn child_role() {
    let Ok(args) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (role, name) = args.split_once(' ').unwrap();
    match role {
        "peer" => peer(name),
        "idle" => idle(name),
        other => panic!("unknown role {other}"),
    }
}

const FROM_CHILD: u64 = 50;
const TO_CHILD: u64 = 24;

/// The child of `tasks_woken_by_another_process`: sends `FROM_CHILD` values,
/// each after a pause (the parent's task is asleep when it arrives); then
/// waits until the parent has filled the channel, lets its sending task
/// fall asleep, and receives `TO_CHILD` values in order.
fn peer(name: &str) {
    let channel = Channel::<u64>::open(name).unwrap();
    let tx = channel.sender();
    for i in 0..FROM_CHILD {
        std::thread::sleep(Duration::from_millis(2));
        tx.send(i).unwrap();
    }
    let started = Instant::now();
    while channel.len() < channel.capacity() {
        assert!(started.elapsed() < Duration::from_secs(30), "never filled");
        std::thread::sleep(Duration::from_millis(1));
    }
    let rx = channel.receiver();
    for i in 0..TO_CHILD {
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(rx.recv().unwrap(), 1_000 + i);
    }
}

/// Starts this test binary again in the child role `role` on `name`.
fn spawn_child(role: &str, name: &str) -> Peer {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "child_role",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, format!("{role} {name}"));
    Peer::spawn(cmd)
}

/// A child process sends while a task of this process waits in
/// `AsyncReceiver::recv`, then receives while a task waits in
/// `AsyncSender::send` on the full channel: both tasks are woken by the
/// other process, get every value in order, and a ticker keeps running
/// throughout (no runtime thread is blocked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_woken_by_another_process() {
    let name = Name::shm("achan-proc");
    let channel = Channel::<u64>::create_new(&name, 4).unwrap();
    let rx = AsyncReceiver::new(channel.receiver());
    let tx = AsyncSender::new(channel.sender());
    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = tokio::spawn({
        let ticks = Arc::clone(&ticks);
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                ticks.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let child = spawn_child("peer", &name);
    let started = Instant::now();
    let work = async {
        for i in 0..FROM_CHILD {
            assert_eq!(rx.recv().await.unwrap(), i);
        }
        for i in 0..TO_CHILD {
            tx.send(1_000 + i).await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .expect("the tasks were woken by the child");
    let elapsed = started.elapsed();
    tokio::task::spawn_blocking(move || child.finish())
        .await
        .unwrap();
    ticker.abort();
    // The child paused 2 ms before each of its 74 operations.
    let ticks = ticks.load(Ordering::SeqCst);
    assert!(
        ticks * 10 >= elapsed.as_millis() as u64 / 4,
        "the runtime was blocked: {ticks} ticks of 10 ms in {elapsed:?}"
    );
    assert!(channel.is_empty());
}

/// CPU time in ns that the thread `tid` of this process has used
/// (`/proc/self/task/<tid>/schedstat`, first field).
fn thread_cpu_ns(tid: &str) -> u64 {
    let stat =
        std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).unwrap_or_default();
    stat.split_whitespace()
        .next()
        .and_then(|ns| ns.parse().ok())
        .unwrap_or(0)
}

/// The threads of this process called `comm`, by tid.
fn threads_named(comm: &str) -> Vec<String> {
    let mut tids = Vec::new();
    for entry in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let tid = entry.file_name().to_string_lossy().into_owned();
        let name = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if name.trim() == comm {
            tids.push(tid);
        }
    }
    tids
}

/// CPU time in ns of every thread of this process.
fn process_cpu_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .map(|e| thread_cpu_ns(&e.file_name().to_string_lossy()))
        .sum()
}

/// The child of `idle_waiting_receiver_burns_no_cpu`, alone in its process:
/// a task waits on an empty channel for 500 ms while the CPU time of its
/// helper thread and of the whole process is measured; then a value wakes
/// it, and once the handle is dropped the helper thread exits.
fn idle(name: &str) {
    const WINDOW: Duration = Duration::from_millis(500);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let channel = Channel::<u64>::open(name).unwrap();
    let rx = AsyncReceiver::new(channel.receiver());
    let waiting = runtime.spawn({
        let rx = rx.clone();
        async move { rx.recv().await }
    });
    let started = Instant::now();
    let helper = loop {
        if let [tid] = &threads_named("ipc-chan-recv")[..] {
            break tid.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no helper thread"
        );
        std::thread::sleep(Duration::from_millis(1));
    };
    std::thread::sleep(Duration::from_millis(100)); // settled: asleep
    let (helper_before, process_before) = (thread_cpu_ns(&helper), process_cpu_ns());
    std::thread::sleep(WINDOW);
    let helper_ns = thread_cpu_ns(&helper).saturating_sub(helper_before);
    let process_ns = process_cpu_ns().saturating_sub(process_before);
    eprintln!(
        "idle waiting receiver over {WINDOW:?}: helper thread {:.1} us CPU, whole process {:.1} us",
        Duration::from_nanos(helper_ns).as_secs_f64() * 1e6,
        Duration::from_nanos(process_ns).as_secs_f64() * 1e6
    );
    // Generous bounds: a poll loop would use the whole window (500 ms).
    assert!(
        helper_ns < 5_000_000,
        "the helper used {helper_ns} ns of CPU"
    );
    assert!(
        process_ns < 25_000_000,
        "the process used {process_ns} ns of CPU"
    );
    assert!(!waiting.is_finished());
    channel.sender().send(42).unwrap();
    let got = runtime.block_on(waiting).unwrap().unwrap();
    assert_eq!(got, 42);
    drop(rx);
    let started = Instant::now();
    while !threads_named("ipc-chan-recv").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the helper thread outlived its handle"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// An idle waiting `AsyncReceiver` costs a sleeping thread, not CPU: over
/// 500 ms its helper thread uses under 5 ms of CPU time (in practice
/// microseconds: it wakes every 50 ms), and the helper exits once its handle
/// is gone. Measured in a child process, alone, so no other test's threads
/// count.
#[test]
fn idle_waiting_receiver_burns_no_cpu() {
    let name = Name::shm("achan-idle");
    let channel = Channel::<u64>::create_new(&name, 4).unwrap();
    spawn_child("idle", &name).finish();
    assert!(channel.is_empty());
}

/// A waker that panics when woken (a foreign executor's bug): the helper
/// thread that wakes it survives, and keeps waking the handle's tasks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_waker_does_not_stop_the_helper() {
    let name = Name::shm("achan-panicwaker");
    let channel = Channel::<u64>::create_new(&name, 2).unwrap();
    let rx = AsyncReceiver::new(channel.receiver());
    let tx = channel.sender();
    {
        let waker = panicking_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let mut recv = std::pin::pin!(rx.recv());
        assert!(recv.as_mut().poll(&mut cx).is_pending());
        tx.send(1).unwrap();
        // The helper sees the value and wakes the panicking waker.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(rx.recv().await.unwrap(), 1);
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        tx.send(2).unwrap();
    });
    // Not `timeout`: it polls the future once more when the time is up,
    // which would find the value without any wake-up.
    let got = tokio::select! {
        biased;
        () = tokio::time::sleep(Duration::from_secs(10)) => {
            panic!("a task waiting after the panic was never woken")
        }
        got = rx.recv() => got,
    };
    assert_eq!(got.unwrap(), 2);
    sender.join().unwrap();
}
