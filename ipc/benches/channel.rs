//! `ipc::Channel` between two processes, beside raw POSIX message queues
//! (libc) and a minimal busy-polling shared-memory ring (the physical room),
//! measured in one run: one-way throughput (64 B and 4 KiB values) and
//! ping-pong round trips. Medians of interleaved repetitions; the ratios
//! are per repetition.
//!
//! `cargo bench --bench channel` (`IPC_BENCH_QUICK=1` runs a tenth of the
//! messages; `IPC_BENCH_REPS=n` sets the repetitions, default 5;
//! `IPC_BENCH_ONLY=text` runs the tables whose title contains it).
//!
//! The binary runs itself again in child roles (`IPC_BENCH_ROLE`).
//! `IPC_BENCH_PIN=split` (the default with 2+ CPUs) pins this process to CPU
//! 0 and the peer to CPU 1; `IPC_BENCH_PIN=free` lets the scheduler place
//! both (bimodal on small machines: it sometimes keeps both on one CPU).

// The raw baselines (mq_*, an mmap'd ring) and CPU accounting are libc
// calls; each states why it is sound.
#![allow(unsafe_code)]
// Counts become f64 for statistics; main is a script of tables; the raw
// ring casts its page-aligned mapping to atomics.
#![allow(
    clippy::cast_precision_loss,
    clippy::too_many_lines,
    clippy::cast_ptr_alignment
)]

use std::ffi::CString;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ipc::{Channel, SharedMemory};
use util::{cpu_time, pin, scale};

#[path = "util/mod.rs"]
mod util;

const SLOTS: usize = 256;
const MQ_DEPTH: i64 = 10;

fn unique(tag: &str) -> String {
    format!("/ipc-bench.{}.{tag}", std::process::id())
}

/// Whether this run pins the two processes to CPUs 0 and 1.
/// Decided once, before this process pins itself: afterwards
/// `available_parallelism` (which follows the affinity mask) says 1.
fn split() -> bool {
    static SPLIT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SPLIT.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        cpus >= 2 && std::env::var("IPC_BENCH_PIN").map_or(true, |p| p != "free")
    })
}

fn spawn(role: &str, args: &[String]) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env("IPC_BENCH_ROLE", role).args(args);
    if split() {
        cmd.env("IPC_BENCH_CHILD_CPU", "1");
    }
    cmd.spawn().unwrap()
}

fn reap(mut child: Child) {
    assert!(child.wait().unwrap().success(), "a bench child failed");
}

// ------------------------------------------------------------ transports

/// One side of a one-way transport: the three implementations.
trait Wire<const S: usize>: Sized {
    /// Creates the transport `name` (the parent).
    fn create(name: &str) -> Self;
    /// Opens it (a child).
    fn open(name: &str) -> Self;
    fn send(&self, msg: &[u8; S]);
    fn recv(&self, msg: &mut [u8; S]);
    fn unlink(name: &str);
}

/// `ipc::Channel`, values by value (`IN_PLACE` false: `send(v)`, `recv()`)
/// or in place (`send_with`, `recv_with`), each copying the payload once
/// into and once out of the slot.
struct Chan<const S: usize, const IN_PLACE: bool> {
    tx: ipc::Sender<[u8; S]>,
    rx: ipc::Receiver<[u8; S]>,
}

impl<const S: usize, const IN_PLACE: bool> Wire<S> for Chan<S, IN_PLACE> {
    fn create(name: &str) -> Self {
        let c = Channel::<[u8; S]>::create_new(name, SLOTS).unwrap();
        Chan {
            tx: c.sender(),
            rx: c.receiver(),
        }
    }
    fn open(name: &str) -> Self {
        let c = Channel::<[u8; S]>::open(name).unwrap();
        Chan {
            tx: c.sender(),
            rx: c.receiver(),
        }
    }
    #[inline]
    fn send(&self, msg: &[u8; S]) {
        if IN_PLACE {
            self.tx.send_with(|slot| slot.copy_from_slice(msg)).unwrap();
        } else {
            self.tx.send(*msg).unwrap();
        }
    }
    #[inline]
    fn recv(&self, msg: &mut [u8; S]) {
        if IN_PLACE {
            self.rx.recv_with(|v| msg.copy_from_slice(v)).unwrap();
        } else {
            *msg = self.rx.recv().unwrap();
        }
    }
    fn unlink(name: &str) {
        let _ = ipc::unlink_shared_memory(name);
    }
}

/// A raw POSIX message queue, `MQ_DEPTH` deep, blocking.
struct Mq(libc::mqd_t);

