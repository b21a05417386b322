//! Single-process operations of `ipc`, each measured beside its raw-libc
//! equivalent in the same criterion group; the summary at the end prints
//! ours/raw for every pair (medians).
//!
//! `cargo bench --bench ops`

mod raw;

use std::ffi::CString;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};
use ipc::{MessageQueue, Semaphore, SharedMemory};
use raw::{RawMq, RawSem};

#[ipc::named_semaphore(name = "/ipc-bench.critical", initial = 1)]
struct BenchLock;

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g
}

fn semaphores(c: &mut Criterion) {
    let sem = Semaphore::options()
        .initial_value(1)
        .create_unique("/ipc-bench.sem")
        .unwrap();
    let raw = RawSem::open(sem.name());

    let mut g = group(c, "acquire+release");
    g.bench_function("raw", |b| {
        b.iter(|| {
            raw.wait();
            raw.post();
        });
    });
    g.bench_function("ipc", |b| {
        b.iter(|| {
            sem.acquire().unwrap();
            sem.release().unwrap();
        });
    });
    g.finish();

    let mut g = group(c, "lock guard");
    g.bench_function("raw", |b| {
        b.iter(|| {
            raw.wait();
            raw.post();
        });
    });
    g.bench_function("ipc", |b| b.iter(|| drop(sem.lock().unwrap())));
    g.finish();

    let mut g = group(c, "critical!");
    BenchLock::semaphore().unwrap();
    let critical_raw = RawSem::open(BenchLock::NAME);
    g.bench_function("raw", |b| {
        b.iter(|| {
            critical_raw.wait();
            black_box(1);
            critical_raw.post();
        });
    });
    g.bench_function("ipc", |b| {
        b.iter(|| ipc::critical!(BenchLock => { black_box(1) }).unwrap());
    });
    g.finish();
    drop(critical_raw);
    BenchLock::unlink().unwrap();

    sem.acquire().unwrap(); // value 0 from here: every try fails
    let mut g = group(c, "failing try_acquire");
    g.bench_function("raw", |b| b.iter(|| black_box(raw.try_wait())));
    g.bench_function("ipc", |b| b.iter(|| black_box(sem.try_acquire().is_err())));
    g.finish();

    let mut g = group(c, "value");
    g.bench_function("raw", |b| b.iter(|| black_box(raw.value())));
    g.bench_function("ipc", |b| b.iter(|| black_box(sem.value().unwrap())));
    g.finish();
    sem.unlink().unwrap();
}

fn queues(c: &mut Criterion) {
    for size in [64usize, 4096] {
        let mq = MessageQueue::options()
            .max_messages(4)
            .max_message_size(size)
            .create_unique("/ipc-bench.mq")
            .unwrap();
        let raw = RawMq::open(mq.name());
        let msg = vec![7u8; size];
        let mut buf = vec![0u8; size];

        let mut g = group(c, &format!("mq send+receive_into {size} B"));
        g.bench_function("raw", |b| {
            b.iter(|| {
                raw.send(&msg);
                black_box(raw.receive(&mut buf));
            });
        });
        g.bench_function("ipc", |b| {
            b.iter(|| {
                mq.send(&msg, 0).unwrap();
                black_box(mq.receive_into(&mut buf).unwrap());
            });
        });
        g.finish();

        let mut g = group(c, &format!("mq send+receive {size} B"));
        g.bench_function("raw", |b| {
            b.iter(|| {
                raw.send(&msg);
                black_box(raw.receive_vec(size))
            });
        });
        g.bench_function("ipc", |b| {
            b.iter(|| {
                mq.send(&msg, 0).unwrap();
                black_box(mq.receive().unwrap())
            });
        });
        g.finish();
        mq.unlink().unwrap();
    }
}

fn shared_memory(c: &mut Criterion) {
    let name = format!("/ipc-bench.shm.{}", std::process::id());
    let cname = CString::new(name.clone()).unwrap();
    let mut g = group(c, "shm create+map+unlink");
    g.bench_function("raw", |b| b.iter(|| raw::shm_cycle(&cname)));
    g.bench_function("ipc", |b| {
        b.iter(|| {
            let shm = SharedMemory::create_new(&name, 4096).unwrap();
            let map = shm.map().unwrap();
            shm.unlink().unwrap();
            black_box(map.len())
        });
    });
    g.finish();
}
/// Prints ours/raw for every group, from criterion's saved medians.
fn summary() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("criterion");
    let median = |group: &str, func: &str| -> Option<f64> {
        let path = dir.join(group).join(func).join("new/estimates.json");
        let text = std::fs::read_to_string(path).ok()?;
        let at = text.find("\"median\"")?;
        let rest = &text[at..];
        let at = rest.find("\"point_estimate\":")? + "\"point_estimate\":".len();
        let end = rest[at..].find([',', '}'])?;
        rest[at..at + end].trim().parse().ok()
    };
    let groups = [
        "acquire+release",
        "lock guard",
        "critical!",
        "failing try_acquire",
        "value",
        "mq send+receive_into 64 B",
        "mq send+receive_into 4096 B",
        "mq send+receive 64 B",
        "mq send+receive 4096 B",
        "shm create+map+unlink",
    ];
    println!(
        "\n{:<30} {:>12} {:>12} {:>10}",
        "operation", "raw (ns)", "ipc (ns)", "ipc/raw"
    );
    for g in groups {
        if let (Some(raw), Some(ours)) = (median(g, "raw"), median(g, "ipc")) {
            println!("{g:<30} {raw:>12.1} {ours:>12.1} {:>10.3}", ours / raw);
        }
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    semaphores(&mut c);
    queues(&mut c);
    shared_memory(&mut c);
    c.final_summary();
    summary();
}
