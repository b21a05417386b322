//! `ipc::inspect`: what it reports for plain, foreign, garbage and typed
//! objects, that it finds a mutex behind padding, and that it changes
//! nothing.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use common::Name;
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
