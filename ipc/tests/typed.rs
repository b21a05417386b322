//! Typed shared state and the crash-safe mutex across real processes: this
//! binary re-runs itself in a child role (`IPC_TEST_ROLE`), and the parent
//! kills children with SIGKILL where a test needs a death.

mod common;

use std::process::{Child, Command, ExitCode};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Name, kill_and_reap, spawn};
use ipc::{ErrorKind, Mutex, Semaphore, Shared, SharedMemory, ShmSafe};

/// The counter of the 4 × 100 000 test, declared once as the DSL does it.
#[ipc::named_shared_memory(name = "/ipc-test.typed.counter", mode = 0o600)]
#[derive(ShmSafe)]
#[repr(C)]
struct Counter {
    hits: AtomicU64,
    processes: AtomicU32,
}

const INCREMENTS: u64 = 100_000;

/// What the race-to-create test initialises.
#[derive(ShmSafe)]
#[repr(C)]
struct Config {
    magic: u64,
    opened: AtomicU32,
}

const MAGIC: u64 = 0x00c0_ffee_d00d_f00d;

/// Version 1 of a struct, and three changes of it: a field added, renamed,
/// retyped. Each is a separate definition, as in a separately built program.
#[derive(ShmSafe)]
#[repr(C)]
struct V1 {
    id: u64,
    count: u32,
}

mod added {
    #[derive(ipc::ShmSafe)]
    #[repr(C)]
    pub(crate) struct V1 {
        pub(crate) id: u64,
        pub(crate) count: u32,
        pub(crate) extra: u32,
    }
}

mod renamed {
    #[derive(ipc::ShmSafe)]
    #[repr(C)]
    pub(crate) struct V1 {
        pub(crate) id: u64,
        pub(crate) counter: u32,
    }
}

mod retyped {
    #[derive(ipc::ShmSafe)]
    #[repr(C)]
    pub(crate) struct V1 {
        pub(crate) id: u64,
        pub(crate) count: i32,
    }
}

/// Data updated in two steps under the lock: a section that dies between
/// them leaves `started != completed`, which the next holder repairs.
#[derive(ShmSafe)]
#[repr(C)]
struct Ledger {
    started: u64,
    completed: u64,
    repairs: u64,
    per_worker: [u64; WORKERS],
}

const WORKERS: usize = 8;
const SECTIONS: u64 = 10_000;

fn main() -> ExitCode {
    if let Ok(role) = std::env::var("IPC_TEST_ROLE") {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let code = match role.as_str() {
            "count" => child_count(),
            "race" => child_race(&args[0], &args[1]),
            "die-in-init" => child_die_in_init(&args[0], &args[1]),
            "die-holding" => child_die_holding(&args[0], &args[1], &args[2]),
            "hold" => child_hold(&args[0], &args[1], &args[2]),
            "ledger" => child_ledger(&args[0], &args[1], &args[2]),
            "namespaced" => child_namespaced(),
            other => panic!("unknown role {other}"),
        };
        return ExitCode::from(code);
    }
    BEFORE.get_or_init(common::namespace);
    let tests: [(&str, fn()); 17] = [
        ("four_processes_count_exactly", four_processes_count_exactly),
        (
            "eight_processes_race_to_create",
            eight_processes_race_to_create,
        ),
        ("creator_killed_mid_init", creator_killed_mid_init),
        (
            "changed_struct_is_invalid_data",
            changed_struct_is_invalid_data,
        ),
        (
            "foreign_objects_are_invalid_data",
            foreign_objects_are_invalid_data,
        ),
        (
            "panicking_init_leaves_the_name_usable",
            panicking_init_leaves_the_name_usable,
        ),
        ("killed_holder_is_recovered", killed_holder_is_recovered),
        (
            "exited_and_aborted_holders_are_recovered",
            exited_and_aborted_holders_are_recovered,
        ),
        (
            "lock_held_elsewhere_try_and_timeout",
            lock_held_elsewhere_try_and_timeout,
        ),
        (
            "sigkill_storm_keeps_the_ledger_consistent",
            sigkill_storm_keeps_the_ledger_consistent,
        ),
        (
            "expiry_and_would_block_agree_across_kinds",
            expiry_and_would_block_agree_across_kinds,
        ),
        (
            "ipc_namespace_prefixes_declared_names",
            ipc_namespace_prefixes_declared_names,
        ),
        (
            "forgotten_guard_keeps_its_mapping",
            forgotten_guard_keeps_its_mapping,
        ),
        ("plain_open_never_initialises", plain_open_never_initialises),
        ("failed_create_leaves_no_name", failed_create_leaves_no_name),
        (
            "page_plus_alignment_is_refused",
            page_plus_alignment_is_refused,
        ),
        ("namespace_left_as_found", namespace_left_as_found),
    ];
    common::run_tests(&tests)
}

