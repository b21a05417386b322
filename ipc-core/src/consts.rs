//! posix_ipc's module constants, for this platform.
//!
//! The compile-time constants are fixed by the platform's headers; the
//! functions read values that an administrator can change at run time.
//! posix_ipc's `O_*` flags have no counterpart: the options builders say the
//! same thing with named methods.
//!
//! ```
//! use ipc::consts;
//!
//! assert!(consts::SEMAPHORE_VALUE_MAX >= 32_767);
//! assert!(consts::page_size().is_power_of_two());
//! assert!(consts::user_signal_min() <= consts::user_signal_max());
//! ```

/// Whether semaphores support timed waits (`acquire_timeout`); false on macOS
/// and iOS, which lack `sem_timedwait` (there `acquire_timeout` with a
/// non-zero timeout is `ErrorKind::Unsupported`).
pub const SEMAPHORE_TIMEOUT_SUPPORTED: bool = !cfg!(target_vendor = "apple");

/// Whether [`crate::Semaphore::value`] works; false on macOS, which lacks
/// `sem_getvalue`.
pub const SEMAPHORE_VALUE_SUPPORTED: bool = !cfg!(target_vendor = "apple");

/// Whether this build has `MessageQueue`: Linux (glibc and musl), where a
/// queue descriptor is a file descriptor that `AsFd` and `poll` can use.
/// macOS has no POSIX message queues at all, Android's C library has none,
/// and the BSDs' are not file descriptors.
pub const MESSAGE_QUEUES_SUPPORTED: bool = cfg!(target_os = "linux");

/// The largest value a semaphore can hold: `SEM_VALUE_MAX`.
pub const SEMAPHORE_VALUE_MAX: u32 = if cfg!(target_vendor = "apple") {
    32_767
} else {
    i32::MAX as u32
};

/// The highest message priority: `sysconf(_SC_MQ_PRIO_MAX) - 1`.
pub const QUEUE_PRIORITY_MAX: u32 = if cfg!(any(target_os = "linux", target_os = "android")) {
    32_767
} else if cfg!(target_os = "netbsd") {
    31
} else {
    63
};

/// The version of this crate.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The size of a memory page: `sysconf(_SC_PAGESIZE)`.
///
/// Mappings are made of whole pages; the length of a shared-memory object
/// need not be a multiple of it.
#[must_use]
pub fn page_size() -> usize {
    crate::sys::sysconf(libc::_SC_PAGESIZE).map_or(4096, |v| v as usize)
}

/// The number of messages a new queue holds when `max_messages` is not set:
/// Linux's `/proc/sys/fs/mqueue/msg_default` (10 unless changed).
#[must_use]
pub fn queue_messages_max_default() -> usize {
    read_proc("/proc/sys/fs/mqueue/msg_default").unwrap_or(10)
}

/// The largest message of a new queue when `max_message_size` is not set:
/// Linux's `/proc/sys/fs/mqueue/msgsize_default` (8192 unless changed).
#[must_use]
pub fn queue_message_size_max_default() -> usize {
    read_proc("/proc/sys/fs/mqueue/msgsize_default").unwrap_or(8192)
}

/// The first signal number free for applications: `SIGRTMIN`.
///
/// Use it (or a number up to [`user_signal_max`]) with
/// `MessageQueue::notify_signal`.
#[must_use]
pub fn user_signal_min() -> i32 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        crate::sys::realtime_signals().0
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        libc::SIGUSR1
    }
}

/// The last signal number free for applications: `SIGRTMAX`.
#[must_use]
pub fn user_signal_max() -> i32 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        crate::sys::realtime_signals().1
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        libc::SIGUSR2
    }
}

fn read_proc(path: &str) -> Option<usize> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_time_values_match_the_system() {
        if let Some(v) = crate::sys::sysconf(libc::_SC_SEM_VALUE_MAX) {
            assert_eq!(i64::from(SEMAPHORE_VALUE_MAX), v);
        }
        if MESSAGE_QUEUES_SUPPORTED {
            if let Some(v) = crate::sys::sysconf(libc::_SC_MQ_PRIO_MAX) {
                assert_eq!(i64::from(QUEUE_PRIORITY_MAX), v - 1);
            }
        }
    }

    #[test]
    fn runtime_values_are_sane() {
        assert_eq!(
            page_size(),
            crate::sys::sysconf(libc::_SC_PAGESIZE).unwrap() as usize
        );
        assert!(queue_messages_max_default() >= 1);
        assert!(queue_message_size_max_default() >= 1);
        assert!(user_signal_min() >= 1);
        assert!(user_signal_min() < user_signal_max());
        if cfg!(target_os = "linux") {
            let read = |p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .trim()
                    .parse::<usize>()
                    .unwrap()
            };
            assert_eq!(
                queue_messages_max_default(),
                read("/proc/sys/fs/mqueue/msg_default")
            );
            assert_eq!(
                queue_message_size_max_default(),
                read("/proc/sys/fs/mqueue/msgsize_default")
            );
        }
        assert_eq!(VERSION, env!("CARGO_PKG_VERSION"));
    }
}
