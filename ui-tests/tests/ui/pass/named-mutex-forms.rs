#![deny(warnings)]
#![warn(clippy::pedantic)]
use std::time::Duration;

/// A lock without data.
#[ipc::named_mutex(name = "/ipc-ui.mutex-unit", mode = 0o600)]
pub struct Lock;

/// The data a lock protects.
#[ipc::named_mutex(name = "/ipc-ui.mutex-state")]
#[derive(ipc::ShmSafe)]
#[repr(C)]
pub struct AppState {
    pub jobs: u64,
    pub last_pid: u32,
}

fn main() -> ipc::Result<()> {
    assert_eq!(Lock::NAME, "/ipc-ui.mutex-unit");
    assert_eq!(Lock::MODE, 0o600);
    let a = ipc::critical!(Lock => { 1 })?;
    let b = ipc::critical!(try Lock => { 2 })?;
    let c = ipc::critical!(Lock, timeout = Duration::from_secs(1) => { 3 })?;
    assert_eq!(a + b + c, 6);
    {
        let guard = Lock::lock()?;
        assert!(!guard.recovered());
        assert!(Lock::try_lock().is_err());
    }
    drop(Lock::lock_timeout(Duration::from_millis(10))?);

    let jobs = ipc::critical!(AppState as state => {
        state.jobs += 1;
        state.last_pid = std::process::id();
        state.jobs
    })?;
    assert_eq!(jobs, 1);
    ipc::critical!(try AppState as state => { state.jobs += 1 })?;
    ipc::critical!(AppState as state, timeout = Duration::from_secs(1) => {
        assert!(!state.recovered());
        state.jobs += 1;
    })?;
    assert_eq!(AppState::lock()?.jobs, 3);
    assert_eq!(AppState::mutex()?.name(), AppState::NAME);
    Lock::unlink()?;
    AppState::unlink()
}