/// 4 processes × 100 000 `fetch_add`s on a `#[named_shared_memory]` counter
/// are exact.
fn four_processes_count_exactly() {
    let _cleanup = Name::adopt(Counter::NAME, common::Kind::SharedMemory);
    let _ = Counter::unlink();
    let children: Vec<Child> = (0..4).map(|_| spawn("count", &[])).collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let counter = Counter::shared().unwrap();
    assert_eq!(counter.hits.load(Ordering::Relaxed), 4 * INCREMENTS);
    assert_eq!(counter.processes.load(Ordering::Relaxed), 4);
    Counter::unlink().unwrap();
}

fn child_count() -> u8 {
    let counter = Counter::shared().unwrap();
    counter.processes.fetch_add(1, Ordering::Relaxed);
    for _ in 0..INCREMENTS {
        counter.hits.fetch_add(1, Ordering::Relaxed);
    }
    0
}

/// 8 processes race to create one name: exactly one runs `init`, and all
/// see its value.
fn eight_processes_race_to_create() {
    let name = Name::shm("race");
    let go = Name::sem("race-go");
    let start = Semaphore::create_new(&go, 0).unwrap();
    let children: Vec<Child> = (0..8).map(|_| spawn("race", &[&name, &go])).collect();
    for _ in 0..8 {
        start.release().unwrap();
    }
    let mut inits = 0;
    for mut child in children {
        match child.wait().unwrap().code() {
            Some(10) => inits += 1,
            Some(0) => {}
            other => panic!("race child failed: {other:?}"),
        }
    }
    assert_eq!(inits, 1, "init must run exactly once");
    let config = Shared::<Config>::open(&name).unwrap();
    assert_eq!(config.magic, MAGIC);
    assert_eq!(config.opened.load(Ordering::Relaxed), 8);
}

fn child_race(name: &str, go: &str) -> u8 {
    Semaphore::open(go).unwrap().acquire().unwrap();
    let ran = std::sync::Arc::new(AtomicU32::new(0));
    let flag = ran.clone();
    let config = Shared::<Config>::options()
        .create(true)
        .init(move |c| {
            c.magic = MAGIC;
            flag.store(1, Ordering::Relaxed);
        })
        .open(name)
        .unwrap();
    assert_eq!(config.magic, MAGIC);
    config.opened.fetch_add(1, Ordering::Relaxed);
    if ran.load(Ordering::Relaxed) == 1 {
        10
    } else {
        0
    }
}

/// A creator SIGKILLed inside `init` does not wedge the name: the next
/// opener sees the dead pid and initialises.
fn creator_killed_mid_init() {
    let name = Name::shm("dead-init");
    let ready = Name::sem("dead-init-ready");
    let in_init = Semaphore::create_new(&ready, 0).unwrap();
    let child = spawn("die-in-init", &[&name, &ready]);
    in_init.acquire_timeout(Duration::from_secs(30)).unwrap();
    kill_and_reap(child);
    let config = Shared::<Config>::options()
        .create(true)
        .init(|c| c.magic = MAGIC)
        .open(&name)
        .unwrap();
    assert_eq!(config.magic, MAGIC);
    assert_eq!(
        config.opened.load(Ordering::Relaxed),
        0,
        "the dead creator's writes are gone"
    );
}

