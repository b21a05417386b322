//! `ipc::Channel` beside iceoryx2 0.10 publish-subscribe, two processes,
//! the payload copied in at the sender and out at the receiver by both.
//!
//! `cargo run --release` in this directory (not a workspace member: iceoryx2
//! builds 68 crates). `IPC_BENCH_QUICK=1` runs a tenth of the messages,
//! `IPC_BENCH_REPS=n` sets the interleaved repetitions (default 5). Both
//! processes are pinned, this one to CPU 0, the peer to CPU 1.
//!
//! iceoryx2 is configured so that it loses nothing: a subscriber buffer of
//! 256, no safe overflow, `RetryUntilDelivered`; its receiver busy-polls
//! (pub-sub has no blocking receive). The channel uses `send_with` /
//! `recv_with` (copy in place, as iceoryx2's `write_payload` and a copy out
//! of the sample) and its own spin-then-sleep waiting.

// Pinning and CPU accounting are libc calls.
#![allow(unsafe_code)]

use std::cell::OnceCell;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use iceoryx2::prelude::{BackpressureStrategy, LogLevel, NodeBuilder, ServiceName, set_log_level};
use iceoryx2::service::ipc::Service as Iox;

const SLOTS: usize = 256;

#[path = "../../ipc/benches/util/mod.rs"]
mod util;
use util::{cpu_time, pin, scale};

fn spawn(args: &[String]) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .env("IPC_BENCH_ROLE", "child")
        .args(args)
        .spawn()
        .unwrap()
}

fn reap(mut child: Child) {
    assert!(child.wait().unwrap().success(), "a bench child failed");
}

/// One direction of a transport.
trait Wire<const S: usize>: Sized {
    fn create(name: &str) -> Self;
    fn open(name: &str) -> Self;
    fn send(&self, msg: &[u8; S]);
    fn recv(&self, msg: &mut [u8; S]);
    fn unlink(_name: &str) {}
}

struct Chan<const S: usize> {
    tx: ipc::Sender<[u8; S]>,
    rx: ipc::Receiver<[u8; S]>,
}

impl<const S: usize> Wire<S> for Chan<S> {
    fn create(name: &str) -> Self {
        let c = ipc::Channel::<[u8; S]>::create_new(name, SLOTS).unwrap();
        Chan {
            tx: c.sender(),
            rx: c.receiver(),
        }
    }
    fn open(name: &str) -> Self {
        let c = ipc::Channel::<[u8; S]>::open(name).unwrap();
        Chan {
            tx: c.sender(),
            rx: c.receiver(),
        }
    }
    fn send(&self, msg: &[u8; S]) {
        self.tx.send_with(|slot| slot.copy_from_slice(msg)).unwrap();
    }
    fn recv(&self, msg: &mut [u8; S]) {
        self.rx.recv_with(|v| msg.copy_from_slice(v)).unwrap();
    }
    fn unlink(name: &str) {
        let _ = ipc::unlink_shared_memory(name);
    }
}

/// iceoryx2 publish-subscribe. The publisher or subscriber of this side is
/// made on first use (one process only sends on a service, the other only
/// receives); a send waits until the peer's subscriber is connected.
struct Iceoryx<const S: usize> {
    service: iceoryx2::service::port_factory::publish_subscribe::PortFactory<Iox, [u8; S], ()>,
    publisher: OnceCell<iceoryx2::port::publisher::Publisher<Iox, [u8; S], ()>>,
    subscriber: OnceCell<iceoryx2::port::subscriber::Subscriber<Iox, [u8; S], ()>>,
    _node: iceoryx2::node::Node<Iox>,
}

impl<const S: usize> Iceoryx<S> {
    fn make(name: &str) -> Self {
        let node = NodeBuilder::new().create::<Iox>().unwrap();
        let service_name: ServiceName = name.try_into().unwrap();
        let service = node
            .service_builder(&service_name)
            .publish_subscribe::<[u8; S]>()
            .history_size(0)
            .subscriber_max_buffer_size(SLOTS)
            .enable_safe_overflow(false)
            .open_or_create()
            .unwrap();
        Iceoryx {
            service,
            publisher: OnceCell::new(),
            subscriber: OnceCell::new(),
            _node: node,
        }
    }
}

