//! Processes talking to each other through `ipc`, raw libc, and Python's
//! posix_ipc, measured side by side in one run; prints one table with the
//! ratios and writes an SVG plot.
//!
//! `cargo bench --bench cross_process` (posix_ipc rows need `IPC_TEST_PYTHON`
//! or a `python3` with posix_ipc; `IPC_BENCH_SVG=path` saves the plot there
//! too; `IPC_BENCH_QUICK=1` runs a tenth of the iterations).
//!
//! The binary runs itself again in child roles (`IPC_BENCH_ROLE`).

// CPU pinning, CPU accounting and the volatile counter are unsafe calls;
// each states why it is sound. The raw-libc baselines are in raw/mod.rs.
#![allow(unsafe_code)]
// Timings and counts become f64 for statistics; main is a long script of
// sections on purpose.
#![allow(clippy::cast_precision_loss, clippy::too_many_lines)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ipc::{MessageQueue, Semaphore, SharedMemory};
use raw::{RawMq, RawSem};
use report::{Row, fmt_ns, print_table, svg};
use util::{cpu_time, pin, scale};

#[path = "../raw/mod.rs"]
mod raw;
mod report;
#[path = "../util/mod.rs"]
mod util;

/// Contended critical sections: the lock every counting process shares.
#[ipc::named_semaphore(name = "/ipc-bench.count", initial = 1)]
struct CountLock;

/// Whether a section runs: all, or those named in `IPC_BENCH_ONLY`
/// (comma-separated: single, sem, critical, mq, shm).
fn enabled(section: &str) -> bool {
    std::env::var("IPC_BENCH_ONLY").map_or(true, |only| only.split(',').any(|s| s == section))
}

// ---------------------------------------------------------------- raw libc

/// CLOCK_MONOTONIC in nanoseconds: comparable across processes (and with
/// Python's `time.monotonic_ns()`).
fn monotonic_ns() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

// ---------------------------------------------------------------- children

fn child(role: &str, args: &[String]) {
    let arg = |i: usize| args[i].as_str();
    let num = |i: usize| args[i].parse::<usize>().unwrap();
    if let Some(cpu) = std::env::var("IPC_BENCH_PIN")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        pin(cpu);
    }
    match role {
        "sem-pong" => {
            let n = num(3);
            match arg(0) {
                "raw" => {
                    let (a, b) = (RawSem::open(arg(1)), RawSem::open(arg(2)));
                    for _ in 0..n {
                        a.wait();
                        b.post();
                    }
                }
                variant => {
                    let (a, b) = (
                        Semaphore::open(arg(1)).unwrap(),
                        Semaphore::open(arg(2)).unwrap(),
                    );
                    if variant == "spin" {
                        a.set_spin(Duration::from_micros(20));
                    }
                    for _ in 0..n {
                        a.acquire().unwrap();
                        b.release().unwrap();
                    }
                }
            }
        }
        "count" => {
            let (k, start) = (num(3), Semaphore::open(arg(4)).unwrap());
            let map = SharedMemory::open(arg(2)).unwrap().map().unwrap();
            let counter = map.as_mut_ptr();
            // The mapping is 8 bytes, page-aligned (mmap), and only touched
            // by processes holding the semaphore.
            let increment = || {
                let mut bytes = [0u8; 8];
                raw::copy_from(counter, &mut bytes);
                raw::copy_to(counter, &(u64::from_le_bytes(bytes) + 1).to_le_bytes());
            };
            start.acquire().unwrap();
            let t = monotonic_ns();
            if arg(0) == "raw" {
                let sem = RawSem::open(arg(1));
                for _ in 0..k {
                    sem.wait();
                    increment();
                    sem.post();
                }
            } else {
                for _ in 0..k {
                    ipc::critical!(CountLock => { increment() }).unwrap();
                }
            }
            println!("{t} {}", monotonic_ns());
        }
        "mq-pong" => {
            let (n, size) = (num(3), num(4));
            let mut buf = vec![0u8; size];
            if arg(0) == "raw" {
                let (a, b) = (RawMq::open(arg(1)), RawMq::open(arg(2)));
                for _ in 0..n {
                    let len = a.receive(&mut buf);
                    b.send(&buf[..len]);
                }
            } else {
                let (a, b) = (
                    MessageQueue::open(arg(1)).unwrap(),
                    MessageQueue::open(arg(2)).unwrap(),
                );
                for _ in 0..n {
                    let (len, _) = a.receive_into(&mut buf).unwrap();
                    b.send(&buf[..len], 0).unwrap();
                }
            }
        }
        "mq-consume" => {
            let (n, size, start) = (num(2), num(3), Semaphore::open(arg(4)).unwrap());
            let mut buf = vec![0u8; size];
            start.acquire().unwrap();
            let t = Instant::now();
            if arg(0) == "raw" {
                let q = RawMq::open(arg(1));
                for _ in 0..n {
                    q.receive(&mut buf);
                }
            } else {
                let q = MessageQueue::open(arg(1)).unwrap();
                for _ in 0..n {
                    q.receive_into(&mut buf).unwrap();
                }
            }
            println!("{}", t.elapsed().as_nanos());
        }
        other => panic!("unknown role {other}"),
    }
}

