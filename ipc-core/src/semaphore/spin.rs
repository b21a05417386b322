//! Spin-then-block for [`Semaphore::acquire`](super::Semaphore::acquire).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::sys::{self, sem::Sem};

/// Spin-then-block: poll `sem_trywait` for a bounded time before sleeping,
/// yielding every half microsecond, backing off after repeated misses.
pub(super) struct Spin {
    /// The budget in nanoseconds (saturated at `u64::MAX`, about 584
    /// years); 0 = off.
    budget_ns: AtomicU64,
    /// Polls in a row that ran out of budget.
    misses: AtomicU32,
    /// Acquires seen while backing off: every 256th polls anyway.
    skipped: AtomicU32,
}

/// Polls in a row that ran out before polling is suspended.
const SPIN_MISSES: u32 = 4;
/// While suspended, one acquire in this many polls anyway.
const SPIN_PROBE: u32 = 256;
/// How often the poll gives the CPU away.
const SPIN_YIELD: Duration = Duration::from_nanos(500);

impl Spin {
    pub(super) fn new(budget: Duration) -> Spin {
        let spin = Spin {
            budget_ns: AtomicU64::new(0),
            misses: AtomicU32::new(0),
            skipped: AtomicU32::new(0),
        };
        spin.set(budget);
        spin
    }

    pub(super) fn set(&self, budget: Duration) {
        let ns = u64::try_from(budget.as_nanos()).unwrap_or(u64::MAX);
        self.budget_ns.store(ns, Ordering::Relaxed);
        self.misses.store(0, Ordering::Relaxed);
    }

    pub(super) fn budget(&self) -> Duration {
        Duration::from_nanos(self.budget_ns.load(Ordering::Relaxed))
    }

    #[inline]
    pub(super) fn enabled(&self) -> bool {
        self.budget_ns.load(Ordering::Relaxed) != 0
    }

    /// Polls for at most the budget (and at most `limit`); true if it took
    /// a unit.
    #[cold]
    pub(super) fn acquire(&self, sem: &Sem, limit: Option<Duration>) -> bool {
        if sys::online_cpus() < 2 {
            return false;
        }
        if self.misses.load(Ordering::Relaxed) >= SPIN_MISSES
            && self.skipped.fetch_add(1, Ordering::Relaxed) % SPIN_PROBE != 0
        {
            return false;
        }
        let budget = limit.map_or(self.budget(), |l| l.min(self.budget()));
        let start = Instant::now();
        let mut last_yield = start;
        loop {
            match sem.try_wait() {
                Ok(()) => {
                    self.misses.store(0, Ordering::Relaxed);
                    return true;
                }
                Err(libc::EAGAIN | libc::EINTR) => {}
                Err(_) => return false,
            }
            std::hint::spin_loop();
            let now = Instant::now();
            if now.duration_since(start) >= budget {
                self.misses.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            if now.duration_since(last_yield) >= SPIN_YIELD {
                std::thread::yield_now();
                last_yield = now;
            }
        }
    }
}
