#![deny(warnings)]
#![warn(clippy::pedantic)]
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters every process of the application shares.
#[ipc::named_shared_memory(name = "/ipc-ui.stats", mode = 0o640)]
#[derive(ipc::ShmSafe)]
#[repr(C)]
pub struct Stats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

mod inner {
    #[ipc::named_shared_memory(name = "/ipc-ui.stats-tuple")]
    #[derive(ipc::ShmSafe)]
    #[repr(C)]
    pub(crate) struct Pair(pub(crate) std::sync::atomic::AtomicU32, pub(crate) u32);
}

fn main() -> ipc::Result<()> {
    assert_eq!(Stats::NAME, "/ipc-ui.stats");
    assert_eq!(Stats::MODE, 0o640);
    let stats: &'static Stats = Stats::shared()?;
    stats.hits.fetch_add(2, Ordering::Relaxed);
    assert_eq!(Stats::shared()?.hits.load(Ordering::Relaxed), 2);
    inner::Pair::shared()?.0.fetch_add(1, Ordering::Relaxed);
    inner::Pair::unlink()?;
    Stats::unlink()
}
