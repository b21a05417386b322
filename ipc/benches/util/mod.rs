//! Helpers the cross-process benches share (and `bench-iceoryx2`, by path):
//! scaling, pinning, CPU accounting.
#![allow(unsafe_code, dead_code, unreachable_pub)]

use std::time::Duration;

/// `n`, or a tenth of it (at least 100) when `IPC_BENCH_QUICK` is set.
pub fn scale(n: usize) -> usize {
    if std::env::var_os("IPC_BENCH_QUICK").is_some() {
        (n / 10).max(100)
    } else {
        n
    }
}

/// Pins the calling process to `cpu`.
pub fn pin(cpu: usize) {
    // SAFETY: `set` is a zeroed cpu_set_t, filled by CPU_SET; the call only
    // reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &raw const set);
    }
}

/// User + system CPU time of this process and its reaped children.
pub fn cpu_time() -> Duration {
    let get = |who| {
        // SAFETY: `ru` is a zeroed rusage that getrusage fills.
        let ru = unsafe {
            let mut ru: libc::rusage = std::mem::zeroed();
            libc::getrusage(who, &raw mut ru);
            ru
        };
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        tv(ru.ru_utime) + tv(ru.ru_stime)
    };
    get(libc::RUSAGE_SELF) + get(libc::RUSAGE_CHILDREN)
}
