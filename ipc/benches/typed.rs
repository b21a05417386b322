//! Typed shared state and the crash-safe mutex, each beside its raw
//! baseline, measured in interleaved A/B blocks (31 rounds) so both see the
//! same machine; prints ours/raw per row. Criterion measures the same pairs.
//!
//! `cargo bench --bench typed`

mod raw;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::Criterion;
use ipc::{Mutex, Semaphore, Shared, SharedMemory};
use raw::{RawNamedMutex, RawRobustMutex, RawShmWord};

#[derive(ipc::ShmSafe)]
#[repr(C)]
struct Stats {
    hits: AtomicU64,
    last: u64,
}

// One straight script of setups and rows: long, but flat.
#[allow(clippy::too_many_lines)]
fn main() {
    let pid = std::process::id();
    let shared_name = format!("/ipc-bench.shared.{pid}");
    let shared = Shared::<Stats>::create_new(&shared_name).unwrap();
    shared.unlink().unwrap();
    let raw_word = RawShmWord::create(&format!("/ipc-bench.raw.{pid}"), 4096);
    let shm = SharedMemory::options()
        .size(4096)
        .create_unique("/ipc-bench.bytes")
        .unwrap();
    shm.unlink().unwrap();
    let mapping = shm.map().unwrap();
    let mutex_name = format!("/ipc-bench.mutex.{pid}");
    let mutex = Mutex::<u64>::create_new(&mutex_name).unwrap();
    mutex.unlink().unwrap();
    let raw_mutex = RawRobustMutex::new();
    let raw_named_name = format!("/ipc-bench.rawmutex.{pid}");
    let raw_named = RawNamedMutex::create(&raw_named_name);
    ipc::unlink_shared_memory(&raw_named_name).unwrap();
    let sem = Semaphore::options()
        .initial_value(1)
        .create_unique("/ipc-bench.typed-sem")
        .unwrap();
    sem.unlink().unwrap();

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    let mut g = c.benchmark_group("typed");
    g.bench_function("raw mmap fetch_add", |b| {
        b.iter(|| raw_word.word().fetch_add(1, Ordering::Relaxed));
    });
    g.bench_function("Shared fetch_add", |b| {
        b.iter(|| shared.hits.fetch_add(1, Ordering::Relaxed));
    });
    g.bench_function("raw robust mutex lock+unlock", |b| {
        b.iter(|| raw_mutex.lock_unlock());
    });
    g.bench_function("Mutex lock+unlock", |b| {
        b.iter(|| drop(mutex.lock().unwrap()));
    });
    g.finish();

    let mut rows: Vec<(&str, &str, f64, f64)> = Vec::new();
    let mut ab = |name, base, a: &mut dyn FnMut(), b: &mut dyn FnMut()| {
        let (ta, tb) = raw::alternate(31, 200_000, a, b);
        rows.push((name, base, ta, tb));
    };
    ab(
        "atomic increment via Shared<T>",
        "raw mmap pointer",
        &mut || {
            black_box(raw_word.word().fetch_add(1, Ordering::Relaxed));
        },
        &mut || {
            black_box(shared.hits.fetch_add(1, Ordering::Relaxed));
        },
    );
    ab(
        "typed read of 8 bytes (Shared)",
        "Mapping::read_at",
        &mut || {
            let mut buf = [0u8; 8];
            mapping.read_at(8, &mut buf).unwrap();
            black_box(buf);
        },
        &mut || {
            black_box(black_box(&*shared).last);
        },
    );
    ab(
        "Mutex<u64> lock+add+unlock",
        "raw lock+unlock, anon mmap",
        &mut || raw_mutex.lock_unlock(),
        &mut || {
            let mut g = mutex.lock().unwrap();
            *g += 1;
        },
    );
    ab(
        "Mutex<u64> lock+add+unlock",
        "raw robust mutex in shm",
        &mut || raw_named.section(),
        &mut || {
            let mut g = mutex.lock().unwrap();
            *g += 1;
        },
    );
    ab(
        "Mutex<u64> lock+add+unlock",
        "Semaphore acquire+release",
        &mut || {
            sem.acquire().unwrap();
            sem.release().unwrap();
        },
        &mut || {
            let mut g = mutex.lock().unwrap();
            *g += 1;
        },
    );
    println!(
        "\n{:<32} {:<28} {:>11} {:>11} {:>9}",
        "ours", "baseline", "base (ns)", "ours (ns)", "ours/base"
    );
    for (name, base, tb, to) in rows {
        println!(
            "{name:<32} {base:<28} {tb:>11.2} {to:>11.2} {:>9.3}",
            to / tb
        );
    }
}