fn child_die_in_init(name: &str, ready: &str) -> u8 {
    let ready = Semaphore::open(ready).unwrap();
    let _ = Shared::<Config>::options()
        .create(true)
        .init(move |c| {
            c.opened.store(99, Ordering::Relaxed);
            ready.release().unwrap();
            loop {
                std::thread::sleep(Duration::from_secs(1)); // killed here
            }
        })
        .open(name);
    1
}

/// Opening with a changed definition (a field added, renamed, retyped), or
/// as another kind, is InvalidData with a message naming both sides.
fn changed_struct_is_invalid_data() {
    let name = Name::shm("v1");
    let v1 = Shared::<V1>::create_new(&name).unwrap();
    assert_eq!(v1.id + u64::from(v1.count), 0);
    let errors = [
        Shared::<added::V1>::open(&name).map(|s| s.id + u64::from(s.count + s.extra)),
        Shared::<renamed::V1>::open(&name).map(|s| u64::from(s.counter) + s.id),
        Shared::<retyped::V1>::open(&name).map(|s| s.count as u64 + s.id),
        Mutex::<V1>::open(&name).map(|_| 0),
    ];
    for result in errors {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
        let text = err.to_string();
        assert!(
            text.contains("expected") && text.contains("found a Shared"),
            "{text}"
        );
    }
    assert_ne!(V1::LAYOUT, renamed::V1::LAYOUT);
    assert_ne!(V1::LAYOUT, retyped::V1::LAYOUT);
    assert_ne!(V1::LAYOUT, added::V1::LAYOUT);
    // The same definition opens fine.
    assert!(Shared::<V1>::open(&name).is_ok());
    let m = Name::shm("mutex-as-shared");
    let _mutex = Mutex::<V1>::create_new(&m).unwrap();
    let err = Shared::<V1>::open(&m).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert!(err.to_string().contains("found a Mutex"), "{err}");
}

/// A plain shared-memory object with data, garbage, or a truncated typed
/// object is InvalidData, never a fault.
fn foreign_objects_are_invalid_data() {
    let plain = Name::shm("plain");
    let shm = SharedMemory::create_new(&plain, 4096).unwrap();
    shm.map().unwrap().write_at(0, b"hello, world").unwrap();
    let err = Shared::<V1>::open(&plain).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
    assert!(
        err.to_string().contains("plain shared-memory object"),
        "{err}"
    );

    let garbage = Name::shm("garbage");
    let typed = Shared::<V1>::create_new(&garbage).unwrap();
    let len = SharedMemory::open(&garbage).unwrap().size().unwrap();
    drop(typed);
    let shm = SharedMemory::open(&garbage).unwrap();
    let junk: Vec<u8> = (0..len).map(|i| (i * 7 + 13) as u8).collect();
    shm.map().unwrap().write_at(0, &junk).unwrap();
    let err = Shared::<V1>::open(&garbage).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");

    let truncated = Name::shm("truncated");
    drop(Shared::<V1>::create_new(&truncated).unwrap());
    SharedMemory::open(&truncated).unwrap().resize(10).unwrap();
    let err = Shared::<V1>::open(&truncated).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
    assert!(err.to_string().contains("10 bytes"), "{err}");
}

/// An `init` that panics leaves the object for the next opener.
fn panicking_init_leaves_the_name_usable() {
    let name = Name::shm("panic-init");
    let result = std::panic::catch_unwind(|| {
        Shared::<Config>::options()
            .create(true)
            .init(|_| panic!("init failed"))
            .open(&name)
    });
    assert!(result.is_err());
    let config = Shared::<Config>::options()
        .create(true)
        .init(|c| c.magic = MAGIC)
        .open(&name)
        .unwrap();
    assert_eq!(config.magic, MAGIC);
}

