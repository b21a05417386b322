//! Semaphores on real kernel objects. Each posix_ipc test in
//! tests/test_semaphores.py and tests/test_module.py has a counterpart here,
//! named in its doc comment.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{Kind, Name};
use ipc::consts::SEMAPHORE_VALUE_MAX;
use ipc::{ErrorKind, Semaphore};

/// A semaphore with value 1, as posix_ipc's setUp makes.
fn fixture(tag: &str) -> (Name, Semaphore) {
    let name = Name::sem(tag);
    let sem = Semaphore::create_new(&name, 1).unwrap();
    (name, sem)
}

/// test_no_flags: opening an existing name by name alone works.
#[test]
fn open_existing() {
    let (name, _sem) = fixture("open");
    let again = Semaphore::open(&name).unwrap();
    assert_eq!(again.name(), &*name);
    assert_eq!(again.value().unwrap(), 1);
}

/// test_ctor_no_flags on a missing name: NotFound (ExistentialError).
#[test]
fn open_missing_is_not_found() {
    let name = Name::sem("missing");
    let err = Semaphore::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    assert_eq!(
        err.to_string(),
        format!("sem_open({:?}): not found", &*name)
    );
}

/// test_o_creat_existing: O_CREAT on an existing name opens it, value kept.
#[test]
fn create_opens_existing_and_keeps_its_value() {
    let (name, sem) = fixture("creat-existing");
    sem.release().unwrap();
    let again = Semaphore::create(&name, 99).unwrap();
    assert_eq!(again.value().unwrap(), 2);
}

