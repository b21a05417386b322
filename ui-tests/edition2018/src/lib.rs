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