#[derive(ShmSafe)]
#[repr(C)]
struct Pair {
    a: u64,
    b: u64,
}

/// A child SIGKILLed holding the lock: the next `lock` returns at once with
/// `recovered()` and the data as the child left it; then all is normal.
fn killed_holder_is_recovered() {
    let name = Name::shm("killed-holder");
    let ready = Name::sem("killed-holder-ready");
    let mutex = Mutex::<Pair>::create_new(&name).unwrap();
    let holding = Semaphore::create_new(&ready, 0).unwrap();
    let child = spawn("die-holding", &[&name, &ready, "sleep"]);
    holding.acquire_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(mutex.try_lock().unwrap_err().kind(), ErrorKind::Busy);
    kill_and_reap(child);
    let started = Instant::now();
    let mut guard = mutex.lock_timeout(Duration::from_secs(1)).unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(guard.recovered());
    assert_eq!((guard.a, guard.b), (1, 0), "as the dead holder left it");
    guard.b = guard.a;
    drop(guard);
    let guard = mutex.lock().unwrap();
    assert!(!guard.recovered());
    assert_eq!((guard.a, guard.b), (1, 1));
}

/// The same after `std::process::exit` and after an abort (what a panic
/// does under panic=abort) inside the section.
fn exited_and_aborted_holders_are_recovered() {
    for how in ["exit", "abort"] {
        let name = Name::shm(how);
        let ready = Name::sem("exit-ready");
        let mutex = Mutex::<Pair>::create_new(&name).unwrap();
        let _holding = Semaphore::create_new(&ready, 0).unwrap();
        let mut child = spawn("die-holding", &[&name, &ready, how]);
        assert!(!child.wait().unwrap().success());
        let guard = mutex.lock_timeout(Duration::from_secs(1)).unwrap();
        assert!(guard.recovered(), "{how}");
        assert_eq!((guard.a, guard.b), (1, 0), "{how}");
    }
}

fn child_die_holding(name: &str, ready: &str, how: &str) -> u8 {
    let mutex = Mutex::<Pair>::open(name).unwrap();
    let mut guard = mutex.lock().unwrap();
    guard.a = 1; // the first of two steps
    Semaphore::open(ready).unwrap().release().unwrap();
    match how {
        "exit" => std::process::exit(3),
        "abort" => std::process::abort(),
        _ => loop {
            std::thread::sleep(Duration::from_secs(1)); // killed here
        },
    }
}