impl<const S: usize> Wire<S> for Mq {
    fn create(name: &str) -> Self {
        let c = CString::new(name).unwrap();
        // SAFETY: zeroed mq_attr is valid; the fields we need are set below.
        let mut attr: libc::mq_attr = unsafe { std::mem::zeroed() };
        attr.mq_maxmsg = MQ_DEPTH as _;
        attr.mq_msgsize = S as _;
        // SAFETY: `c` is NUL-terminated; with O_CREAT mq_open reads a mode
        // (c_uint, as varargs promote) and a valid attr pointer.
        let q = unsafe {
            libc::mq_open(
                c.as_ptr(),
                libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
                0o600 as libc::c_uint,
                &raw mut attr,
            )
        };
        assert!(
            q >= 0,
            "mq_open {name}: {}",
            std::io::Error::last_os_error()
        );
        Mq(q)
    }
    fn open(name: &str) -> Self {
        let c = CString::new(name).unwrap();
        // SAFETY: `c` is NUL-terminated; without O_CREAT no varargs are read.
        let q = unsafe { libc::mq_open(c.as_ptr(), libc::O_RDWR) };
        assert!(q >= 0, "mq_open {name}");
        Mq(q)
    }
    #[inline]
    fn send(&self, msg: &[u8; S]) {
        // SAFETY: the queue is open until Drop; `msg` is valid for S bytes.
        let r = unsafe { libc::mq_send(self.0, msg.as_ptr().cast(), S, 0) };
        assert_eq!(r, 0);
    }
    #[inline]
    fn recv(&self, msg: &mut [u8; S]) {
        let mut prio = 0;
        // SAFETY: the queue is open; `msg` is writable for S bytes, the
        // queue's message size.
        let n = unsafe { libc::mq_receive(self.0, msg.as_mut_ptr().cast(), S, &raw mut prio) };
        assert_eq!(n, S as isize);
    }
    fn unlink(name: &str) {
        let c = CString::new(name).unwrap();
        // SAFETY: `c` is NUL-terminated.
        unsafe { libc::mq_unlink(c.as_ptr()) };
    }
}

impl Drop for Mq {
    fn drop(&mut self) {
        // SAFETY: opened in create/open, closed once here.
        unsafe { libc::mq_close(self.0) };
    }
}

/// The minimal baseline: a single-producer single-consumer ring of
/// `SLOTS` slots in shared memory, both sides busy-polling (yielding now
/// and then), no crash safety, no sleeping, no typing: what the hardware
/// allows.
struct Raw {
    map: ipc::Mapping,
}

impl Raw {
    fn head(&self) -> &AtomicU64 {
        // SAFETY: the mapping is page-aligned and at least 128 bytes; the
        // word is only accessed atomically, by every process.
        unsafe { &*self.map.as_mut_ptr().cast::<AtomicU64>() }
    }
    fn tail(&self) -> &AtomicU64 {
        // SAFETY: as in `head`, 64 bytes further.
        unsafe { &*self.map.as_mut_ptr().add(64).cast::<AtomicU64>() }
    }
    fn slot(&self, i: u64, size: usize) -> *mut u8 {
        // SAFETY: `i % SLOTS` slots of `size` bytes after 128 bytes fit in
        // the mapping (sized in `create`).
        unsafe { self.map.as_mut_ptr().add(128 + (i as usize % SLOTS) * size) }
    }
}

/// A busy-poll step that gives the CPU away every 64 polls (~1.5 µs), so
/// that the baseline survives a machine shared with other work.
#[inline]
fn poll(spins: &mut u32) {
    *spins += 1;
    if *spins % 64 == 0 {
        std::thread::yield_now();
    } else {
        std::hint::spin_loop();
    }
}

impl<const S: usize> Wire<S> for Raw {
    fn create(name: &str) -> Self {
        let shm = SharedMemory::create_new(name, 128 + SLOTS * S).unwrap();
        Raw {
            map: shm.map().unwrap(),
        }
    }
    fn open(name: &str) -> Self {
        Raw {
            map: SharedMemory::open(name).unwrap().map().unwrap(),
        }
    }
    #[inline]
    fn send(&self, msg: &[u8; S]) {
        let tail = self.tail().load(Ordering::Relaxed);
        let mut spins = 0u32;
        while tail - self.head().load(Ordering::Acquire) == SLOTS as u64 {
            poll(&mut spins);
        }
        // SAFETY: the slot is the producer's until `tail` is published
        // (the consumer released it: head > tail - SLOTS, acquire).
        unsafe { std::ptr::copy_nonoverlapping(msg.as_ptr(), self.slot(tail, S), S) };
        self.tail().store(tail + 1, Ordering::Release);
    }
    #[inline]
    fn recv(&self, msg: &mut [u8; S]) {
        let head = self.head().load(Ordering::Relaxed);
        let mut spins = 0u32;
        while self.tail().load(Ordering::Acquire) == head {
            poll(&mut spins);
        }
        // SAFETY: the slot was published by the release store of `tail`
        // (acquired above) and stays the consumer's until `head` moves.
        unsafe { std::ptr::copy_nonoverlapping(self.slot(head, S), msg.as_mut_ptr(), S) };
        self.head().store(head + 1, Ordering::Release);
    }
    fn unlink(name: &str) {
        let _ = ipc::unlink_shared_memory(name);
    }
}

