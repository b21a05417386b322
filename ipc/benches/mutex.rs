//! Contended critical sections across 2, 4 and 8 processes: a raw robust
//! pthread mutex, `ipc::Mutex<u64>`, the same with a spin-then-block lock
//! (the semaphore's opt-in spin idea, applied through `try_lock`), and a
//! named semaphore. Medians of interleaved repetitions; ratios to raw.
//!
//! `cargo bench --bench mutex` (`IPC_BENCH_QUICK=1` for a fifth of the work).
//! The binary runs itself again in a child role (`IPC_BENCH_ROLE`).

// Nanoseconds and counts become f64 for the table.
#![allow(clippy::cast_precision_loss)]

mod raw;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ipc::{ErrorKind, Mutex, Semaphore};
use raw::RawNamedMutex;

const VARIANTS: [&str; 4] = ["raw-pthread", "mutex", "mutex-spin", "semaphore"];

/// CLOCK_MONOTONIC in ns: one clock for every process.
fn now_ns() -> u128 {
    raw::monotonic_ns()
}

/// Spin-then-block: poll `try_lock` for at most `budget` (yielding every
/// ~0.5 µs so a peer on the same CPU can run), then block.
fn spin_lock(m: &Mutex<u64>, budget: Duration) -> ipc::MutexGuard<'_, u64> {
    let start = Instant::now();
    let mut last_yield = start;
    loop {
        match m.try_lock() {
            Ok(g) => return g,
            Err(e) if e.kind() == ErrorKind::Busy => {}
            Err(e) => panic!("{e}"),
        }
        let now = Instant::now();
        if now - start >= budget {
            return m.lock().unwrap();
        }
        if now - last_yield >= Duration::from_nanos(500) {
            std::thread::yield_now();
            last_yield = now;
        }
        std::hint::spin_loop();
    }
}

fn child(variant: &str, name: &str, start: &str, k: usize) {
    let start = Semaphore::open(start).unwrap();
    match variant {
        "raw-pthread" => {
            let m = RawNamedMutex::open(name);
            start.acquire().unwrap();
            let t = now_ns();
            for _ in 0..k {
                m.section();
            }
            println!("{t} {}", now_ns());
        }
        "mutex" | "mutex-spin" => {
            let m = Mutex::<u64>::open(name).unwrap();
            start.acquire().unwrap();
            let t = now_ns();
            for _ in 0..k {
                let mut g = if variant == "mutex" {
                    m.lock().unwrap()
                } else {
                    spin_lock(&m, Duration::from_micros(20))
                };
                *g += 1;
            }
            println!("{t} {}", now_ns());
        }
        _ => {
            let s = Semaphore::open(name).unwrap();
            let counter =
                ipc::Shared::<std::sync::atomic::AtomicU64>::open(&format!("{name}.n")).unwrap();
            start.acquire().unwrap();
            let t = now_ns();
            for _ in 0..k {
                let _g = s.lock().unwrap();
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            println!("{t} {}", now_ns());
        }
    }
}

/// Unlinks what a run made, also when it panics.
struct Cleanup(String, String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = ipc::unlink_shared_memory(&self.0);
        let _ = ipc::unlink_shared_memory(&format!("{}.n", self.0));
        let _ = ipc::unlink_semaphore(&self.0);
        let _ = ipc::unlink_semaphore(&self.1);
    }
}

/// One run: `processes` children, `k` sections each; ns per section (from
/// the first child's start to the last one's end, over all sections) and
/// the final count.
fn run(variant: &str, processes: usize, k: usize) -> (f64, u64) {
    let pid = std::process::id();
    let name = format!("/ipc-bench.mutex.{pid}.{variant}");
    let start = Semaphore::options()
        .create_unique("/ipc-bench.mstart")
        .unwrap();
    let _cleanup = Cleanup(name.clone(), start.name().to_owned());
    let mut count: Box<dyn FnMut() -> u64> = match variant {
        "raw-pthread" => {
            let m = RawNamedMutex::create(&name);
            Box::new(move || m.count())
        }
        "mutex" | "mutex-spin" => {
            let m = Mutex::<u64>::create_new(&name).unwrap();
            Box::new(move || *m.lock().unwrap())
        }
        _ => {
            let _ = Semaphore::create_new(&name, 1).unwrap();
            let n = ipc::Shared::<std::sync::atomic::AtomicU64>::create_new(&format!("{name}.n"))
                .unwrap();
            Box::new(move || n.load(std::sync::atomic::Ordering::Relaxed))
        }
    };
    let children: Vec<Child> = (0..processes)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .env("IPC_BENCH_ROLE", "child")
                .args([variant, &name, start.name(), &k.to_string()])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(30));
    for _ in 0..processes {
        start.release().unwrap();
    }
    let spans: Vec<(u128, u128)> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success());
            let text = String::from_utf8(out.stdout).unwrap();
            let (a, b) = text.trim().split_once(' ').unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect();
    let first = spans.iter().map(|s| s.0).min().unwrap();
    let last = spans.iter().map(|s| s.1).max().unwrap();
    let longest = last - first;
    let n = count();
    drop(count);
    (longest as f64 / (processes * k) as f64, n)
}

fn main() {
    if std::env::var("IPC_BENCH_ROLE").is_ok() {
        let a: Vec<String> = std::env::args().skip(1).collect();
        child(&a[0], &a[1], &a[2], a[3].parse().unwrap());
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test` runs benches only to check they build.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let quick = std::env::var_os("IPC_BENCH_QUICK").is_some();
    let k = if quick { 10_000 } else { 50_000 };
    let reps = if quick { 3 } else { 5 };
    println!(
        "contended sections, {k} per process, median of {reps} interleaved runs (ns per section)"
    );
    println!(
        "{:<12} {:>12} {:>12} {:>12} {:>12}   {:>9} {:>11} {:>10}",
        "processes",
        "raw pthread",
        "Mutex",
        "Mutex+spin",
        "semaphore",
        "Mutex/raw",
        "spin/Mutex",
        "sem/Mutex"
    );
    for processes in [2, 4, 8] {
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); VARIANTS.len()];
        for _ in 0..reps {
            for (i, v) in VARIANTS.iter().enumerate() {
                let (ns, n) = run(v, processes, k);
                assert_eq!(n, (processes * k) as u64, "{v}: a section was lost");
                times[i].push(ns);
            }
        }
        let med: Vec<f64> = times
            .into_iter()
            .map(|mut v| {
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            })
            .collect();
        println!(
            "{processes:<12} {:>12.1} {:>12.1} {:>12.1} {:>12.1}   {:>9.3} {:>11.3} {:>10.3}",
            med[0],
            med[1],
            med[2],
            med[3],
            med[1] / med[0],
            med[2] / med[1],
            med[3] / med[1]
        );
    }
}