/// Try, timeout and relock while another process holds the lock, and the
/// lock passing over when it lets go.
fn lock_held_elsewhere_try_and_timeout() {
    let name = Name::shm("held");
    let ready = Name::sem("held-ready");
    let done = Name::sem("held-done");
    let mutex = Mutex::<Pair>::create_new(&name).unwrap();
    let holding = Semaphore::create_new(&ready, 0).unwrap();
    let release = Semaphore::create_new(&done, 0).unwrap();
    let mut child = spawn("hold", &[&name, &ready, &done]);
    holding.acquire_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(mutex.try_lock().unwrap_err().kind(), ErrorKind::Busy);
    let err = mutex.lock_timeout(Duration::from_millis(30)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert_eq!(
        mutex.lock_timeout(Duration::ZERO).unwrap_err().kind(),
        ErrorKind::Busy
    );
    release.release().unwrap();
    let guard = mutex.lock_timeout(Duration::from_secs(30)).unwrap();
    assert!(!guard.recovered());
    assert_eq!(guard.a, 5);
    // Relocking from the holding thread is an error, in every form.
    for err in [
        mutex.lock().unwrap_err(),
        mutex.try_lock().unwrap_err(),
        mutex.lock_timeout(Duration::from_millis(10)).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(
            err.to_string().contains("already held by this thread"),
            "{err}"
        );
    }
    drop(guard);
    assert!(child.wait().unwrap().success());
}

fn child_hold(name: &str, ready: &str, done: &str) -> u8 {
    let mutex = Mutex::<Pair>::open(name).unwrap();
    let mut guard = mutex.lock().unwrap();
    guard.a = 5;
    Semaphore::open(ready).unwrap().release().unwrap();
    Semaphore::open(done).unwrap().acquire().unwrap();
    drop(guard);
    0
}

/// 8 worker processes run 10 000 two-step sections in all while a supervisor
/// SIGKILLs the current holder again and again and restarts it. Every
/// half-done section is reported through `recovered()` and repaired; at the
/// end the ledger is consistent and no process ever hung.
fn sigkill_storm_keeps_the_ledger_consistent() {
    let name = Name::shm("ledger");
    let holder_name = Name::shm("ledger-holder");
    let ledger = Mutex::<Ledger>::create_new(&name).unwrap();
    let holder = Shared::<AtomicU32>::create_new(&holder_name).unwrap();
    let target = (WORKERS as u64 * SECTIONS).to_string();
    let start = |w: usize| spawn("ledger", &[&name, &holder_name, &format!("{w}:{target}")]);
    let mut workers: Vec<Child> = (0..WORKERS).map(start).collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut kills = 0;
    loop {
        assert!(
            Instant::now() < deadline,
            "the storm did not finish: something hung"
        );
        std::thread::sleep(Duration::from_millis(3));
        let pid = holder.load(Ordering::Relaxed);
        if let Some(w) = workers.iter().position(|c| c.id() == pid) {
            let child = std::mem::replace(&mut workers[w], start(w));
            kill_and_reap(child);
            kills += 1;
        }
        // The supervisor may be the one to find a killed holder's lock: it
        // repairs like any other locker.
        let mut guard = ledger.lock_timeout(Duration::from_secs(10)).unwrap();
        if guard.recovered() {
            repair(&mut guard);
        }
        let done = guard.completed;
        drop(guard);
        if done >= WORKERS as u64 * SECTIONS {
            break;
        }
    }
    for mut child in workers {
        let status = child.wait().unwrap();
        assert!(status.success(), "a worker failed: {status}");
    }
    let mut guard = ledger.lock().unwrap();
    if guard.recovered() {
        repair(&mut guard);
    }
    let sum: u64 = guard.per_worker.iter().sum();
    assert_eq!(guard.started, guard.completed);
    assert_eq!(guard.completed, sum, "every completed section counted once");
    assert!(guard.completed >= WORKERS as u64 * SECTIONS);
    assert!(kills > 10, "only {kills} holders were killed");
    assert!(
        guard.repairs > 0,
        "no kill landed inside a section in {kills} kills"
    );
    println!(
        "    {kills} holders killed, {} half-done sections repaired, {} sections",
        guard.repairs, guard.completed
    );
}

fn repair(ledger: &mut Ledger) {
    if ledger.started != ledger.completed {
        let sum: u64 = ledger.per_worker.iter().sum();
        ledger.completed = sum;
        ledger.started = sum;
        ledger.repairs += 1;
    }
}

fn child_ledger(name: &str, holder: &str, arg: &str) -> u8 {
    let (w, target) = arg.split_once(':').unwrap();
    let (w, target): (usize, u64) = (w.parse().unwrap(), target.parse().unwrap());
    let ledger = Mutex::<Ledger>::open(name).unwrap();
    let holder = Shared::<AtomicU32>::open(holder).unwrap();
    let me = std::process::id();
    loop {
        // A hang would show as Busy here, failing the worker.
        let mut guard = ledger.lock_timeout(Duration::from_secs(30)).unwrap();
        holder.store(me, Ordering::Relaxed);
        if guard.recovered() {
            repair(&mut guard);
        }
        if guard.completed >= target {
            holder.store(0, Ordering::Relaxed);
            return 0;
        }
        guard.started += 1;
        for _ in 0..200 {
            std::hint::spin_loop(); // the section's "work": a window to die in
        }
        guard.per_worker[w] += 1;
        guard.completed += 1;
        holder.store(0, Ordering::Relaxed);
    }
}

/// A timeout that expires is `io::ErrorKind::TimedOut` and a try that would
/// block is `WouldBlock`, for semaphores, queues and mutexes alike (all
/// `ErrorKind::Busy`).
fn expiry_and_would_block_agree_across_kinds() {
    use std::io::ErrorKind as Io;
    let io = |e: ipc::Error| {
        assert_eq!(e.kind(), ErrorKind::Busy, "{e}");
        std::io::Error::from(e).kind()
    };
    let short = Duration::from_millis(5);
    let sem_name = Name::sem("kinds");
    let sem = Semaphore::create_new(&sem_name, 0).unwrap();
    assert_eq!(io(sem.acquire_timeout(short).unwrap_err()), Io::TimedOut);
    assert_eq!(io(sem.try_acquire().unwrap_err()), Io::WouldBlock);
    let mq_name = Name::mq("kinds");
    let mq = ipc::MessageQueue::options()
        .create_new(true)
        .max_messages(1)
        .max_message_size(8)
        .open(&mq_name)
        .unwrap();
    assert_eq!(io(mq.receive_timeout(short).unwrap_err()), Io::TimedOut);
    assert_eq!(io(mq.try_receive().unwrap_err()), Io::WouldBlock);
    mq.send(b"x", 0).unwrap();
    assert_eq!(
        io(mq.send_timeout(b"y", 0, short).unwrap_err()),
        Io::TimedOut
    );
    assert_eq!(io(mq.try_send(b"y", 0).unwrap_err()), Io::WouldBlock);
    let mutex_name = Name::shm("kinds");
    let ready = Name::sem("kinds-ready");
    let done = Name::sem("kinds-done");
    let mutex = Mutex::<Pair>::create_new(&mutex_name).unwrap();
    let holding = Semaphore::create_new(&ready, 0).unwrap();
    let release = Semaphore::create_new(&done, 0).unwrap();
    let mut child = spawn("hold", &[&mutex_name, &ready, &done]);
    holding.acquire_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(io(mutex.lock_timeout(short).unwrap_err()), Io::TimedOut);
    assert_eq!(io(mutex.try_lock().unwrap_err()), Io::WouldBlock);
    release.release().unwrap();
    assert!(child.wait().unwrap().success());
}

/// A lock declared for the namespace test.
#[ipc::named_mutex(name = "/ipc-test.typed.ns-lock")]
struct NsLock;

/// With `IPC_NAMESPACE` set, declared objects live under `/<ns>.<name>`,
/// and `unlink()` removes that one; the plain name is never touched.
fn ipc_namespace_prefixes_declared_names() {
    let ns = format!("ipc-test-ns-{}", std::process::id());
    let _a = Name::adopt(
        &format!("/{ns}.ipc-test.typed.counter"),
        common::Kind::SharedMemory,
    );
    let _b = Name::adopt(
        &format!("/{ns}.ipc-test.typed.ns-lock"),
        common::Kind::SharedMemory,
    );
    let status = Command::new(std::env::current_exe().unwrap())
        .env("IPC_TEST_ROLE", "namespaced")
        .env("IPC_NAMESPACE", &ns)
        .status()
        .unwrap();
    assert!(status.success());
}

fn child_namespaced() -> u8 {
    let ns = ipc::namespace().unwrap().to_owned();
    let counter = Counter::shared().unwrap();
    counter.hits.fetch_add(1, Ordering::Relaxed);
    drop(NsLock::lock().unwrap());
    let real = format!("/{ns}.ipc-test.typed.counter");
    assert!(SharedMemory::open(&real).is_ok(), "{real} exists");
    assert_eq!(
        SharedMemory::open(Counter::NAME).unwrap_err().kind(),
        ErrorKind::NotFound,
        "the plain name is untouched"
    );
    assert!(SharedMemory::open(&format!("/{ns}.ipc-test.typed.ns-lock")).is_ok());
    Counter::unlink().unwrap();
    NsLock::unlink().unwrap();
    assert_eq!(
        SharedMemory::open(&real).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    0
}

/// A guard leaked with `mem::forget` leaves its mutex on this thread's
/// robust list; dropping the `Mutex` then must not unmap that memory, or
/// the next robust lock writes a list pointer into whatever is mapped there
/// next (here: a fresh `Shared`).
fn forgotten_guard_keeps_its_mapping() {
    let (a, b, c) = (
        Name::shm("forget-a"),
        Name::shm("forget-b"),
        Name::shm("forget-c"),
    );
    let m1 = Mutex::<()>::create_new(&a).unwrap();
    std::mem::forget(m1.lock().unwrap());
    drop(m1);
    let s = Shared::<[AtomicU64; 8]>::create_new(&b).unwrap();
    let m3 = Mutex::<()>::create_new(&c).unwrap();
    drop(m3.lock().unwrap());
    drop(m3.lock().unwrap());
    let words: Vec<u64> = s.iter().map(|w| w.load(Ordering::Relaxed)).collect();
    assert_eq!(
        words, [0; 8],
        "a robust-list pointer was written into another object"
    );
}

/// `open` (without create) never initialises an object: it waits for a
/// creator, then reports that none came; the creator's `init` still runs.
fn plain_open_never_initialises() {
    let name = Name::shm("plain-open");
    // Created (size 0) but not yet initialised, as between a creator's
    // shm_open and its init.
    let _raw = SharedMemory::create_new(&name, 0).unwrap();
    let started = Instant::now();
    let err = Shared::<AtomicU32>::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy, "{err}");
    assert!(err.to_string().contains("create(true)"), "{err}");
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "it waited for a creator"
    );
    let v = Shared::<AtomicU32>::options()
        .create(true)
        .init(|v| *v.get_mut() = 8080)
        .open(&name)
        .unwrap();
    assert_eq!(v.load(Ordering::Relaxed), 8080, "the creator's init ran");
}