// ------------------------------------------------------------ children

fn child(role: &str, args: &[String]) {
    let kind = args[0].as_str();
    let size: usize = args[1].parse().unwrap();
    match (kind, size) {
        ("chan", 64) => run_child::<64, Chan<64, false>>(role, args),
        ("chan", 4096) => run_child::<4096, Chan<4096, false>>(role, args),
        ("chan-in-place", 64) => run_child::<64, Chan<64, true>>(role, args),
        ("chan-in-place", 4096) => run_child::<4096, Chan<4096, true>>(role, args),
        ("mq", 64) => run_child::<64, Mq>(role, args),
        ("mq", 4096) => run_child::<4096, Mq>(role, args),
        ("raw", 64) => run_child::<64, Raw>(role, args),
        ("raw", 4096) => run_child::<4096, Raw>(role, args),
        other => panic!("unknown transport {other:?}"),
    }
}

fn run_child<const S: usize, W: Wire<S>>(role: &str, args: &[String]) {
    let n: usize = args[2].parse().unwrap();
    match role {
        "send" => {
            let w = W::open(&args[3]);
            let mut msg = [0u8; S];
            for i in 0..n {
                msg[..8].copy_from_slice(&(i as u64).to_le_bytes());
                w.send(&msg);
            }
        }
        "echo" => {
            let (ping, pong) = (W::open(&args[3]), W::open(&args[4]));
            let mut msg = [0u8; S];
            for _ in 0..n {
                ping.recv(&mut msg);
                pong.send(&msg);
            }
        }
        other => panic!("unknown role {other}"),
    }
}

// ------------------------------------------------------------ measurements

/// One-way: a child sends `n` values, this process receives them. Returns
/// (million messages per second, CPU ns per message, both processes).
fn throughput<const S: usize, W: Wire<S>>(kind: &str, n: usize) -> (f64, f64) {
    let name = unique(&format!("{kind}-{S}-tp"));
    let w = W::create(&name);
    let cpu0 = cpu_time();
    let sender = spawn(
        "send",
        &[kind.into(), S.to_string(), n.to_string(), name.clone()],
    );
    let mut msg = [0u8; S];
    w.recv(&mut msg);
    let start = Instant::now();
    for i in 1..n {
        w.recv(&mut msg);
        debug_assert_eq!(msg[..8], (i as u64).to_le_bytes());
    }
    let elapsed = start.elapsed();
    assert_eq!(
        msg[..8],
        ((n - 1) as u64).to_le_bytes(),
        "{kind} lost values"
    );
    reap(sender);
    let cpu = cpu_time().saturating_sub(cpu0);
    W::unlink(&name);
    (
        (n - 1) as f64 / elapsed.as_secs_f64() / 1e6,
        cpu.as_nanos() as f64 / n as f64,
    )
}

