//! Only what the expansions of `#[named_semaphore]` need. Not public API.

use std::sync::{Mutex, OnceLock, PoisonError};

use crate::name::{Kind, check};
use crate::{Result, Semaphore};

/// The process-wide handle of a `#[named_semaphore]`: opened with `O_CREAT`
/// on first use, then one atomic load per access. A failed open is not
/// cached: the next call tries again.
#[derive(Debug)]
pub struct StaticSemaphore {
    name: &'static str,
    initial: u32,
    mode: u32,
    cell: OnceLock<Semaphore>,
    opening: Mutex<()>,
}

impl StaticSemaphore {
    /// A handle not opened yet.
    #[must_use]
    pub const fn new(name: &'static str, initial: u32, mode: u32) -> Self {
        StaticSemaphore {
            name,
            initial,
            mode,
            cell: OnceLock::new(),
            opening: Mutex::new(()),
        }
    }

    /// The handle, opening it on first use.
    ///
    /// # Errors
    ///
    /// As [`crate::SemaphoreOptions::open`].
    #[inline]
    pub fn get(&'static self) -> Result<&'static Semaphore> {
        match self.cell.get() {
            Some(sem) => Ok(sem),
            None => self.open(),
        }
    }

    #[cold]
    fn open(&'static self) -> Result<&'static Semaphore> {
        // One opener at a time, so a race opens the semaphore once.
        let _opening = self.opening.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sem) = self.cell.get() {
            return Ok(sem);
        }
        let sem = Semaphore::options()
            .create(true)
            .initial_value(self.initial)
            .mode(self.mode)
            .open(self.name)?;
        Ok(self.cell.get_or_init(|| sem))
    }
}

/// [`check`] for semaphores, as a `bool` for a `const` assertion.
#[must_use]
pub const fn is_semaphore_name(name: &str) -> bool {
    check(name, Kind::Semaphore).is_ok()
}