/// A create that fails after making the name removes it again.
fn failed_create_leaves_no_name() {
    #[derive(ShmSafe)]
    #[repr(C, align(4096))]
    struct Page([u8; 4096]);
    let name = Name::shm("failed-create");
    // Too large to allocate: posix_fallocate fails (ENOSPC/EFBIG/ENOMEM).
    let err = Shared::<[Page; 1 << 30]>::create_new(&name).unwrap_err();
    assert_ne!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert_eq!(
        SharedMemory::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound,
        "the failed create removed its name"
    );
}

/// A type aligned above the page size cannot be placed at the same
/// offset in every process: refused, not mapped misaligned.
fn page_plus_alignment_is_refused() {
    #[derive(ShmSafe)]
    #[repr(C, align(8192))]
    struct Big {
        x: AtomicU64,
    }
    let name = Name::shm("align");
    let err = Shared::<Big>::create_new(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("4096"), "{err}");
    assert_ne!(Big::LAYOUT, AtomicU64::LAYOUT);
    assert_eq!(
        SharedMemory::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

/// The namespace when this binary started.
static BEFORE: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// Every test above unlinked what it created, on success and on failure.
/// (Only names this binary makes: its own pid's, and its declared ones;
/// other processes on the machine may come and go meanwhile.)
fn namespace_left_as_found() {
    let own = format!("ipc-test.{}.", std::process::id());
    let ours = |names: Vec<String>| -> Vec<String> {
        names
            .into_iter()
            .filter(|n| n.contains(&own) || n.contains("ipc-test.typed."))
            .collect()
    };
    assert_eq!(
        ours(common::namespace()),
        ours(BEFORE.get().cloned().unwrap_or_default())
    );
}