/// Ping-pong: `n` round trips after `n / 10` of warm-up, `gap` of sleep
/// before each (so a peer that waits goes to sleep). Returns (median µs,
/// CPU µs per round trip).
fn ping_pong<const S: usize, W: Wire<S>>(kind: &str, n: usize, gap: Duration) -> (f64, f64) {
    let (a, b) = (
        unique(&format!("{kind}-{S}-ping")),
        unique(&format!("{kind}-{S}-pong")),
    );
    let (ping, pong) = (W::create(&a), W::create(&b));
    let warm = n / 10;
    let cpu0 = cpu_time();
    let echo = spawn(
        "echo",
        &[
            kind.into(),
            S.to_string(),
            (n + warm).to_string(),
            a.clone(),
            b.clone(),
        ],
    );
    let mut msg = [0u8; S];
    let mut times = Vec::with_capacity(n);
    for i in 0..n + warm {
        if !gap.is_zero() {
            std::thread::sleep(gap);
        }
        let t = Instant::now();
        ping.send(&msg);
        pong.recv(&mut msg);
        if i >= warm {
            times.push(t.elapsed().as_nanos() as f64 / 1e3);
        }
    }
    reap(echo);
    let cpu = cpu_time().saturating_sub(cpu0);
    W::unlink(&a);
    W::unlink(&b);
    times.sort_by(f64::total_cmp);
    (
        times[times.len() / 2],
        cpu.as_nanos() as f64 / 1e3 / (n + warm) as f64,
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A named measurement: its repetitions' (value, CPU) pairs.
struct Series {
    label: String,
    run: Box<dyn FnMut() -> (f64, f64)>,
    values: Vec<f64>,
    cpu: Vec<f64>,
}

fn series(label: &str, run: impl FnMut() -> (f64, f64) + 'static) -> Series {
    Series {
        label: label.into(),
        run: Box::new(run),
        values: Vec::new(),
        cpu: Vec::new(),
    }
}

/// Runs the series interleaved `reps` times and prints each one's median
/// value and CPU, with the per-repetition ratio to the first series.
fn table(title: &str, unit: &str, reps: usize, higher_is_better: bool, mut all: Vec<Series>) {
    if let Ok(only) = std::env::var("IPC_BENCH_ONLY") {
        if !title.contains(&only) {
            return;
        }
    }
    for _ in 0..reps {
        for s in &mut all {
            let (v, c) = (s.run)();
            s.values.push(v);
            s.cpu.push(c);
        }
    }
    println!("\n{title}");
    println!("| transport | {unit} (median of {reps}) | CPU | ours vs this (median ratio) |");
    println!("|---|---|---|---|");
    let ours = all[0].values.clone();
    for s in &all {
        let ratio = median(
            ours.iter()
                .zip(&s.values)
                .map(|(o, v)| if higher_is_better { o / v } else { v / o })
                .collect(),
        );
        println!(
            "| {} | {:.3} | {:.2} | {:.2}× |",
            s.label,
            median(s.values.clone()),
            median(s.cpu.clone()),
            ratio
        );
    }
}

fn main() {
    if let Ok(role) = std::env::var("IPC_BENCH_ROLE") {
        if let Some(cpu) = std::env::var("IPC_BENCH_CHILD_CPU")
            .ok()
            .and_then(|c| c.parse().ok())
        {
            pin(cpu);
        }
        let args: Vec<String> = std::env::args().skip(1).collect();
        child(&role, &args);
        return;
    }
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let reps: usize = std::env::var("IPC_BENCH_REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let placement = if split() {
        pin(0);
        "pinned to CPUs 0 and 1"
    } else {
        "unpinned"
    };
    println!("Channel bench: {cpus} CPUs, {placement}, {reps} interleaved repetitions");

    let (big, small, mq_n) = (scale(1_000_000), scale(200_000), scale(200_000));
    table(
        "One-way throughput, 64 B values (million messages/s; CPU ns per message, both processes)",
        "M msg/s",
        reps,
        true,
        vec![
            series("ipc::Channel (256 slots)", move || {
                throughput::<64, Chan<64, false>>("chan", big)
            }),
            series("ipc::Channel, send_with/recv_with", move || {
                throughput::<64, Chan<64, true>>("chan-in-place", big)
            }),
            series("POSIX mq (10 deep, libc)", move || {
                throughput::<64, Mq>("mq", mq_n)
            }),
            series("raw SPSC ring, busy-poll", move || {
                throughput::<64, Raw>("raw", big)
            }),
        ],
    );
    table(
        "One-way throughput, 4 KiB values (million messages/s; CPU ns per message)",
        "M msg/s",
        reps,
        true,
        vec![
            series("ipc::Channel, send_with/recv_with", move || {
                throughput::<4096, Chan<4096, true>>("chan-in-place", small)
            }),
            series("ipc::Channel (256 slots), send/recv by value", move || {
                throughput::<4096, Chan<4096, false>>("chan", small)
            }),
            series("POSIX mq (10 deep, libc)", move || {
                throughput::<4096, Mq>("mq", mq_n)
            }),
            series("raw SPSC ring, busy-poll", move || {
                throughput::<4096, Raw>("raw", small)
            }),
        ],
    );
    let (rt, rt_slow) = (scale(100_000), scale(5_000));
    table(
        "Ping-pong round trip, 64 B, back to back (µs; CPU µs per round trip)",
        "RTT µs",
        reps,
        false,
        vec![
            series("ipc::Channel", move || {
                ping_pong::<64, Chan<64, false>>("chan", rt, Duration::ZERO)
            }),
            series("POSIX mq (libc)", move || {
                ping_pong::<64, Mq>("mq", rt_slow, Duration::ZERO)
            }),
            series("raw SPSC ring, busy-poll", move || {
                ping_pong::<64, Raw>("raw", rt, Duration::ZERO)
            }),
        ],
    );
    let gap = Duration::from_micros(200);
    table(
        "Ping-pong round trip, 64 B, 200 µs apart: both sides asleep between messages (µs; CPU µs per round trip, sleeps included)",
        "RTT µs",
        reps,
        false,
        vec![
            series("ipc::Channel", move || {
                ping_pong::<64, Chan<64, false>>("chan", rt_slow, gap)
            }),
            series("POSIX mq (libc)", move || {
                ping_pong::<64, Mq>("mq", rt_slow, gap)
            }),
        ],
    );
}