fn spawn(role: &str, args: &[&str], pin_cpu: Option<usize>) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env("IPC_BENCH_ROLE", role)
        .args(args)
        .stdout(Stdio::piped());
    if let Some(cpu) = pin_cpu {
        cmd.env("IPC_BENCH_PIN", cpu.to_string());
    }
    cmd.spawn().unwrap()
}

/// Waits for a child and returns the numbers it printed.
fn finish_all(child: Child) -> Vec<u128> {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "child failed: {}", out.status);
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect()
}

/// Waits for a child and returns the first number it printed (0 if none).
fn finish(child: Child) -> u128 {
    finish_all(child).first().copied().unwrap_or(0)
}

// ---------------------------------------------------------------- python

fn python() -> Option<String> {
    let candidate = std::env::var("IPC_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&candidate)
        .args(["-c", "import posix_ipc"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(candidate)
}

const PY: &str = "import sys, time, mmap, struct, posix_ipc as p\nargs = sys.argv[1:]\n";

fn py_spawn(python: &str, code: &str, args: &[&str], pin_cpu: Option<usize>) -> Child {
    let mut cmd = Command::new(python);
    cmd.arg("-c")
        .arg(format!("{PY}{code}"))
        .args(args)
        .stdout(Stdio::piped());
    if let Some(cpu) = pin_cpu {
        // Snippets that start with PY_PIN pin themselves.
        cmd.env("IPC_BENCH_PIN", cpu.to_string());
    }
    cmd.spawn().unwrap()
}

const PY_PIN: &str = "import os\nif 'IPC_BENCH_PIN' in os.environ: os.sched_setaffinity(0, {int(os.environ['IPC_BENCH_PIN'])})\n";

fn py_output(child: Child) -> Vec<f64> {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python failed: {}", out.status);
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect()
}

// ---------------------------------------------------------------- results

fn unique(tag: &str) -> String {
    format!("/ipc-bench.{}.{tag}", std::process::id())
}

/// Runs every measurement `rounds` times, interleaved (a, b, c, a, b, c...),
/// so that all see the same machine; returns the median of each.
fn interleaved(rounds: usize, runs: &mut [&mut dyn FnMut() -> f64]) -> Vec<f64> {
    let mut results = vec![Vec::new(); runs.len()];
    for _ in 0..rounds {
        for (run, out) in runs.iter_mut().zip(&mut results) {
            out.push(run());
        }
    }
    results.into_iter().map(|v| median(v).0).collect()
}

fn median(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[v.len() * 99 / 100])
}

// ---------------------------------------------------------------- benchmarks

/// Semaphore ping-pong: one round trip = post the peer's, wait for ours.
/// Returns (median ns, p99 ns, CPU ns per round trip).
fn sem_ping_pong(variant: &str, n: usize, split: bool) -> (f64, f64, f64) {
    let (a_name, b_name) = (unique("ping"), unique("pong"));
    let a = Semaphore::create_new(&a_name, 0).unwrap();
    let b = Semaphore::create_new(&b_name, 0).unwrap();
    if split {
        pin(0);
    }
    let cpu0 = cpu_time();
    let child = spawn(
        "sem-pong",
        &[variant, &a_name, &b_name, &n.to_string()],
        split.then_some(1),
    );
    let raw = (RawSem::open(&a_name), RawSem::open(&b_name));
    if variant == "spin" {
        b.set_spin(Duration::from_micros(20));
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        if variant == "raw" {
            raw.0.post();
            raw.1.wait();
        } else {
            a.release().unwrap();
            b.acquire().unwrap();
        }
        samples.push(t.elapsed().as_nanos() as f64);
    }
    finish(child);
    let cpu = cpu_time().saturating_sub(cpu0).as_nanos() as f64 / n as f64;
    if split {
        pin_all();
    }
    a.unlink().unwrap();
    b.unlink().unwrap();
    let (med, p99) = median(samples);
    (med, p99, cpu)
}

fn pin_all() {
    // SAFETY: `set` is a zeroed cpu_set_t filled by CPU_SET for every CPU
    // the system has; the call only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in 0..libc::CPU_SETSIZE as usize {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &raw const set);
    }
}

fn py_sem_ping_pong(python: &str, n: usize, split: bool) -> (f64, f64) {
    let (a_name, b_name) = (unique("py-ping"), unique("py-pong"));
    let a = Semaphore::create_new(&a_name, 0).unwrap();
    let b = Semaphore::create_new(&b_name, 0).unwrap();
    let ns = n.to_string();
    let child = py_spawn(
        python,
        &format!(
            "{PY_PIN}a = p.Semaphore(args[0]); b = p.Semaphore(args[1])\nfor _ in range(int(args[2])):\n    a.acquire(); b.release()"
        ),
        &[&a_name, &b_name, &ns],
        split.then_some(1),
    );
    let parent = py_spawn(
        python,
        &format!(
            "{PY_PIN}a = p.Semaphore(args[0]); b = p.Semaphore(args[1]); ts = []
for _ in range(int(args[2])):
    t = time.perf_counter_ns(); a.release(); b.acquire(); ts.append(time.perf_counter_ns() - t)
ts.sort(); print(ts[len(ts) // 2], ts[len(ts) * 99 // 100])"
        ),
        &[&a_name, &b_name, &ns],
        split.then_some(0),
    );
    let out = py_output(parent);
    py_output(child);
    a.unlink().unwrap();
    b.unlink().unwrap();
    (out[0], out[1])
}

/// P processes each doing K critical sections on one counter; returns
/// (ns per critical section overall, the final count).
fn contended(variant: &str, processes: usize, k: usize, python: Option<&str>) -> (f64, u64) {
    let shm = SharedMemory::options()
        .size(8)
        .create_unique("/ipc-bench.counter")
        .unwrap();
    let start = Semaphore::options()
        .create_unique("/ipc-bench.start")
        .unwrap();
    let lock_name = CountLock::NAME;
    CountLock::semaphore().unwrap();
    let ks = k.to_string();
    let children: Vec<Child> = (0..processes)
        .map(|_| match python {
            Some(py) => py_spawn(
                py,
                "s = p.Semaphore(args[0]); m = p.SharedMemory(args[1]); mm = mmap.mmap(m.fd, 8)
st = p.Semaphore(args[3]); st.acquire(); t = time.monotonic_ns()
for _ in range(int(args[2])):
    with s:
        struct.pack_into('<Q', mm, 0, struct.unpack_from('<Q', mm, 0)[0] + 1)
print(t, time.monotonic_ns())",
                &[lock_name, shm.name(), &ks, start.name()],
                None,
            ),
            None => spawn(
                "count",
                &[variant, lock_name, shm.name(), &ks, start.name()],
                None,
            ),
        })
        .collect();
    // Let every child reach the start line (Python takes a while to start).
    std::thread::sleep(Duration::from_millis(if python.is_some() {
        300
    } else {
        50
    }));
    for _ in 0..processes {
        start.release().unwrap();
    }
    // From the first start to the last finish, on one clock.
    let spans: Vec<(u128, u128)> = children
        .into_iter()
        .map(|c| {
            let v = if python.is_some() {
                py_output(c).into_iter().map(|x| x as u128).collect()
            } else {
                finish_all(c)
            };
            (v[0], v[1])
        })
        .collect();
    let first = spans.iter().map(|s| s.0).min().unwrap_or(0);
    let last = spans.iter().map(|s| s.1).max().unwrap_or(0);
    let wall = last - first;
    let mut buf = [0u8; 8];
    shm.map().unwrap().read_at(0, &mut buf).unwrap();
    shm.unlink().unwrap();
    start.unlink().unwrap();
    (
        wall as f64 / (processes * k) as f64,
        u64::from_le_bytes(buf),
    )
}

fn mq_pair(tag: &str, size: usize) -> (MessageQueue, MessageQueue) {
    let make = |t: &str| {
        MessageQueue::options()
            .max_messages(8)
            .max_message_size(size)
            .create_new(true)
            .open(&unique(&format!("{tag}-{t}")))
            .unwrap()
    };
    (make("a"), make("b"))
}

/// Queue ping-pong round trip, median ns.
fn mq_ping_pong(variant: &str, n: usize, size: usize) -> f64 {
    let (a, b) = mq_pair("mqpp", size);
    let child = spawn(
        "mq-pong",
        &[
            variant,
            a.name(),
            b.name(),
            &n.to_string(),
            &size.to_string(),
        ],
        None,
    );
    let msg = vec![5u8; size];
    let mut buf = vec![0u8; size];
    let raw = (RawMq::open(a.name()), RawMq::open(b.name()));
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        if variant == "raw" {
            raw.0.send(&msg);
            raw.1.receive(&mut buf);
        } else {
            a.send(&msg, 0).unwrap();
            b.receive_into(&mut buf).unwrap();
        }
        samples.push(t.elapsed().as_nanos() as f64);
    }
    finish(child);
    a.unlink().unwrap();
    b.unlink().unwrap();
    median(samples).0
}

fn py_mq_ping_pong(python: &str, n: usize, size: usize) -> f64 {
    let (a, b) = mq_pair("pympp", size);
    let (ns, ss) = (n.to_string(), size.to_string());
    let child = py_spawn(
        python,
        "a = p.MessageQueue(args[0]); b = p.MessageQueue(args[1])
for _ in range(int(args[2])):
    m, _ = a.receive(); b.send(m)",
        &[a.name(), b.name(), &ns],
        None,
    );
    let parent = py_spawn(
        python,
        "a = p.MessageQueue(args[0]); b = p.MessageQueue(args[1]); msg = b'x' * int(args[3]); ts = []
for _ in range(int(args[2])):
    t = time.perf_counter_ns(); a.send(msg); b.receive(); ts.append(time.perf_counter_ns() - t)
ts.sort(); print(ts[len(ts) // 2])",
        &[a.name(), b.name(), &ns, &ss],
        None,
    );
    let out = py_output(parent);
    py_output(child);
    a.unlink().unwrap();
    b.unlink().unwrap();
    out[0]
}

/// Producer (this process) → consumer (a child): ns per message.
fn mq_throughput(variant: &str, n: usize, size: usize, python: Option<&str>) -> f64 {
    let q = MessageQueue::options()
        .max_messages(10)
        .max_message_size(size)
        .create_unique("/ipc-bench.tp")
        .unwrap();
    let start = Semaphore::options()
        .create_unique("/ipc-bench.tp-start")
        .unwrap();
    let (ns, ss) = (n.to_string(), size.to_string());
    let msg = vec![9u8; size];
    let elapsed = if let Some(py) = python {
        let consumer = py_spawn(
            py,
            "q = p.MessageQueue(args[0]); st = p.Semaphore(args[3]); st.acquire(); t = time.perf_counter_ns()
for _ in range(int(args[1])):
    q.receive()
print(time.perf_counter_ns() - t)",
            &[q.name(), &ns, &ss, start.name()],
            None,
        );
        let producer = py_spawn(
            py,
            "q = p.MessageQueue(args[0]); st = p.Semaphore(args[3]); msg = b'x' * int(args[2]); st.acquire()
for _ in range(int(args[1])):
    q.send(msg)",
            &[q.name(), &ns, &ss, start.name()],
            None,
        );
        std::thread::sleep(Duration::from_millis(300));
        start.release().unwrap();
        start.release().unwrap();
        py_output(producer);
        py_output(consumer)[0]
    } else {
        let consumer = spawn(
            "mq-consume",
            &[variant, q.name(), &ns, &ss, start.name()],
            None,
        );
        std::thread::sleep(Duration::from_millis(50));
        start.release().unwrap();
        if variant == "raw" {
            let raw = RawMq::open(q.name());
            for _ in 0..n {
                raw.send(&msg);
            }
        } else {
            for _ in 0..n {
                q.send(&msg, 0).unwrap();
            }
        }
        finish(consumer) as f64
    };
    q.unlink().unwrap();
    start.unlink().unwrap();
    elapsed / n as f64
}

/// Writes then reads 64 MiB through 1 MiB copies: ns per MiB copied.
fn shm_bandwidth(variant: &str, python: Option<&str>) -> f64 {
    const TOTAL: usize = 64 << 20;
    const CHUNK: usize = 1 << 20;
    let shm = SharedMemory::options()
        .size(TOTAL)
        .create_unique("/ipc-bench.bw")
        .unwrap();
    let map = shm.map().unwrap();
    let chunk = vec![3u8; CHUNK];
    let mut out = vec![0u8; CHUNK];
    // Touch every page first, so page faults are not measured.
    map.write_at(0, &vec![1u8; TOTAL]).unwrap();
    let rounds = 4;
    let ns = if let Some(py) = python {
        let child = py_spawn(
            py,
            "m = p.SharedMemory(args[0]); mm = mmap.mmap(m.fd, m.size); ch = b'x' * (1 << 20); n = 0
t = time.perf_counter_ns()
for _ in range(4):
    for off in range(0, m.size, 1 << 20):
        mm[off:off + (1 << 20)] = ch
        n += len(mm[off:off + (1 << 20)])
print(time.perf_counter_ns() - t)",
            &[shm.name()],
            None,
        );
        py_output(child)[0]
    } else {
        let t = Instant::now();
        for _ in 0..rounds {
            for off in (0..TOTAL).step_by(CHUNK) {
                if variant == "raw" {
                    // SAFETY: `off + CHUNK <= TOTAL`, the mapping's length;
                    // the buffers are distinct Rust allocations.
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            chunk.as_ptr(),
                            map.as_mut_ptr().add(off),
                            CHUNK,
                        );
                        std::ptr::copy_nonoverlapping(
                            map.as_ptr().add(off),
                            out.as_mut_ptr(),
                            CHUNK,
                        );
                    }
                } else {
                    map.write_at(off, &chunk).unwrap();
                    map.read_at(off, &mut out).unwrap();
                }
                std::hint::black_box(&out);
            }
        }
        t.elapsed().as_nanos() as f64
    };
    shm.unlink().unwrap();
    ns / (rounds * 2 * TOTAL / CHUNK) as f64
}

/// Single-process loops: acquire+release pairs and failing tries, ns per
/// op. Raw and ipc run in alternating blocks, `ROUNDS` times, so both see
/// the same machine; the medians over the blocks are reported.
fn single_ops(n: usize) -> [(f64, f64); 2] {
    const ROUNDS: usize = 21;
    let sem = Semaphore::options()
        .initial_value(1)
        .create_unique("/ipc-bench.single")
        .unwrap();
    let raw = RawSem::open(sem.name());
    let block = u32::try_from(n / ROUNDS).unwrap_or(u32::MAX);
    let alternate = |raw_op: &mut dyn FnMut(), ipc_op: &mut dyn FnMut()| {
        raw::alternate(ROUNDS, block, raw_op, ipc_op)
    };
    let pair = alternate(
        &mut || {
            raw.wait();
            raw.post();
        },
        &mut || {
            sem.acquire().unwrap();
            sem.release().unwrap();
        },
    );
    sem.acquire().unwrap();
    let fail = alternate(
        &mut || {
            std::hint::black_box(raw.try_wait());
        },
        &mut || {
            std::hint::black_box(sem.try_acquire().is_err());
        },
    );
    sem.unlink().unwrap();
    [pair, fail]
}

fn py_single_ops(python: &str, n: usize) -> [f64; 2] {
    let name = unique("py-single");
    let sem = Semaphore::create_new(&name, 1).unwrap();
    let out = py_output(py_spawn(
        python,
        "s = p.Semaphore(args[0]); n = int(args[1])
t = time.perf_counter_ns()
for _ in range(n):
    s.acquire(); s.release()
a = (time.perf_counter_ns() - t) / n
s.acquire(); t = time.perf_counter_ns()
for _ in range(n):
    try:
        s.acquire(0)
    except p.BusyError:
        pass
b = (time.perf_counter_ns() - t) / n
print(a, b)",
        &[&name, &n.to_string()],
        None,
    ));
    sem.unlink().unwrap();
    [out[0], out[1]]
}

fn main() {
    if let Ok(role) = std::env::var("IPC_BENCH_ROLE") {
        let args: Vec<String> = std::env::args().skip(1).collect();
        child(&role, &args);
        return;
    }
    let python = python();
    let py = python.as_deref();
    match py {
        Some(p) => println!("posix_ipc: {p}"),
        None => println!("posix_ipc: not found (set IPC_TEST_PYTHON); its column stays empty"),
    }
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    println!("CPUs: {cpus}; each figure is measured in this run, side by side");
    let mut rows = Vec::new();

    if enabled("single") {
        let n = scale(1_000_000);
        let [(raw_pair, ipc_pair), (raw_fail, ipc_fail)] = single_ops(n);
        let py_single = py.map(|p| py_single_ops(p, scale(1_000_000)));
        rows.push(Row {
            name: "sem acquire+release (one process)".into(),
            raw: Some(raw_pair),
            ipc: ipc_pair,
            spin: None,
            python: py_single.map(|v| v[0]),
            note: String::new(),
        });
        rows.push(Row {
            name: "sem failing try_acquire".into(),
            raw: Some(raw_fail),
            ipc: ipc_fail,
            spin: None,
            python: py_single.map(|v| v[1]),
            note: String::new(),
        });
    }

    // Five repetitions, the variants interleaved; the median of each figure
    // over the repetitions is reported.
    let n = scale(20_000);
    let variants = ["raw", "ipc", "spin"];
    for split in [false, true].into_iter().filter(|_| enabled("sem")) {
        let place = if split { "CPUs 0|1" } else { "unpinned" };
        let mut runs: [Vec<(f64, f64, f64)>; 3] = Default::default();
        for _ in 0..5 {
            for (i, variant) in variants.iter().enumerate() {
                runs[i].push(sem_ping_pong(variant, n, split));
            }
        }
        let pick = |i: usize| {
            let col = |f: fn(&(f64, f64, f64)) -> f64| median(runs[i].iter().map(f).collect()).0;
            (col(|r| r.0), col(|r| r.1), col(|r| r.2))
        };
        let (raw, ours, spin) = (pick(0), pick(1), pick(2));
        let py_rt = py.map(|p| py_sem_ping_pong(p, scale(5_000), split));
        rows.push(Row {
            name: format!("sem ping-pong round trip, {place}"),
            raw: Some(raw.0),
            ipc: ours.0,
            spin: Some(spin.0),
            python: py_rt.map(|v| v.0),
            note: format!(
                "p99 raw {} ipc {} spin {}; CPU/RT raw {} ipc {} spin {}",
                fmt_ns(raw.1),
                fmt_ns(ours.1),
                fmt_ns(spin.1),
                fmt_ns(raw.2),
                fmt_ns(ours.2),
                fmt_ns(spin.2)
            ),
        });
    }

    let k = scale(20_000);
    for processes in [2, 4, 8].into_iter().filter(|_| enabled("critical")) {
        let total = (processes * k) as u64;
        let run = |variant: &'static str| {
            move || {
                let (ns, count) = contended(variant, processes, k, None);
                assert_eq!(count, total, "{variant}: lost updates");
                ns
            }
        };
        let (mut raw, mut ours) = (run("raw"), run("ipc"));
        let m = interleaved(9, &mut [&mut raw, &mut ours]);
        let py_k = scale(5_000);
        let pyr = py.map(|p| {
            let (ns, count) = contended("py", processes, py_k, Some(p));
            assert_eq!(count, (processes * py_k) as u64, "posix_ipc lost updates");
            ns
        });
        rows.push(Row {
            name: format!("critical section, {processes} processes contending"),
            raw: Some(m[0]),
            ipc: m[1],
            spin: None,
            python: pyr,
            note: format!("ipc {:.0} ops/s; every count exact", 1e9 / m[1]),
        });
    }
    let _ = CountLock::unlink();

    let n = scale(20_000);
    for size in [64, 4096].into_iter().filter(|_| enabled("mq")) {
        let m = interleaved(
            5,
            &mut [&mut || mq_ping_pong("raw", n, size), &mut || {
                mq_ping_pong("ipc", n, size)
            }],
        );
        let pyv = py.map(|p| py_mq_ping_pong(p, scale(5_000), size));
        rows.push(Row {
            name: format!("mq ping-pong round trip, {size} B"),
            raw: Some(m[0]),
            ipc: m[1],
            spin: None,
            python: pyv,
            note: String::new(),
        });
    }
    let n = scale(200_000);
    for size in [64, 4096].into_iter().filter(|_| enabled("mq")) {
        let m = interleaved(
            5,
            &mut [&mut || mq_throughput("raw", n, size, None), &mut || {
                mq_throughput("ipc", n, size, None)
            }],
        );
        let pyv = py.map(|p| mq_throughput("py", scale(50_000), size, Some(p)));
        rows.push(Row {
            name: format!("mq producer→consumer, {size} B per message"),
            raw: Some(m[0]),
            ipc: m[1],
            spin: None,
            python: pyv,
            note: format!(
                "ipc {:.0} msgs/s, {:.1} MB/s",
                1e9 / m[1],
                1e9 / m[1] * size as f64 / 1e6
            ),
        });
    }
    if enabled("shm") {
        let m = interleaved(
            5,
            &mut [&mut || shm_bandwidth("raw", None), &mut || {
                shm_bandwidth("ipc", None)
            }],
        );
        let (raw, ours) = (m[0], m[1]);
        let pyv = py.map(|p| shm_bandwidth("py", Some(p)));
        rows.push(Row {
            name: "shm copy 1 MiB in or out".into(),
            raw: Some(raw),
            ipc: ours,
            spin: None,
            python: pyv,
            note: format!("ipc {:.1} GB/s", (1 << 20) as f64 / ours),
        });
    }

    print_table(&rows);
    let plot = svg(&rows);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("cross_process.svg");
    std::fs::write(&path, &plot).unwrap();
    println!("\nplot: {}", path.display());
    if let Some(extra) = std::env::var_os("IPC_BENCH_SVG") {
        std::fs::write(&extra, &plot).unwrap();
        println!("plot: {}", std::path::Path::new(&extra).display());
    }
}