/// test_o_creat_new: O_CREAT on an unused name creates it.
#[test]
fn create_makes_a_new_one() {
    let name = Name::sem("creat-new");
    assert_eq!(
        Semaphore::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let sem = Semaphore::create(&name, 4).unwrap();
    assert_eq!(sem.value().unwrap(), 4);
    assert_eq!(sem.name(), &*name);
}

/// test_o_excl and test_o_crex: exclusive creation of an existing name fails.
#[test]
fn create_new_on_existing_is_already_exists() {
    let (name, _sem) = fixture("crex");
    let err = Semaphore::create_new(&name, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    let err = Semaphore::options()
        .create(true)
        .create_new(true)
        .open(&name)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
}

/// test_randomly_generated_name: a unique name keeps the prefix and is valid.
#[test]
fn create_unique_names() {
    let a = Semaphore::options()
        .create_unique("/ipc-test.uniq")
        .unwrap();
    let _a_name = Name::adopt(a.name(), Kind::Semaphore);
    let b = Semaphore::options()
        .create_unique("/ipc-test.uniq")
        .unwrap();
    let _b_name = Name::adopt(b.name(), Kind::Semaphore);
    assert_ne!(a.name(), b.name());
    for sem in [&a, &b] {
        let suffix = sem.name().strip_prefix("/ipc-test.uniq.").unwrap();
        assert_eq!(suffix.len(), 16);
        assert!(ipc::name::check(sem.name(), ipc::name::Kind::Semaphore).is_ok());
    }
}

/// test_name_as_bytes has no Rust counterpart (names are `&str`); non-ASCII
/// names, which posix_ipc also accepts, round-trip instead.
#[test]
fn non_ascii_name() {
    let name = Name::adopt(&format!("{}-ünï", common::unique("utf8")), Kind::Semaphore);
    let sem = Semaphore::create_new(&name, 0).unwrap();
    assert_eq!(sem.name(), &*name);
    assert_eq!(Semaphore::open(&name).unwrap().name(), &*name);
}

/// test_default_initial_value, test_zero_initial_value, test_nonzero_initial_value.
#[test]
fn initial_values() {
    let name = Name::sem("default-value");
    let sem = Semaphore::options().create_new(true).open(&name).unwrap();
    assert_eq!(sem.value().unwrap(), 0);
    for v in [0, 42, SEMAPHORE_VALUE_MAX] {
        let name = Name::sem("value");
        let sem = Semaphore::create_new(&name, v).unwrap();
        assert_eq!(sem.value().unwrap(), v);
    }
}

/// test_kwargs: every option at once.
#[test]
fn all_options() {
    let name = Name::sem("kwargs");
    let sem = Semaphore::options()
        .create(true)
        .create_new(true)
        .mode(0x180)
        .initial_value(0)
        .open(&name)
        .unwrap();
    assert_eq!(sem.mode(), 0o600);
}

/// Out-of-range initial values and modes are InvalidInput, and nothing is created.
#[test]
fn out_of_range_arguments_create_nothing() {
    let name = Name::sem("range");
    for opts in [
        Semaphore::options().initial_value(SEMAPHORE_VALUE_MAX + 1),
        Semaphore::options().initial_value(u32::MAX),
        Semaphore::options().mode(0o4755),
        Semaphore::options().mode(u32::MAX),
    ] {
        let err = opts.create_new(true).open(&name).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_eq!(err.raw_os_error(), None);
    }
    assert_eq!(
        Semaphore::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

/// test_simple_acquisition.
#[test]
fn acquire_and_release() {
    let (_name, sem) = fixture("acquire");
    sem.acquire().unwrap();
    assert_eq!(sem.value().unwrap(), 0);
    sem.release().unwrap();
    assert_eq!(sem.value().unwrap(), 1);
}

/// test_acquisition_zero_timeout: a zero timeout is a try.
#[test]
fn zero_timeout_is_a_try() {
    let (_name, sem) = fixture("zero-timeout");
    sem.acquire_timeout(Duration::ZERO).unwrap();
    let err = sem.acquire_timeout(Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert_eq!(sem.try_acquire().unwrap_err().kind(), ErrorKind::Busy);
    assert_eq!(sem.try_lock().unwrap_err().kind(), ErrorKind::Busy);
}

/// test_acquisition_nonzero_int_timeout / _float_timeout: the wait expires
/// after, never before, its timeout.
#[test]
fn timed_wait_expires_after_its_timeout() {
    let (_name, sem) = fixture("timeout");
    sem.acquire().unwrap();
    for timeout in [Duration::from_millis(200), Duration::from_millis(350)] {
        let start = Instant::now();
        let err = sem.acquire_timeout(timeout).unwrap_err();
        let waited = start.elapsed();
        assert_eq!(err.kind(), ErrorKind::Busy);
        assert_eq!(err.raw_os_error(), Some(libc::ETIMEDOUT));
        assert!(waited >= timeout, "gave up after {waited:?} < {timeout:?}");
        assert!(err.to_string().contains("timed out"), "{err}");
        let err = sem.lock_timeout(timeout).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Busy);
    }
}

/// A timed wait succeeds as soon as another thread releases.
#[test]
fn timed_wait_is_woken_by_release() {
    let (name, sem) = fixture("timeout-wake");
    sem.acquire().unwrap();
    let other = Semaphore::open(&name).unwrap();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        other.release().unwrap();
    });
    sem.acquire_timeout(Duration::from_secs(30)).unwrap();
    t.join().unwrap();
    // A timeout too large for a deadline waits forever, i.e. like acquire.
    sem.release().unwrap();
    sem.acquire_timeout(Duration::MAX).unwrap();
}

/// test_release: many releases; past SEMAPHORE_VALUE_MAX it is InvalidInput
/// and the value is unchanged.
#[test]
fn release_up_to_the_maximum() {
    let name = Name::sem("release");
    let sem = Semaphore::create_new(&name, 0).unwrap();
    for _ in 0..1_000_000 {
        sem.release().unwrap();
    }
    assert_eq!(sem.value().unwrap(), 1_000_000);

    let name = Name::sem("overflow");
    let sem = Semaphore::create_new(&name, SEMAPHORE_VALUE_MAX - 1).unwrap();
    sem.release().unwrap();
    let err = sem.release().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.raw_os_error(), Some(libc::EOVERFLOW));
    assert!(err.to_string().contains("SEMAPHORE_VALUE_MAX"), "{err}");
    assert_eq!(sem.value().unwrap(), SEMAPHORE_VALUE_MAX);
}

/// test_context_manager: inside the guard the value is 0; after, 1.
#[test]
fn guard_releases_on_drop() {
    let (_name, sem) = fixture("guard");
    {
        let guard = sem.lock().unwrap();
        assert_eq!(guard.semaphore().name(), sem.name());
        assert_eq!(sem.value().unwrap(), 0);
        assert_eq!(sem.try_acquire().unwrap_err().kind(), ErrorKind::Busy);
    }
    assert_eq!(sem.value().unwrap(), 1);
    sem.try_acquire().unwrap();
}

/// A guard is released by a panic's unwinding.
#[test]
fn guard_releases_on_panic() {
    let (_name, sem) = fixture("panic");
    let result = std::panic::catch_unwind(|| {
        let _guard = sem.lock().unwrap();
        assert_eq!(sem.value().unwrap(), 0);
        panic!("inside the critical section");
    });
    assert!(result.is_err());
    assert_eq!(sem.value().unwrap(), 1);
}

/// test_close_and_unlink and test_unlink_semaphore: after unlink the name is
/// gone; module-level and method unlink agree.
#[test]
fn unlink_then_close() {
    let (name, sem) = fixture("unlink");
    sem.unlink().unwrap();
    sem.close().unwrap();
    assert_eq!(
        Semaphore::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        ipc::unlink_semaphore(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );

    let (name, sem) = fixture("unlink-fn");
    ipc::unlink_semaphore(&name).unwrap();
    drop(sem);
    assert_eq!(
        Semaphore::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

/// posix_ipc issue #17: handles stay usable after unlink, and a new exclusive
/// create makes a distinct semaphore.
#[test]
fn unlinked_semaphore_lives_on_in_its_handles() {
    let (name, old) = fixture("unlinked");
    old.release().unwrap();
    old.release().unwrap();
    old.unlink().unwrap();
    assert_eq!(old.value().unwrap(), 3);
    let new = Semaphore::create_new(&name, 0).unwrap();
    assert_eq!(new.value().unwrap(), 0);
    assert_eq!(old.value().unwrap(), 3);
}

/// test_property_name and test_property_value, plus Display and Debug.
#[test]
fn properties() {
    let (name, sem) = fixture("props");
    assert_eq!(sem.name(), &*name);
    assert!(sem.name().starts_with('/') && sem.name().len() >= 2);
    assert_eq!(sem.value().unwrap(), 1);
    assert_eq!(sem.mode(), 0o600);
    assert_eq!(sem.to_string(), format!("Semaphore({}, value=1)", &*name));
    let debug = format!("{sem:?}");
    assert!(debug.contains(&*name) && debug.contains("0o600"), "{debug}");
}

/// The mode is exactly what was asked, whatever the umask (Linux).
#[cfg(target_os = "linux")]
#[test]
fn mode_is_exact_despite_umask() {
    use std::os::unix::fs::PermissionsExt;
    for mode in [0o666, 0o640, 0o600, 0o400] {
        let name = Name::sem("mode");
        let _sem = Semaphore::options()
            .create(true)
            .mode(mode)
            .open(&name)
            .unwrap();
        let meta = std::fs::metadata(format!("/dev/shm/sem.{}", &name[1..])).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, mode);
    }
}

/// A zero-length or truncated /dev/shm/sem.<name> is refused, not a SIGBUS
/// (posix_ipc issue #51).
#[cfg(target_os = "linux")]
#[test]
fn truncated_semaphore_file_is_an_error() {
    for len in [0, 7] {
        let name = Name::sem("truncated");
        let path = format!("/dev/shm/sem.{}", &name[1..]);
        std::fs::write(&path, vec![0u8; len]).unwrap();
        let err = Semaphore::open(&name).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("not a semaphore"), "{err}");
        let err = Semaphore::create(&name, 1).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }
}

/// Threads contending on one lock lose no update of a read-modify-write that
/// is only safe under the lock.
#[test]
fn threads_lose_no_update() {
    const THREADS: usize = 8;
    const ROUNDS: u64 = 2_000;
    let (name, _sem) = fixture("contend");
    let counter = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (counter, barrier) = (Arc::clone(&counter), Arc::clone(&barrier));
            // Each thread opens its own handle, as separate processes would.
            let sem = Semaphore::open(&name).unwrap();
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..ROUNDS {
                    let _guard = sem.lock().unwrap();
                    let v = counter.load(Ordering::Relaxed);
                    if i % 64 == 0 {
                        std::thread::yield_now();
                    }
                    counter.store(v + 1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(counter.load(Ordering::Relaxed), THREADS as u64 * ROUNDS);
}

/// The handle and guard can be shared across threads; error converts to io::Error.
#[test]
fn errors_convert_to_io() {
    let (_name, sem) = fixture("io");
    sem.acquire().unwrap();
    let io: std::io::Error = sem.try_acquire().unwrap_err().into();
    assert_eq!(io.kind(), std::io::ErrorKind::WouldBlock);
    let io: std::io::Error = sem
        .acquire_timeout(Duration::from_millis(1))
        .unwrap_err()
        .into();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
}

/// With a spin budget, hand-offs still work both ways, a timed wait still
/// waits its full timeout, and a failing try does not spin.
#[test]
fn spinning_waits_behave_like_blocking_ones() {
    let (ping_name, ping) = fixture("spin-ping");
    let pong_name = Name::sem("spin-pong");
    let pong = Semaphore::options()
        .create_new(true)
        .spin(Duration::from_micros(50))
        .open(&pong_name)
        .unwrap();
    assert_eq!(pong.spin(), Duration::from_micros(50));
    ping.set_spin(Duration::from_micros(50));
    ping.acquire().unwrap(); // value 0 from here
    let (ping2, pong2) = (
        Semaphore::open(&ping_name).unwrap(),
        Semaphore::open(&pong_name).unwrap(),
    );
    ping2.set_spin(Duration::from_micros(50));
    let t = std::thread::spawn(move || {
        for _ in 0..2_000 {
            ping2.acquire().unwrap();
            pong2.release().unwrap();
        }
    });
    for _ in 0..2_000 {
        ping.release().unwrap();
        pong.acquire().unwrap();
    }
    t.join().unwrap();
    assert_eq!((ping.value().unwrap(), pong.value().unwrap()), (0, 0));

    let timeout = Duration::from_millis(100);
    let start = Instant::now();
    assert_eq!(
        pong.acquire_timeout(timeout).unwrap_err().kind(),
        ErrorKind::Busy
    );
    assert!(start.elapsed() >= timeout);
    assert_eq!(pong.try_acquire().unwrap_err().kind(), ErrorKind::Busy);
    pong.set_spin(Duration::ZERO);
    assert_eq!(pong.spin(), Duration::ZERO);
}

/// `SemaphoreGuard::unlock` reports what dropping the guard would ignore.
#[test]
fn guard_unlock_reports_errors() {
    let name = Name::sem("unlock");
    let sem = Semaphore::create_new(&name, SEMAPHORE_VALUE_MAX).unwrap();
    let guard = sem.lock().unwrap();
    sem.release().unwrap(); // someone gave back a unit they never took
    let err = guard.unlock().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(sem.value().unwrap(), SEMAPHORE_VALUE_MAX);
    let guard = sem.lock().unwrap();
    guard.unlock().unwrap();
    assert_eq!(sem.value().unwrap(), SEMAPHORE_VALUE_MAX);
}

/// The garbage `/dev/shm/sem.<name>` contents (glibc's `struct new_sem`,
/// little or big endian alike: a 64-bit `data` word, then `int private`).
/// Each made glibc abort the process ("The futex facility returned an
/// unexpected error code", SIGABRT) or misbehave once used.
#[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
fn garbage_semaphore_files() -> Vec<(&'static str, Vec<u8>)> {
    let file = |data: u64, private: i32| {
        let mut bytes = vec![0u8; size_of::<libc::sem_t>()];
        bytes[..8].copy_from_slice(&data.to_ne_bytes());
        bytes[8..12].copy_from_slice(&private.to_ne_bytes());
        bytes
    };
    vec![
        ("all ones", vec![0xff; size_of::<libc::sem_t>()]),
        ("bad private word, waiters", file(1 << 32, 7)),
        ("bad private word", file(1, 0x1234)),
        (
            "value above SEM_VALUE_MAX",
            file(0xffff_fff0, libc::FUTEX_PRIVATE_FLAG),
        ),
    ]
}

/// A semaphore file of the right size whose words glibc does not expect is
/// `InvalidData` at open, never an abort inside glibc later. Each case runs
/// in a child process (this test binary again, `garbage_semaphore_child`),
/// so an abort fails this test instead of killing the harness.
#[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
#[test]
fn garbage_semaphore_file_is_invalid_data() {
    for (what, bytes) in garbage_semaphore_files() {
        let name = Name::sem("garbage");
        let path = format!("/dev/shm/sem.{}", &name[1..]);
        std::fs::write(&path, &bytes).unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "garbage_semaphore_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("IPC_TEST_GARBAGE_SEM", &*name)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("open: InvalidData"),
            "{what}: child {:?}, stdout: {stdout}, stderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        // Nothing was written to the file.
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{what}");
    }
}

/// The child of `garbage_semaphore_file_is_invalid_data`: opens the
/// semaphore and, if that succeeds, uses it as any caller would.
#[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
#[test]
fn garbage_semaphore_child() {
    let Ok(name) = std::env::var("IPC_TEST_GARBAGE_SEM") else {
        return; // run as a test of its own: nothing to do
    };
    match Semaphore::open(&name) {
        Err(e) => println!("open: {:?} ({e})", e.kind()),
        Ok(sem) => {
            println!("open: Ok");
            let _ = sem.release();
            let _ = sem.try_acquire();
            let _ = sem.acquire_timeout(Duration::from_millis(1));
            let _ = sem.release();
            let _ = sem.value();
        }
    }
}

/// A spin budget is kept as given: it used to be capped silently at
/// u32::MAX nanoseconds (about 4.29 s).
#[test]
fn spin_budget_is_not_capped() {
    let (_name, sem) = fixture("spin-max");
    sem.set_spin(Duration::from_secs(10));
    assert_eq!(sem.spin(), Duration::from_secs(10));
    sem.set_spin(Duration::MAX);
    assert_eq!(sem.spin(), Duration::from_nanos(u64::MAX));
    sem.acquire().unwrap(); // available: the first poll takes it
    sem.set_spin(Duration::ZERO);
}
