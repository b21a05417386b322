//! A 2018-edition caller of `#[ipc::named_semaphore]` and `ipc::critical!`.
#![deny(warnings)]

use std::time::Duration;

/// A lock declared from a 2018-edition crate.
#[ipc::named_semaphore(name = "/ipc-ui.edition2018", initial = 1, mode = 0o600)]
pub struct Lock2018;

/// Runs all three forms of `critical!` and returns their sum.
///
/// # Errors
///
/// If the semaphore cannot be opened or taken.
pub fn all_forms() -> ipc::Result<i32> {
    let a = ipc::critical!(Lock2018 => { 1 })?;
    let b = ipc::critical!(try Lock2018 => { 2 })?;
    let c = ipc::critical!(Lock2018, timeout = Duration::from_secs(1) => { 3 })?;
    Ok(a + b + c)
}

/// A crash-safe lock with data, declared from a 2018-edition crate.
#[ipc::named_mutex(name = "/ipc-ui.edition2018-mutex")]
#[derive(ipc::ShmSafe)]
#[repr(C)]
pub struct State2018 {
    /// Updated under the lock.
    pub jobs: u64,
}

/// Counters declared from a 2018-edition crate.
#[ipc::named_shared_memory(name = "/ipc-ui.edition2018-stats")]
#[derive(ipc::ShmSafe)]
#[repr(C)]
pub struct Stats2018 {
    /// Updated with atomics.
    pub hits: std::sync::atomic::AtomicU64,
}

/// Locks `State2018` in every form and counts in `Stats2018`; returns the jobs.
///
/// # Errors
///
/// If an object cannot be opened or the lock taken.
pub fn typed_forms() -> ipc::Result<u64> {
    ipc::critical!(State2018 as s => { s.jobs += 1 })?;
    ipc::critical!(try State2018 as s => { s.jobs += 1 })?;
    ipc::critical!(State2018, timeout = Duration::from_secs(1) => {})?;
    Stats2018::shared()?
        .hits
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let jobs = State2018::lock()?.jobs;
    State2018::unlink()?;
    Stats2018::unlink()?;
    Ok(jobs)
}
