//! Absolute deadlines and the one place that retries on `EINTR`.
//!
//! A timeout becomes an absolute deadline on CLOCK_MONOTONIC once, when the
//! call starts; every retry after a signal waits for what is left of it, so
//! a signal neither cuts a wait short nor stretches it. Calls that only take
//! CLOCK_REALTIME (`mq_timedsend`, `mq_timedreceive`, `sem_timedwait` off
//! glibc) get the monotonic deadline translated at each attempt; a timeout
//! they report before the monotonic deadline has passed (the wall clock
//! jumped forward) is retried too.

// `time_t` and `c_long` are `i64` on this target but `i32` on 32-bit ones:
// the `i64::from` conversions are only useless here.
#![allow(clippy::useless_conversion)]

use std::time::Duration;

use crate::sys::{self, Clock, Errno};

const NANOS: i64 = 1_000_000_000;

/// An absolute point on CLOCK_MONOTONIC.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: libc::timespec,
}

impl Deadline {
    /// `now + timeout`, or `None` when that is beyond what a `timespec` can
    /// hold (hundreds of billions of years): such a timeout never expires.
    pub(crate) fn after(timeout: Duration) -> Option<Deadline> {
        add(sys::now(Clock::Monotonic), timeout).map(|at| Deadline { at })
    }

    /// A deadline that has already passed: a wait that only tries.
    pub(crate) fn expired_now() -> Deadline {
        Deadline {
            at: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
        }
    }

    /// Whether the deadline has passed.
    pub(crate) fn expired(&self) -> bool {
        self.remaining().is_zero()
    }

    /// The time left, zero once expired.
    pub(crate) fn remaining(&self) -> Duration {
        let now = sys::now(Clock::Monotonic);
        let mut sec = i64::from(self.at.tv_sec) - i64::from(now.tv_sec);
        let mut nsec = i64::from(self.at.tv_nsec) - i64::from(now.tv_nsec);
        if nsec < 0 {
            nsec += NANOS;
            sec -= 1;
        }
        if sec < 0 {
            return Duration::ZERO;
        }
        Duration::new(sec as u64, nsec as u32)
    }

    /// The deadline as an absolute time on `clock`.
    pub(crate) fn on(&self, clock: Clock) -> libc::timespec {
        match clock {
            Clock::Monotonic => self.at,
            // If the sum overflows, the wall clock is near the end of time_t:
            // saturate rather than wrap into the past.
            Clock::Realtime => {
                // musl's libc::time_t alias is deprecated (it is to become
                // 64-bit); it is used here only as the type of tv_sec.
                #[allow(deprecated)]
                let max = libc::time_t::MAX;
                add(sys::now(Clock::Realtime), self.remaining()).unwrap_or(libc::timespec {
                    tv_sec: max,
                    tv_nsec: 0,
                })
            }
        }
    }
}

/// `ts + d`, or `None` on overflow of `time_t`.
fn add(ts: libc::timespec, d: Duration) -> Option<libc::timespec> {
    // As in `on`: musl deprecates the alias, not the type.
    #[allow(deprecated)]
    let secs = libc::time_t::try_from(d.as_secs()).ok()?;
    let mut tv_sec = ts.tv_sec.checked_add(secs)?;
    let mut nanos = i64::from(ts.tv_nsec) + i64::from(d.subsec_nanos());
    if nanos >= NANOS {
        nanos -= NANOS;
        tv_sec = tv_sec.checked_add(1)?;
    }
    Some(libc::timespec {
        tv_sec,
        tv_nsec: nanos as _,
    })
}

/// Calls `f` again as long as it fails with `EINTR`.
#[inline]
pub(crate) fn retry<T>(mut f: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    loop {
        match f() {
            Err(libc::EINTR) => {}
            result => return result,
        }
    }
}

/// Calls `f` with the deadline expressed on `clock` until it succeeds, fails
/// with something other than `EINTR`, or reports `ETIMEDOUT` after the
/// deadline has really passed.
pub(crate) fn retry_until<T>(
    deadline: &Deadline,
    clock: Clock,
    mut f: impl FnMut(&libc::timespec) -> Result<T, Errno>,
) -> Result<T, Errno> {
    loop {
        match f(&deadline.on(clock)) {
            Err(libc::EINTR) => {}
            Err(libc::ETIMEDOUT) if clock == Clock::Realtime && !deadline.expired() => {}
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_carries_nanoseconds() {
        let ts = libc::timespec {
            tv_sec: 5,
            tv_nsec: 900_000_000,
        };
        let sum = add(ts, Duration::from_millis(250)).unwrap();
        assert_eq!((sum.tv_sec, sum.tv_nsec), (6, 150_000_000));
    }

    #[test]
    fn huge_timeouts_never_expire() {
        assert!(Deadline::after(Duration::MAX).is_none());
        assert!(Deadline::after(Duration::from_secs(u64::MAX / 2)).is_none());
        let far = Deadline::after(Duration::from_secs(1 << 40)).unwrap();
        assert!(!far.expired());
        let wall = far.on(Clock::Realtime);
        assert!(wall.tv_sec > 1 << 40);
    }

    #[test]
    fn remaining_counts_down_to_zero() {
        let d = Deadline::after(Duration::from_millis(20)).unwrap();
        assert!(d.remaining() <= Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(25));
        assert!(d.expired());
        assert_eq!(d.remaining(), Duration::ZERO);
    }

    #[test]
    fn retry_skips_eintr_only() {
        let mut calls = 0;
        let r: Result<u8, Errno> = retry(|| {
            calls += 1;
            if calls < 3 {
                Err(libc::EINTR)
            } else {
                Err(libc::EAGAIN)
            }
        });
        assert_eq!(r, Err(libc::EAGAIN));
        assert_eq!(calls, 3);
    }

    #[test]
    fn realtime_timeout_before_the_deadline_is_retried() {
        let d = Deadline::after(Duration::from_millis(30)).unwrap();
        let mut calls = 0;
        let r: Result<(), Errno> = retry_until(&d, Clock::Realtime, |_| {
            calls += 1;
            Err(libc::ETIMEDOUT)
        });
        assert_eq!(r, Err(libc::ETIMEDOUT));
        assert!(d.expired());
        assert!(calls > 1);
    }
}
