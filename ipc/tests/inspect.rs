//! `ipc::inspect`: what it reports for plain, foreign, garbage and typed
//! objects, that it finds a mutex behind padding, and that it changes
//! nothing.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use common::{Name, Planted};
use ipc::inspect::{self, InitState, LockState, TypedKind};
use ipc::{ErrorKind, Mutex, Shared, SharedMemory, ShmSafe};

/// A payload aligned past the header, so the mutex sits at 128, not 64.
#[derive(ShmSafe)]
#[repr(C, align(128))]
struct Wide {
    value: u64,
}

#[test]
fn plain_small_and_missing_objects() {
    let name = Name::shm("inspect-plain");
    let shm = SharedMemory::create_new(&name, 10).unwrap();
    let info = inspect::shared_memory(&name).unwrap();
    assert_eq!((info.size, info.typed), (10, None));
    shm.resize(4096).unwrap();
    shm.map().unwrap().write_at(0, b"not a header").unwrap();
    assert_eq!(inspect::shared_memory(&name).unwrap().typed, None);
    shm.unlink().unwrap();
    assert_eq!(
        inspect::shared_memory(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        inspect::shared_memory("no-slash").unwrap_err().kind(),
        ErrorKind::InvalidName
    );
}

#[test]
fn shared_header_is_reported_and_left_alone() {
    let name = Name::shm("inspect-shared");
    let shared = Shared::<AtomicU64>::options()
        .create_new(true)
        .init(|v| v.store(41, Ordering::Relaxed))
        .open(&name)
        .unwrap();
    let info = inspect::shared_memory(&name).unwrap();
    let typed = info.typed.unwrap();
    assert_eq!(typed.kind, TypedKind::Shared);
    assert_eq!(typed.layout, <AtomicU64 as ShmSafe>::LAYOUT);
    assert_eq!(typed.format_version, inspect::FORMAT_VERSION);
    assert_eq!(typed.size, info.size);
    assert_eq!(
        typed.state,
        InitState::Ready {
            pid: std::process::id()
        }
    );
    assert_eq!(typed.lock, None);
    assert_eq!(shared.load(Ordering::Relaxed), 41);
}

#[test]
fn mutex_behind_padding_is_found() {
    let name = Name::shm("inspect-wide");
    let m = Mutex::<Wide>::create_new(&name).unwrap();
    // The header padded to 128, then the pthread mutex padded to 128 and
    // the data: the mutex is at 128, where a scan from 64 must find it.
    assert_eq!(inspect::shared_memory(&name).unwrap().size, 128 + 256);
    let lock = || inspect::shared_memory(&name).unwrap().typed.unwrap().lock;
    assert_eq!(lock(), Some(LockState::Unlocked));
    {
        let mut g = m.lock().unwrap();
        g.value = 7;
        let held = lock();
        assert!(
            matches!(held, Some(LockState::Held { pid: Some(p), waiters: false, .. }) if p == std::process::id()),
            "{held:?}"
        );
    }
    assert_eq!(lock(), Some(LockState::Unlocked));
    assert_eq!(m.try_lock().unwrap().value, 7);
}

#[test]
fn garbage_state_word_is_invalid() {
    let name = Name::shm("inspect-garbage");
    let shm = SharedMemory::create_new(&name, 4096).unwrap();
    let map = shm.map().unwrap();
    map.write_at(0, b"ipc-rs\0\x01").unwrap();
    map.write_at(8, &7u64.to_ne_bytes()).unwrap();
    let typed = inspect::shared_memory(&name).unwrap().typed.unwrap();
    assert_eq!(typed.state, InitState::Invalid(7));
    assert!(matches!(typed.kind, TypedKind::Unknown(0)));
}

/// Runs `f` on a thread and fails the test if it has not returned in 10 s
/// (a blocking open of a FIFO never returns by itself).
fn within_10s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("hung for 10 s on a FIFO")
}

const GLIBC_64: bool = cfg!(all(
    target_os = "linux",
    target_env = "gnu",
    target_pointer_width = "64"
));

