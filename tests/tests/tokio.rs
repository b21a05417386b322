//! The `tokio` feature on a multi-threaded runtime: semaphore units contended
//! by 1 000 tasks in two processes, cancellation storms that must lose no
//! message and leak no unit, FIFO hand-over, tasks woken by a Python
//! posix_ipc process, and `Mutex::with_lock`.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ipc::{AsyncMessageQueue, AsyncSemaphore, MessageQueue, Mutex, Semaphore, Shared, ShmSafe};
use ipc_tests::{Kind, Name, XorShift, panicking_waker, py_spawn, python, storm_timer};

/// What the contending processes share: the count that the semaphore
/// protects (updated by a load, an `.await` and a store, so that two holders
/// at once would lose updates), how many are inside right now, and a start
/// line.
#[derive(ShmSafe)]
#[repr(C)]
struct Counters {
    count: AtomicU64,
    inside: AtomicU64,
    overlaps: AtomicU64,
    ready: AtomicU64,
}

const TASKS_PER_PROCESS: usize = 500;
const ROUNDS: u64 = 4;
const CHILD_ENV: &str = "IPC_TOKIO_TEST_CHILD";

/// One process's half of the contention test: `TASKS_PER_PROCESS` tasks,
/// each taking the semaphore `ROUNDS` times.
fn contend(sem_name: &str, shm_name: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sem = AsyncSemaphore::new(Semaphore::open(sem_name).unwrap());
        let counters = Arc::new(Shared::<Counters>::open(shm_name).unwrap());
        counters.ready.fetch_add(1, Ordering::SeqCst);
        let started = Instant::now();
        while counters.ready.load(Ordering::SeqCst) < 2 {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "peer never started"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let tasks: Vec<_> = (0..TASKS_PER_PROCESS)
            .map(|_| {
                let sem = sem.clone();
                let counters = Arc::clone(&counters);
                tokio::spawn(async move {
                    for _ in 0..ROUNDS {
                        let guard = sem.lock().await.unwrap();
                        if counters.inside.fetch_add(1, Ordering::SeqCst) != 0 {
                            counters.overlaps.fetch_add(1, Ordering::SeqCst);
                        }
                        let seen = counters.count.load(Ordering::SeqCst);
                        // The guard is Send: held across an await, the task
                        // may resume on another worker.
                        tokio::task::yield_now().await;
                        counters.count.store(seen + 1, Ordering::SeqCst);
                        counters.inside.fetch_sub(1, Ordering::SeqCst);
                        drop(guard);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
}

/// The child role of `semaphore_1000_tasks_in_two_processes`: a no-op
/// unless started by it.
#[test]
#[ignore = "a child process's role: the tests that need it start it (with --ignored)"]
fn child_role() {
    let Ok(names) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (sem, shm) = names.split_once(' ').unwrap();
    contend(sem, shm);
}

/// 1 000 tasks, 500 in this process and 500 in a child, take a semaphore of
/// value 1 four times each: the protected count is exactly 4 000 (no two
/// holders at once, in any process), no overlap was seen, and the value is
/// 1 again (no unit leaked).
#[test]
fn semaphore_1000_tasks_in_two_processes() {
    let sem_name = Name::sem("async-contend");
    let shm_name = Name::shm("async-contend");
    let sem = Semaphore::create_new(&sem_name, 1).unwrap();
    let counters = Shared::<Counters>::create_new(&shm_name).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_role",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{} {}", &*sem_name, &*shm_name))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    contend(&sem_name, &shm_name);
    let status = child.wait().unwrap();
    assert!(status.success(), "child failed: {status}");
    let total = 2 * TASKS_PER_PROCESS as u64 * ROUNDS;
    assert_eq!(counters.overlaps.load(Ordering::SeqCst), 0);
    assert_eq!(counters.count.load(Ordering::SeqCst), total);
    assert_eq!(sem.value().unwrap(), 1);
    eprintln!(
        "{total} acquisitions by 1000 tasks in 2 processes: {:?}",
        started.elapsed()
    );
}

/// A sender and a receiver that cancel their futures at random (a
/// `select!` against a timer) move 3 000 numbered messages through a queue
/// of 4, each side pausing now and then so that the other waits on a full
/// or empty queue: each message arrives exactly once and in order, so no
/// cancelled receive took a message and no cancelled send sent one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_queue_cancellation_storm_loses_nothing() {
    const N: u32 = 3_000;
    let name = Name::mq("async-storm");
    let rx = MessageQueue::options()
        .create_new(true)
        .max_messages(4)
        .max_message_size(8)
        .open(&name)
        .unwrap();
    let tx = AsyncMessageQueue::new(MessageQueue::open(&name).unwrap()).unwrap();
    let rx = AsyncMessageQueue::new(rx).unwrap();
    let sender = tokio::spawn(async move {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut cancelled = 0u32;
        for i in 0..N {
            if i % 16 == 0 {
                tokio::time::sleep(Duration::from_millis(3)).await; // the receiver waits
            }
            let message = i.to_le_bytes();
            loop {
                tokio::select! {
                    sent = tx.send(&message, 0) => { sent.unwrap(); break; }
                    () = tokio::time::sleep(storm_timer(&mut rng)) => cancelled += 1,
                }
            }
        }
        (cancelled, tx)
    });
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut cancelled = 0u32;
    let mut next = 0u32;
    let mut buf = [0u8; 8];
    while next < N {
        if next % 25 == 12 {
            tokio::time::sleep(Duration::from_millis(3)).await; // the sender waits
        }
        let timer = storm_timer(&mut rng);
        // Half the receives allocate, half fill a buffer.
        let got = if next % 2 == 0 {
            tokio::select! {
                got = rx.receive() => Some(got.unwrap().0),
                () = tokio::time::sleep(timer) => None,
            }
        } else {
            tokio::select! {
                got = rx.receive_into(&mut buf) => Some(buf[..got.unwrap().0].to_vec()),
                () = tokio::time::sleep(timer) => None,
            }
        };
        match got {
            Some(bytes) => {
                let i = u32::from_le_bytes(bytes.try_into().unwrap());
                assert_eq!(i, next, "a message was lost or duplicated");
                next += 1;
            }
            None => cancelled += 1,
        }
    }
    let (sends_cancelled, tx) = sender.await.unwrap();
    assert_eq!(
        rx.get_ref().current_messages().unwrap(),
        0,
        "a message too many"
    );
    assert!(
        cancelled > 50 && sends_cancelled > 50,
        "the storm cancelled too little: {cancelled} receives, {sends_cancelled} sends"
    );
    eprintln!("{N} messages; cancelled {cancelled} receives and {sends_cancelled} sends");
    drop(tx);
}

/// 200 tasks take a semaphore of value 3, each 40 times, every wait raced
/// against a storm timer: at most 3 hold it at once, and once the
/// storm is over the value is 3 again — no cancelled future kept a unit,
/// including units the helper thread took for a waiter that had gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_cancellation_storm_leaks_no_unit() {
    let name = Name::sem("async-sem-storm");
    let sem = AsyncSemaphore::new(Semaphore::create_new(&name, 3).unwrap());
    let inside = Arc::new(AtomicUsize::new(0));
    let acquired = Arc::new(AtomicUsize::new(0));
    let cancelled = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..200u64)
        .map(|t| {
            let (sem, inside) = (sem.clone(), Arc::clone(&inside));
            let (acquired, cancelled) = (Arc::clone(&acquired), Arc::clone(&cancelled));
            tokio::spawn(async move {
                let mut rng = XorShift(t + 1);
                for _ in 0..40 {
                    let timer = storm_timer(&mut rng);
                    tokio::select! {
                        guard = sem.lock() => {
                            let guard = guard.unwrap();
                            assert!(inside.fetch_add(1, Ordering::SeqCst) < 3, "more holders than units");
                            tokio::task::yield_now().await;
                            inside.fetch_sub(1, Ordering::SeqCst);
                            acquired.fetch_add(1, Ordering::SeqCst);
                            drop(guard);
                        }
                        () = tokio::time::sleep(timer) => { cancelled.fetch_add(1, Ordering::SeqCst); }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let (acquired, cancelled) = (
        acquired.load(Ordering::SeqCst),
        cancelled.load(Ordering::SeqCst),
    );
    assert!(
        acquired > 0 && cancelled > 0,
        "acquired {acquired}, cancelled {cancelled}"
    );
    let check = Semaphore::open(&name).unwrap();
    drop(sem); // the helper thread ends within its 20 ms poll
    // A unit the helper took for a waiter that has gone is released at once;
    // give the helper its poll interval to finish what it was doing.
    let started = Instant::now();
    while check.value().unwrap() != 3 && started.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(check.value().unwrap(), 3, "a unit leaked");
    eprintln!("{acquired} acquisitions, {cancelled} cancelled waits");
}

/// Waiters queued one after another get the units in that order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_waiters_are_served_in_fifo_order() {
    let name = Name::sem("async-fifo");
    let sem = AsyncSemaphore::new(Semaphore::create_new(&name, 0).unwrap());
    let (order_tx, mut order_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (sem, order_tx) = (sem.clone(), order_tx.clone());
        tasks.push(tokio::spawn(async move {
            sem.acquire().await.unwrap(); // keeps the unit
            order_tx.send(i).unwrap();
        }));
        // Let task i join the queue before task i + 1 is spawned.
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    let mut order = Vec::new();
    for _ in 0..16 {
        sem.release().unwrap();
        order.push(order_rx.recv().await.unwrap());
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(order, (0..16).collect::<Vec<_>>());
    assert_eq!(sem.semaphore().value().unwrap(), 0);
}

/// Two receiver tasks wait on a queue — as many as the runtime has worker
/// threads — while a ticker keeps running (the waits block no thread); a
/// Python posix_ipc process then sends two messages, and both tasks wake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_wakes_for_python_sender() {
    let Some(python) = python() else { return };
    let name = Name::mq("async-py");
    let queue = MessageQueue::options()
        .create_new(true)
        .max_messages(4)
        .max_message_size(64)
        .open(&name)
        .unwrap();
    let queue = Arc::new(AsyncMessageQueue::new(queue).unwrap());
    let receivers: Vec<_> = (0..2)
        .map(|_| {
            let queue = Arc::clone(&queue);
            tokio::spawn(async move { queue.receive().await.unwrap() })
        })
        .collect();
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
    let peer = py_spawn(
        python,
        "q = p.MessageQueue(args[0])\ntime.sleep(0.3)\nq.send(b'from python', priority=5)\nq.send(b'again', priority=1)\nprint('sent')\nsys.stdin.read()",
        &[&name],
    );
    let mut got = Vec::new();
    for receiver in receivers {
        got.push(
            tokio::time::timeout(Duration::from_secs(30), receiver)
                .await
                .expect("the receivers woke")
                .unwrap(),
        );
    }
    got.sort();
    assert_eq!(
        got,
        vec![(b"again".to_vec(), 1), (b"from python".to_vec(), 5)]
    );
    assert!(
        ticks.load(Ordering::SeqCst) >= 10,
        "the runtime was blocked while the receivers waited"
    );
    ticker.abort();
    tokio::task::spawn_blocking(move || peer.finish())
        .await
        .unwrap();
}

/// A task waiting for a semaphore of value 0 wakes when a Python process
/// releases it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_task_wakes_for_python_release() {
    let Some(python) = python() else { return };
    let name = Name::sem("async-py-sem");
    let sem = AsyncSemaphore::new(Semaphore::create_new(&name, 0).unwrap());
    let peer = py_spawn(
        python,
        "s = p.Semaphore(args[0])\ntime.sleep(0.2)\ns.release()\nprint('released')\nsys.stdin.read()",
        &[&name],
    );
    let guard = tokio::time::timeout(Duration::from_secs(30), sem.lock())
        .await
        .expect("woken by the Python release")
        .unwrap();
    assert_eq!(sem.semaphore().value().unwrap(), 0);
    drop(guard);
    assert_eq!(sem.semaphore().value().unwrap(), 1);
    tokio::task::spawn_blocking(move || peer.finish())
        .await
        .unwrap();
}

/// 100 tasks add 1 ten times each through `with_lock`: exactly 1 000. A
/// `with_lock` cancelled while another thread holds the lock never runs its
/// closure, and leaves the lock free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_with_lock_counts_exactly_and_cancels_cleanly() {
    let name = Name::adopt(&ipc_tests::unique("async-mutex"), Kind::SharedMemory);
    let mutex = Arc::new(Mutex::<u64>::create_new(&name).unwrap());
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let mutex = Arc::clone(&mutex);
            tokio::spawn(async move {
                for _ in 0..10 {
                    mutex.with_lock(|n| **n += 1).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(mutex.with_lock(|n| **n).await.unwrap(), 1_000);

    // Another thread holds the lock for 300 ms; a with_lock times out.
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn({
        let mutex = Arc::clone(&mutex);
        move || {
            let guard = mutex.lock().unwrap();
            held_tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(300));
            drop(guard);
        }
    });
    held_rx.recv().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let late = tokio::time::timeout(Duration::from_millis(50), {
        let ran = Arc::clone(&ran);
        mutex.with_lock(move |n| {
            ran.store(true, Ordering::SeqCst);
            **n += 1_000;
        })
    })
    .await;
    assert!(late.is_err(), "the lock was held: the call must time out");
    tokio::task::spawn_blocking(move || holder.join().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !ran.load(Ordering::SeqCst),
        "a cancelled with_lock ran its closure"
    );
    let free = mutex.try_lock().map(|g| *g);
    assert_eq!(
        free.unwrap(),
        1_000,
        "the lock was left held, or the data changed"
    );
}

/// A panic in the closure reaches the awaiting task, and the lock is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_with_lock_panic_unlocks() {
    let name = Name::adopt(&ipc_tests::unique("async-mutex-panic"), Kind::SharedMemory);
    let mutex = Arc::new(Mutex::<u64>::create_new(&name).unwrap());
    let task = tokio::spawn({
        let mutex = Arc::clone(&mutex);
        async move { mutex.with_lock(|_| panic!("inside")).await }
    });
    assert!(task.await.unwrap_err().is_panic());
    assert!(mutex.try_lock().is_ok());
}

/// Outside a runtime the constructors report an error instead of panicking.
#[test]
fn outside_a_runtime_is_an_error() {
    let name = Name::mq("async-no-rt");
    let queue = MessageQueue::options()
        .create_new(true)
        .max_messages(1)
        .max_message_size(8)
        .open(&name)
        .unwrap();
    let err = AsyncMessageQueue::new(queue).unwrap_err();
    assert_eq!(err.kind(), ipc::ErrorKind::Other);
    assert!(err.to_string().contains("no tokio runtime"), "{err}");
}

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: std::future::Future>(future: std::pin::Pin<&mut F>) -> std::task::Poll<F::Output> {
    future.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
}

/// Waits up to 2 s for the semaphore's value to become `value`.
fn wait_for_value(sem: &Semaphore, value: u32) {
    let started = Instant::now();
    while sem.value().unwrap() != value && started.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(sem.value().unwrap(), value);
}

/// The two races of a cancelled acquire, made deterministic: a waiter that
/// leaves before the helper thread takes a unit, and one that leaves after
/// the helper handed it a unit it never collected. Both units come back.
#[test]
fn semaphore_dropped_waiter_gives_its_unit_back() {
    let name = Name::sem("async-drop-waiter");
    let sem = AsyncSemaphore::new(Semaphore::create_new(&name, 0).unwrap());
    let check = Semaphore::open(&name).unwrap();

    // Left before: queued, dropped, then a unit arrives.
    let mut waiter = Box::pin(sem.lock());
    assert!(poll_once(waiter.as_mut()).is_pending());
    drop(waiter);
    check.release().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    wait_for_value(&check, 1);

    // Left after: the helper takes the unit and sends it to the queued
    // waiter, which is never polled again: the unit sits in its channel.
    check.acquire().unwrap();
    let mut waiter = Box::pin(sem.lock());
    assert!(poll_once(waiter.as_mut()).is_pending());
    check.release().unwrap();
    wait_for_value(&check, 0); // taken by the helper, handed over
    drop(waiter); // the guard in the channel releases it
    assert_eq!(check.value().unwrap(), 1);
}

/// A task whose waker panics (a foreign executor's bug) when the helper
/// thread hands it a unit: the unit is not lost (its future's drop gives it
/// back), and a task waiting afterwards is still served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_panicking_waker_does_not_stop_the_helper() {
    let name = Name::sem("async-panic-waker");
    let sem = AsyncSemaphore::new(Semaphore::create_new(&name, 0).unwrap());
    let check = Semaphore::open(&name).unwrap();
    {
        let waker = panicking_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let mut waiter = std::pin::pin!(sem.lock());
        assert!(waiter.as_mut().poll(&mut cx).is_pending());
        check.release().unwrap();
        // The helper takes the unit and hands it over; the wake panics.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for_value(&check, 1);
    check.acquire().unwrap();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        check.release().unwrap();
    });
    // Not `timeout`: it polls the future once more when the time is up.
    tokio::select! {
        biased;
        () = tokio::time::sleep(Duration::from_secs(10)) => {
            panic!("a task waiting after the panic was never served")
        }
        got = sem.acquire() => got.unwrap(),
    }
    releaser.join().unwrap();
    sem.release().unwrap();
}
