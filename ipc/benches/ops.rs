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

/// Interleaved A/B medians (raw, ipc) in ns per iteration, by group name.
type Interleaved = Vec<(String, f64, f64)>;

/// Times `raw` and `ipc` in alternating blocks, 31 rounds, and records the
/// median of each: both see the same machine, so their ratio is steadier
/// than that of two criterion runs made one after the other.
fn ab(out: &mut Interleaved, name: &str, raw: &mut dyn FnMut(), ipc: &mut dyn FnMut()) {
    let (raw_ns, ipc_ns) = raw::alternate(31, 20_000, raw, ipc);
    out.push((name.to_owned(), raw_ns, ipc_ns));
}

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g
}

// One group after another, each with its A/B check: long, but flat.
#[allow(clippy::too_many_lines)]
fn semaphores(c: &mut Criterion, out: &mut Interleaved) {
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
    ab(
        out,
        "acquire+release",
        &mut || {
            raw.wait();
            raw.post();
        },
        &mut || {
            sem.acquire().unwrap();
            sem.release().unwrap();
        },
    );

    let mut g = group(c, "lock guard");
    g.bench_function("raw", |b| {
        b.iter(|| {
            raw.wait();
            raw.post();
        });
    });
    g.bench_function("ipc", |b| b.iter(|| drop(sem.lock().unwrap())));
    g.finish();
    ab(
        out,
        "lock guard",
        &mut || {
            raw.wait();
            raw.post();
        },
        &mut || drop(sem.lock().unwrap()),
    );

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
    ab(
        out,
        "critical!",
        &mut || {
            critical_raw.wait();
            black_box(1);
            critical_raw.post();
        },
        &mut || {
            ipc::critical!(BenchLock => { black_box(1) }).unwrap();
        },
    );
    drop(critical_raw);
    BenchLock::unlink().unwrap();

    sem.acquire().unwrap(); // value 0 from here: every try fails
    let mut g = group(c, "failing try_acquire");
    g.bench_function("raw", |b| b.iter(|| black_box(raw.try_wait())));
    g.bench_function("ipc", |b| b.iter(|| black_box(sem.try_acquire().is_err())));
    g.finish();
    ab(
        out,
        "failing try_acquire",
        &mut || {
            black_box(raw.try_wait());
        },
        &mut || {
            black_box(sem.try_acquire().is_err());
        },
    );
    // Beside the bare call, which leaves errno unread (and so cannot tell
    // "taken" from an error), and beside a correct C poll, which reads it.
    let mut g = group(c, "failing acquire_nowait");
    g.bench_function("raw", |b| b.iter(|| black_box(raw.try_wait())));
    g.bench_function("ipc", |b| {
        b.iter(|| black_box(sem.acquire_nowait().unwrap()));
    });
    g.finish();
    ab(
        out,
        "failing acquire_nowait",
        &mut || {
            black_box(raw.try_wait());
        },
        &mut || {
            black_box(sem.acquire_nowait().unwrap());
        },
    );
    let mut g = group(c, "failing acquire_nowait (C poll)");
    g.bench_function("raw", |b| b.iter(|| black_box(raw.poll().unwrap())));
    g.bench_function("ipc", |b| {
        b.iter(|| black_box(sem.acquire_nowait().unwrap()));
    });
    g.finish();
    ab(
        out,
        "failing acquire_nowait (C poll)",
        &mut || {
            black_box(raw.poll().unwrap());
        },
        &mut || {
            black_box(sem.acquire_nowait().unwrap());
        },
    );

    let mut g = group(c, "value");
    g.bench_function("raw", |b| b.iter(|| black_box(raw.value())));
    g.bench_function("ipc", |b| b.iter(|| black_box(sem.value().unwrap())));
    g.finish();
    ab(
        out,
        "value",
        &mut || {
            black_box(raw.value());
        },
        &mut || {
            black_box(sem.value().unwrap());
        },
    );
    sem.unlink().unwrap();
}

fn queues(c: &mut Criterion, out: &mut Interleaved) {
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
        let mut buf2 = buf.clone();
        ab(
            out,
            &format!("mq send+receive_into {size} B"),
            &mut || {
                raw.send(&msg);
                black_box(raw.receive(&mut buf));
            },
            &mut || {
                mq.send(&msg, 0).unwrap();
                black_box(mq.receive_into(&mut buf2).unwrap());
            },
        );

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
        ab(
            out,
            &format!("mq send+receive {size} B"),
            &mut || {
                raw.send(&msg);
                black_box(raw.receive_vec(size));
            },
            &mut || {
                mq.send(&msg, 0).unwrap();
                black_box(mq.receive().unwrap());
            },
        );
        mq.unlink().unwrap();
    }
}