/// A FIFO or a directory where an object's file should be is refused, and
/// never hangs the call (a read-only open of a FIFO blocks until a writer
/// comes, unless it is non-blocking).
#[test]
fn fifos_and_directories_are_refused_without_hanging() {
    let name = common::unique("inspect-fifo");
    let fifo = Planted::at(&name[1..]);
    fifo.mkfifo();
    let n = name.clone();
    let err = within_10s(move || inspect::shared_memory(&n).unwrap_err());
    assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
    assert!(err.to_string().contains("a FIFO"), "{err}");

    let dir_name = common::unique("inspect-dir");
    let dir = Planted::at(&dir_name[1..]);
    std::fs::create_dir(&dir.0).unwrap();
    let err = inspect::shared_memory(&dir_name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
    assert!(err.to_string().contains("a directory"), "{err}");

    let sem_name = common::unique("inspect-semfifo");
    let sem_fifo = Planted::at(&format!("sem.{}", &sem_name[1..]));
    sem_fifo.mkfifo();
    let n = sem_name.clone();
    let err = within_10s(move || inspect::semaphore(&n).unwrap_err());
    if GLIBC_64 {
        assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
        assert!(err.to_string().contains("a FIFO"), "{err}");
    } else {
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    }
    // Opening it as a semaphore checks the file first: an error, not a hang.
    let n = sem_name.clone();
    assert!(within_10s(move || ipc::Semaphore::open(&n).is_err()));
    // Opening the first FIFO as shared memory for reading (an open that
    // waits for a writer without O_NONBLOCK, as glibc's shm_open does):
    // no hang, and mapping it is an error.
    if cfg!(all(
        target_os = "linux",
        any(target_env = "gnu", target_env = "musl")
    )) {
        let n = name.clone();
        let mapped = within_10s(move || {
            SharedMemory::options()
                .read_only(true)
                .open(&n)
                .and_then(|shm| shm.map().map(drop))
        });
        assert!(mapped.is_err(), "a FIFO mapped as shared memory");
    }
    drop((fifo, dir, sem_fifo));
}

/// Another process shrinking the file while it is inspected: before the
/// reads went through `pread`, a read through the mapping past the new end
/// killed this process with SIGBUS (within a few hundred tries).
#[test]
fn objects_shrinking_while_read_never_crash() {
    let name = Name::shm("inspect-shrink");
    let shm = SharedMemory::create_new(&name, 8192).unwrap();
    let sem_name = Name::sem("inspect-shrink-sem");
    drop(
        ipc::Semaphore::options()
            .create_new(true)
            .open(&sem_name)
            .unwrap(),
    );
    let sem_file = std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/dev/shm/sem.{}", &sem_name[1..]))
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flipper = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut flips = 0u64;
            while !stop.load(Ordering::Relaxed) {
                shm.resize(0).unwrap();
                sem_file.set_len(0).unwrap();
                shm.resize(8192).unwrap();
                sem_file.set_len(32).unwrap();
                flips += 1;
            }
            flips
        })
    };
    let (mut read, mut sem_values) = (0, 0);
    for _ in 0..20_000 {
        if inspect::shared_memory(&name).is_ok() {
            read += 1;
        }
        if let Ok(info) = inspect::semaphore(&sem_name) {
            assert_eq!((info.value, info.waiters), (0, 0));
            sem_values += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let flips = flipper.join().unwrap();
    assert!(flips > 100, "the files were resized {flips} times only");
    assert!(read > 0, "no inspection succeeded");
    if GLIBC_64 {
        assert!(sem_values > 0, "no semaphore read succeeded");
    }
}

#[test]
fn semaphore_value_is_read_from_the_file() {
    let name = Name::sem("inspect-sem");
    let sem = ipc::Semaphore::options()
        .create_new(true)
        .initial_value(7)
        .open(&name)
        .unwrap();
    if !GLIBC_64 {
        assert_eq!(
            inspect::semaphore(&name).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        return;
    }
    let info = inspect::semaphore(&name).unwrap();
    assert_eq!(
        (info.name.as_str(), info.value, info.waiters),
        (&*name, 7, 0)
    );
    let guard = sem.lock().unwrap();
    assert_eq!(inspect::semaphore(&name).unwrap().value, 6);
    drop(guard);
    assert_eq!(inspect::semaphore(&name).unwrap().value, 7);
    // A waiter shows in the count while it waits.
    let empty = Name::sem("inspect-sem-wait");
    let zero = std::sync::Arc::new(
        ipc::Semaphore::options()
            .create_new(true)
            .initial_value(0)
            .open(&empty)
            .unwrap(),
    );
    let waiter = {
        let zero = zero.clone();
        std::thread::spawn(move || zero.acquire())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while inspect::semaphore(&empty).unwrap().waiters == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the waiter never showed"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    zero.release().unwrap();
    waiter.join().unwrap().unwrap();
    assert_eq!(inspect::semaphore(&empty).unwrap().waiters, 0);
    assert_eq!(
        inspect::semaphore(&common::unique("inspect-none"))
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        inspect::semaphore("no-slash").unwrap_err().kind(),
        ErrorKind::InvalidName
    );
    // A file too short for a sem_t, and one with words glibc never writes.
    let short = Name::sem("inspect-sem-short");
    std::fs::write(format!("/dev/shm/sem.{}", &short[1..]), [0u8; 8]).unwrap();
    assert_eq!(
        inspect::semaphore(&short).unwrap_err().kind(),
        ErrorKind::InvalidData
    );
    let garbage = Name::sem("inspect-sem-garbage");
    std::fs::write(format!("/dev/shm/sem.{}", &garbage[1..]), [0xffu8; 32]).unwrap();
    assert_eq!(
        inspect::semaphore(&garbage).unwrap_err().kind(),
        ErrorKind::InvalidData
    );
}

/// A FIFO under a typed object's name: an error saying so, not a hang nor
/// a failure of `posix_fallocate` ("illegal seek").
#[test]
fn a_fifo_is_no_typed_object() {
    let name = common::unique("typed-fifo");
    let fifo = Planted::at(&name[1..]);
    fifo.mkfifo();
    let n = name.clone();
    let err = within_10s(move || Mutex::<u64>::create(&n).unwrap_err());
    assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let n = name.clone();
    let err = within_10s(move || Shared::<AtomicU64>::open(&n).unwrap_err());
    assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
    drop(fifo);
}

/// Another process overwrote the mutex's `__kind` word (glibc trusts it):
/// a priority-inheritance, priority-protect or elision kind made the next
/// lock abort the process inside glibc (or SIGILL without RTM). Now every
/// lock call refuses such a mutex, and a guard whose mutex was overwritten
/// while held does not hand it to glibc's unlock.
#[test]
#[cfg_attr(
    not(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64")),
    ignore = "writes the words of glibc's 64-bit pthread_mutex_t"
)]
fn a_mutex_with_a_foreign_kind_is_refused_not_fatal() {
    // Header 64 bytes, then the pthread_mutex_t: __lock @64, __kind @80.
    const LOCK: usize = 64;
    const KIND: usize = 80;
    let name = Name::shm("mutex-kind");
    let mutex = Mutex::<u64>::create_new(&name).unwrap();
    let raw = SharedMemory::open(&name).unwrap().map().unwrap();
    let mut ours = [0u8; 4];
    raw.read_at(KIND, &mut ours).unwrap();
    assert_eq!(
        u32::from_ne_bytes(ours) & (16 | 128),
        16 | 128,
        "robust, shared"
    );
    let dead_tid = 0x3fff_fff0u32;
    for (kind, lock_word) in [
        (178u32, dead_tid), // robust + priority inheritance, a dead owner
        (34, 1),            // priority inheritance, not shared
        (66, 0xffff_0000),  // priority protect
        (384, 0),           // elision
    ] {
        raw.write_at(KIND, &kind.to_ne_bytes()).unwrap();
        raw.write_at(LOCK, &lock_word.to_ne_bytes()).unwrap();
        assert!(mutex.try_lock().is_err(), "kind {kind}");
        assert!(
            mutex
                .lock_timeout(std::time::Duration::from_millis(10))
                .is_err(),
            "kind {kind}"
        );
        assert!(mutex.lock().is_err(), "kind {kind}");
    }
    // Overwritten while held: the guard's drop leaves glibc out of it.
    raw.write_at(KIND, &ours).unwrap();
    raw.write_at(LOCK, &0u32.to_ne_bytes()).unwrap();
    let guard = mutex.lock().unwrap();
    raw.write_at(KIND, &178u32.to_ne_bytes()).unwrap();
    drop(guard);
    assert!(mutex.try_lock().is_err());
}