impl<const S: usize> Wire<S> for Iceoryx<S> {
    fn create(name: &str) -> Self {
        Self::make(name)
    }
    fn open(name: &str) -> Self {
        Self::make(name)
    }
    fn send(&self, msg: &[u8; S]) {
        let publisher = self.publisher.get_or_init(|| {
            self.service
                .publisher_builder()
                .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
                .create()
                .unwrap()
        });
        // Until the peer's subscriber is connected, a sample reaches nobody:
        // resend (only the first value meets this).
        loop {
            let mut sample = publisher.loan_uninit().unwrap();
            // SAFETY: the payload is S writable bytes; every byte is
            // written before `assume_init`.
            let sample = unsafe {
                sample
                    .payload_mut()
                    .as_mut_ptr()
                    .cast::<u8>()
                    .copy_from_nonoverlapping(msg.as_ptr(), S);
                sample.assume_init()
            };
            if sample.send().unwrap() > 0 {
                return;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    fn recv(&self, msg: &mut [u8; S]) {
        let subscriber = self.subscriber.get_or_init(|| {
            self.service
                .subscriber_builder()
                .buffer_size(SLOTS)
                .create()
                .unwrap()
        });
        loop {
            if let Some(sample) = subscriber.receive().unwrap() {
                msg.copy_from_slice(sample.payload());
                return;
            }
            std::hint::spin_loop();
        }
    }
}

fn child(args: &[String]) {
    pin(1);
    match (args[0].as_str(), args[1].as_str()) {
        ("chan", "64") => run_child::<64, Chan<64>>(args),
        ("chan", "4096") => run_child::<4096, Chan<4096>>(args),
        ("iox", "64") => run_child::<64, Iceoryx<64>>(args),
        ("iox", "4096") => run_child::<4096, Iceoryx<4096>>(args),
        other => panic!("unknown {other:?}"),
    }
}

fn run_child<const S: usize, W: Wire<S>>(args: &[String]) {
    let n: usize = args[3].parse().unwrap();
    match args[2].as_str() {
        "send" => {
            let w = W::open(&args[4]);
            let mut msg = [0u8; S];
            for i in 0..n {
                msg[..8].copy_from_slice(&(i as u64).to_le_bytes());
                w.send(&msg);
            }
            // iceoryx2 drops a sample whose publisher is gone: wait.
            std::thread::sleep(Duration::from_millis(200));
        }
        "echo" => {
            let (ping, pong) = (W::open(&args[4]), W::open(&args[5]));
            let mut msg = [0u8; S];
            for _ in 0..n {
                ping.recv(&mut msg);
                pong.send(&msg);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        other => panic!("unknown role {other}"),
    }
}

fn throughput<const S: usize, W: Wire<S>>(kind: &str, n: usize, tag: usize) -> (f64, f64) {
    let name = format!("/ipc-bench.{}.{kind}-{S}-{tag}", std::process::id());
    let w = W::create(&name);
    let cpu0 = cpu_time();
    let sender = spawn(&[
        kind.into(),
        S.to_string(),
        "send".into(),
        n.to_string(),
        name.clone(),
    ]);
    let mut msg = [0u8; S];
    w.recv(&mut msg);
    let start = Instant::now();
    for _ in 1..n {
        w.recv(&mut msg);
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

fn ping_pong<const S: usize, W: Wire<S>>(kind: &str, n: usize, tag: usize) -> (f64, f64) {
    let (a, b) = (
        format!("/ipc-bench.{}.{kind}-{S}-ping-{tag}", std::process::id()),
        format!("/ipc-bench.{}.{kind}-{S}-pong-{tag}", std::process::id()),
    );
    let (ping, pong) = (W::create(&a), W::create(&b));
    let warm = n / 10;
    let cpu0 = cpu_time();
    let echo = spawn(&[
        kind.into(),
        S.to_string(),
        "echo".into(),
        (n + warm).to_string(),
        a.clone(),
        b.clone(),
    ]);
    let mut msg = [0u8; S];
    let mut times = Vec::with_capacity(n);
    for i in 0..n + warm {
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

type Run = Box<dyn FnMut(usize) -> (f64, f64)>;

fn table(title: &str, unit: &str, reps: usize, higher_is_better: bool, mut rows: Vec<(&str, Run)>) {
    let mut values = vec![Vec::new(); rows.len()];
    let mut cpu = vec![Vec::new(); rows.len()];
    for rep in 0..reps {
        for (i, (_, run)) in rows.iter_mut().enumerate() {
            let (v, c) = run(rep);
            values[i].push(v);
            cpu[i].push(c);
        }
    }
    println!("\n{title}");
    println!("| transport | {unit} (median of {reps}) | CPU | Channel vs this (median ratio) |");
    println!("|---|---|---|---|");
    for (i, (label, _)) in rows.iter().enumerate() {
        let ratio = median(
            values[0]
                .iter()
                .zip(&values[i])
                .map(|(o, v)| if higher_is_better { o / v } else { v / o })
                .collect(),
        );
        println!(
            "| {label} | {:.3} | {:.2} | {ratio:.2}× |",
            median(values[i].clone()),
            median(cpu[i].clone())
        );
    }
}

fn main() {
    set_log_level(LogLevel::Error);
    if std::env::var_os("IPC_BENCH_ROLE").is_some() {
        let args: Vec<String> = std::env::args().skip(1).collect();
        child(&args);
        return;
    }
    pin(0);
    let reps: usize = std::env::var("IPC_BENCH_REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    println!(
        "ipc::Channel vs iceoryx2 0.10: pinned to CPUs 0 and 1, {reps} interleaved repetitions"
    );
    let (big, small, rt) = (scale(1_000_000), scale(200_000), scale(100_000));
    table(
        "One-way, 64 B (million messages/s; CPU ns per message, both processes)",
        "M msg/s",
        reps,
        true,
        vec![
            (
                "ipc::Channel",
                Box::new(move |t| throughput::<64, Chan<64>>("chan", big, t)),
            ),
            (
                "iceoryx2 pub-sub",
                Box::new(move |t| throughput::<64, Iceoryx<64>>("iox", big, t)),
            ),
        ],
    );
    table(
        "One-way, 4 KiB (million messages/s; CPU ns per message)",
        "M msg/s",
        reps,
        true,
        vec![
            (
                "ipc::Channel",
                Box::new(move |t| throughput::<4096, Chan<4096>>("chan", small, t)),
            ),
            (
                "iceoryx2 pub-sub",
                Box::new(move |t| throughput::<4096, Iceoryx<4096>>("iox", small, t)),
            ),
        ],
    );
    table(
        "Ping-pong, 64 B (median round trip µs; CPU µs per round trip)",
        "RTT µs",
        reps,
        false,
        vec![
            (
                "ipc::Channel",
                Box::new(move |t| ping_pong::<64, Chan<64>>("chan", rt, t)),
            ),
            (
                "iceoryx2 pub-sub, busy-poll",
                Box::new(move |t| ping_pong::<64, Iceoryx<64>>("iox", rt, t)),
            ),
        ],
    );
}