fn shared_memory(c: &mut Criterion, out: &mut Interleaved) {
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

    // Opening an existing object, as every reader does, and closing it.
    let shm = SharedMemory::create_new(&name, 4096).unwrap();
    let label = "shm open+close";
    let mut g = group(c, label);
    g.bench_function("raw", |b| b.iter(|| raw::shm_open_close(&cname)));
    g.bench_function("ipc", |b| {
        b.iter(|| drop(black_box(SharedMemory::open(&name).unwrap())));
    });
    g.finish();
    ab(out, label, &mut || raw::shm_open_close(&cname), &mut || {
        drop(black_box(SharedMemory::open(&name).unwrap()));
    });
    shm.unlink().unwrap();
    drop(shm);

    // read_at/write_at (relaxed atomic words, plus the live-size check)
    // beside a plain copy_nonoverlapping into the same mapping.
    let shm = SharedMemory::create_new(&name, 4096).unwrap();
    let map = shm.map().unwrap();
    for size in [64usize, 4096] {
        let data = vec![7u8; size];
        let mut buf = vec![0u8; size];
        let mut buf2 = buf.clone();
        let label = format!("shm write_at+read_at {size} B");
        let mut g = group(c, &label);
        g.bench_function("raw", |b| {
            b.iter(|| {
                raw::copy_to(map.as_mut_ptr(), black_box(&data));
                raw::copy_from(map.as_ptr(), black_box(&mut buf));
            });
        });
        g.bench_function("ipc", |b| {
            b.iter(|| {
                map.write_at(0, black_box(&data)).unwrap();
                map.read_at(0, black_box(&mut buf2)).unwrap();
            });
        });
        g.finish();
        ab(
            out,
            &label,
            &mut || {
                raw::copy_to(map.as_mut_ptr(), black_box(&data));
                raw::copy_from(map.as_ptr(), black_box(&mut buf));
            },
            &mut || {
                map.write_at(0, black_box(&data)).unwrap();
                map.read_at(0, black_box(&mut buf2)).unwrap();
            },
        );
    }
    drop(map);
    shm.unlink().unwrap();
}
/// Prints ours/raw for every group, from criterion's saved medians, and
/// the interleaved A/B medians.
fn summary(interleaved: &Interleaved) {
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
        "failing acquire_nowait",
        "failing acquire_nowait (C poll)",
        "value",
        "mq send+receive_into 64 B",
        "mq send+receive_into 4096 B",
        "mq send+receive 64 B",
        "mq send+receive 4096 B",
        "shm create+map+unlink",
        "shm open+close",
        "shm write_at+read_at 64 B",
        "shm write_at+read_at 4096 B",
    ];
    println!(
        "\n{:<30} {:>12} {:>12} {:>9}   {:>12} {:>12} {:>9}",
        "", "criterion", "medians", "", "interleaved", "A/B medians", ""
    );
    println!(
        "{:<30} {:>12} {:>12} {:>9}   {:>12} {:>12} {:>9}",
        "operation", "raw (ns)", "ipc (ns)", "ipc/raw", "raw (ns)", "ipc (ns)", "ipc/raw"
    );
    let dash = || format!("{:>12} {:>12} {:>9}", "-", "-", "-");
    for g in groups {
        let criterion = match (median(g, "raw"), median(g, "ipc")) {
            (Some(raw), Some(ours)) => format!("{raw:>12.1} {ours:>12.1} {:>9.3}", ours / raw),
            _ => dash(),
        };
        let ab = interleaved
            .iter()
            .find(|(n, ..)| n == g)
            .map_or_else(dash, |(_, raw, ours)| {
                format!("{raw:>12.1} {ours:>12.1} {:>9.3}", ours / raw)
            });
        println!("{g:<30} {criterion}   {ab}");
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let mut interleaved = Interleaved::new();
    semaphores(&mut c, &mut interleaved);
    queues(&mut c, &mut interleaved);
    shared_memory(&mut c, &mut interleaved);
    c.final_summary();
    summary(&interleaved);
}
