//! `#[named_semaphore]` and `critical!` at run time, from a 2024-edition
//! crate linted with clippy pedantic (`.ci/run`): the expansions compile
//! without warnings. Each test has its own semaphore, unlinked on drop.

mod common;

use std::time::{Duration, Instant};

use common::{Kind, Name};
use ipc::{ErrorKind, NamedSemaphore};

/// Unlinks `S`'s semaphore when the test ends, pass or fail.
fn unlink_on_drop<S: NamedSemaphore>() -> Name {
    Name::adopt(S::NAME, Kind::Semaphore)
}

fn value<S: NamedSemaphore>() -> u32 {
    S::semaphore().unwrap().value().unwrap()
}

#[ipc::named_semaphore(name = "/ipc-test.dsl.static", initial = 2, mode = 0o640)]
struct Static;

/// One handle per process: every call returns the same cached handle,
/// opened with the declared initial value and mode.
#[test]
fn one_static_handle_per_process() {
    let _cleanup = unlink_on_drop::<Static>();
    let a = Static::semaphore().unwrap();
    let b = <Static as NamedSemaphore>::semaphore().unwrap();
    assert!(std::ptr::eq(a, b));
    let from_thread =
        std::thread::spawn(|| std::ptr::from_ref(Static::semaphore().unwrap()) as usize)
            .join()
            .unwrap();
    assert_eq!(from_thread, std::ptr::from_ref(a) as usize);
    assert_eq!(a.name(), Static::NAME);
    assert_eq!(a.mode(), 0o640);
    assert_eq!(a.value().unwrap(), 2);
    assert_eq!((Static::INITIAL, Static::MODE), (2, 0o640));
}

#[ipc::named_semaphore(name = "/ipc-test.dsl.retry")]
struct Retry;

/// A failed open is not cached: once the cause is gone, the next call works.
#[cfg(target_os = "linux")]
#[test]
fn failed_open_is_retried() {
    let _cleanup = unlink_on_drop::<Retry>();
    // A zero-length file where the semaphore should be: the open is refused.
    let path = "/dev/shm/sem.ipc-test.dsl.retry";
    std::fs::write(path, b"").unwrap();
    let err = Retry::semaphore().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(Retry::lock().unwrap_err().kind(), ErrorKind::InvalidInput);
    std::fs::remove_file(path).unwrap();
    assert_eq!(Retry::critical(|| 7).unwrap(), 7);
}

#[ipc::named_semaphore(name = "/ipc-test.dsl.exits")]
struct Exits;

fn early_return(x: i32) -> ipc::Result<&'static str> {
    ipc::critical!(Exits => {
        if x > 0 {
            return Ok("returned");
        }
    })?;
    Ok("fell through")
}

fn question_mark(s: &str) -> Result<u8, Box<dyn std::error::Error>> {
    Ok(ipc::critical!(Exits => { s.parse::<u8>()? })?)
}

/// The block is inline: return, ?, break and continue act on the enclosing
/// code, and every way out, a panic included, releases the semaphore.
#[test]
fn critical_releases_on_every_way_out() {
    let _cleanup = unlink_on_drop::<Exits>();
    assert_eq!(value::<Exits>(), 1);
    assert_eq!(early_return(1).unwrap(), "returned");
    assert_eq!(value::<Exits>(), 1);
    assert_eq!(early_return(0).unwrap(), "fell through");
    assert!(question_mark("not a number").is_err());
    assert_eq!(value::<Exits>(), 1);
    assert_eq!(question_mark("9").unwrap(), 9);

    let mut visited = Vec::new();
    for i in 0..10 {
        ipc::critical!(Exits => {
            assert_eq!(value::<Exits>(), 0);
            if i % 2 == 0 {
                continue;
            }
            if i == 7 {
                break;
            }
            visited.push(i);
        })
        .unwrap();
    }
    assert_eq!(visited, [1, 3, 5]);
    assert_eq!(value::<Exits>(), 1);

    let mut rounds = 0;
    'outer: for _ in 0..3 {
        for _ in 0..3 {
            rounds += 1;
            ipc::critical!(Exits => {
                if rounds == 2 {
                    break 'outer;
                }
            })
            .unwrap();
        }
    }
    assert_eq!(rounds, 2);
    assert_eq!(value::<Exits>(), 1);

    let panicked = std::panic::catch_unwind(|| {
        let _: ipc::Result<()> = ipc::critical!(Exits => { panic!("inside") });
    });
    assert!(panicked.is_err());
    assert_eq!(value::<Exits>(), 1);
    let panicked = std::panic::catch_unwind(|| Exits::critical(|| panic!("inside")));
    assert!(panicked.is_err());
    assert_eq!(value::<Exits>(), 1);
}

#[ipc::named_semaphore(name = "/ipc-test.dsl.busy")]
struct Busy;

/// The try and timeout forms give Busy while the semaphore is held, and the
/// block does not run.
#[test]
fn try_and_timeout_forms_are_busy_when_held() {
    let _cleanup = unlink_on_drop::<Busy>();
    let guard = Busy::lock().unwrap();
    let mut ran = false;
    let err = ipc::critical!(try Busy => { ran = true; }).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    let timeout = Duration::from_millis(100);
    let start = Instant::now();
    let err = ipc::critical!(Busy, timeout = timeout => { ran = true; }).unwrap_err();
    assert!(start.elapsed() >= timeout);
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert_eq!(
        Busy::try_critical(|| ()).unwrap_err().kind(),
        ErrorKind::Busy
    );
    assert_eq!(
        Busy::critical_timeout(Duration::from_millis(10), || ())
            .unwrap_err()
            .kind(),
        ErrorKind::Busy
    );
    assert!(!ran);
    drop(guard);
    assert_eq!(ipc::critical!(try Busy => { 1 }).unwrap(), 1);
    assert_eq!(
        ipc::critical!(Busy, timeout = Duration::from_secs(5) => { 2 }).unwrap(),
        2
    );
    assert_eq!(
        Busy::critical_timeout(Duration::from_secs(5), || 3).unwrap(),
        3
    );
}

#[ipc::named_semaphore(name = "/ipc-test.dsl.threads")]
struct Threads;

/// Threads sharing the static handle exclude each other.
#[test]
fn threads_exclude_each_other() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let _cleanup = unlink_on_drop::<Threads>();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                for i in 0..1000 {
                    ipc::critical!(Threads => {
                        let v = COUNTER.load(Ordering::Relaxed);
                        if i % 50 == 0 {
                            std::thread::yield_now();
                        }
                        COUNTER.store(v + 1, Ordering::Relaxed);
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(COUNTER.load(Ordering::Relaxed), 4000);
}
