//! `Channel<T>` across real processes: this binary re-runs itself in a
//! child role (`IPC_TEST_ROLE`), and the parent kills children with SIGKILL
//! where a test needs a death. No test asserts a speed.

// wait4(2) for a child's CPU time is a libc call; it carries its SAFETY argument.
#![allow(unsafe_code)]

mod common;

use std::process::{Child, ExitCode};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Name, kill_and_reap, spawn};
use ipc::{Channel, ErrorKind, Semaphore, Shared, SharedMemory, ShmSafe};

/// A value of the multi-sender tests: `[sender, sequence number]`.
type Pair = [u64; 2];
/// Tells a receiver to stop.
const STOP: Pair = [u64::MAX, 0];

const MAX_SENDERS: usize = 8;
const EACH: usize = 20_000;

/// What receivers report: how often each `(sender, seq)` arrived, and how
/// often a receiver saw a sender's values out of order.
#[derive(ShmSafe)]
#[repr(C)]
struct Tally {
    disorder: AtomicU64,
    counts: [AtomicU32; MAX_SENDERS * EACH],
}

fn main() -> ExitCode {
    if let Ok(role) = std::env::var("IPC_TEST_ROLE") {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let code = match role.as_str() {
            "send-seq" => child_send_seq(&args[0], args[1].parse().unwrap()),
            "send-pairs" => child_send_pairs(&args[0], &args[1], &args[2], &args[3]),
            "recv-tally" => child_recv_tally(&args[0], &args[1]),
            "recv-one" => child_recv_one(&args[0]),
            "open-u32" => child_open_u32(&args[0]),
            "die-in-send" => child_die_in_send(&args[0], &args[1]),
            "die-in-recv" => child_die_in_recv(&args[0], &args[1]),
            other => panic!("unknown role {other}"),
        };
        return ExitCode::from(code);
    }
    let tests: [(&str, fn()); 9] = [
        (
            "one_sender_one_receiver_200k_in_order",
            one_sender_one_receiver_200k_in_order,
        ),
        (
            "three_senders_two_receivers_exactly_once",
            three_senders_two_receivers_exactly_once,
        ),
        ("try_timeout_and_busy", try_timeout_and_busy),
        (
            "mismatched_type_or_capacity_is_invalid_data",
            mismatched_type_or_capacity_is_invalid_data,
        ),
        ("idle_receiver_sleeps", idle_receiver_sleeps),
        (
            "killed_inside_send_or_recv_loses_one_value",
            killed_inside_send_or_recv_loses_one_value,
        ),
        (
            "killed_but_unreaped_claimant_is_skipped",
            killed_but_unreaped_claimant_is_skipped,
        ),
        (
            "sigkill_storm_never_wedges_survivors",
            sigkill_storm_never_wedges_survivors,
        ),
        ("namespace_left_as_found", namespace_left_as_found),
    ];
    common::run_tests(&tests)
}

/// Waits for `child` at most `limit`; kills it and fails the test on expiry
/// (a wedged channel shows up here, not as a hung test run).
fn wait_success(child: &mut Child, limit: Duration, what: &str) {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{what} failed: {status}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {limit:?}: wedged");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// One sender process sends 0..200 000 through 256 slots; this process
/// receives them all, in order.
fn one_sender_one_receiver_200k_in_order() {
    const N: u64 = 200_000;
    let name = Name::shm("chan-1x1");
    let channel = Channel::<u64>::create_new(&name, 256).unwrap();
    let rx = channel.receiver();
    let mut sender = spawn("send-seq", &[&name, &N.to_string()]);
    for expected in 0..N {
        let got = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(got, expected, "out of order or lost");
    }
    wait_success(&mut sender, Duration::from_secs(30), "the sender");
    assert!(channel.is_empty());
    assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::Busy);
}

fn child_send_seq(name: &str, n: u64) -> u8 {
    let tx = Channel::<u64>::open(name).unwrap().sender();
    for i in 0..n {
        tx.send(i).unwrap();
    }
    0
}

/// Opens the tally and checks every count: none above 1, at most
/// `allowed_missing` zeros among the values the senders got to send (all
/// of a finished sender's, a killed sender's up to the last one received).
fn check_tally(tally: &Tally, finished: &[usize], killed: &[usize], allowed_missing: usize) {
    assert_eq!(tally.disorder.load(Ordering::Relaxed), 0, "out of order");
    let count = |s: usize, seq: usize| tally.counts[s * EACH + seq].load(Ordering::Relaxed);
    let mut missing = 0;
    for &s in finished.iter().chain(killed) {
        let counts: Vec<u32> = (0..EACH).map(|seq| count(s, seq)).collect();
        assert!(counts.iter().all(|&c| c <= 1), "sender {s}: a duplicate");
        let sent = if finished.contains(&s) {
            EACH
        } else {
            counts
                .iter()
                .rposition(|&c| c == 1)
                .map_or(0, |last| last + 1)
        };
        missing += counts[..sent].iter().filter(|&&c| c == 0).count();
    }
    assert!(
        missing <= allowed_missing,
        "{missing} values lost, at most {allowed_missing} allowed"
    );
}

/// 3 sender processes × 20 000 values, 2 receiver processes: every value
/// arrives exactly once, and each receiver sees each sender's values in order.
fn three_senders_two_receivers_exactly_once() {
    let name = Name::shm("chan-3x2");
    let tally_name = Name::shm("chan-3x2-tally");
    let channel = Channel::<Pair>::create_new(&name, 64).unwrap();
    let tally = Shared::<Tally>::create_new(&tally_name).unwrap();
    let mut receivers: Vec<Child> = (0..2)
        .map(|_| spawn("recv-tally", &[&name, &tally_name]))
        .collect();
    let mut senders: Vec<Child> = (0..3)
        .map(|s| {
            spawn(
                "send-pairs",
                &[&name, &s.to_string(), &EACH.to_string(), "0"],
            )
        })
        .collect();
    for s in &mut senders {
        wait_success(s, Duration::from_secs(60), "a sender");
    }
    let tx = channel.sender();
    for _ in 0..receivers.len() {
        tx.send(STOP).unwrap();
    }
    for r in &mut receivers {
        wait_success(r, Duration::from_secs(60), "a receiver");
    }
    check_tally(&tally, &[0, 1, 2], &[], 0);
    assert!(channel.is_empty());
}

/// Sends `[id, 0..count]`, napping 100 µs every 64 values when `pace` is 1
/// (so that a storm can hit it mid-stream).
fn child_send_pairs(name: &str, id: &str, count: &str, pace: &str) -> u8 {
    let tx = Channel::<Pair>::open(name).unwrap().sender();
    let id: u64 = id.parse().unwrap();
    let count: u64 = count.parse().unwrap();
    for seq in 0..count {
        tx.send([id, seq]).unwrap();
        if pace == "1" && seq % 64 == 63 {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    0
}

fn child_recv_tally(name: &str, tally: &str) -> u8 {
    let rx = Channel::<Pair>::open(name).unwrap().receiver();
    let tally = Shared::<Tally>::open(tally).unwrap();
    let mut next = [0u64; MAX_SENDERS];
    loop {
        let [sender, seq] = rx.recv().unwrap();
        if [sender, seq] == STOP {
            return 0;
        }
        let s = sender as usize;
        if seq < next[s] {
            tally.disorder.fetch_add(1, Ordering::Relaxed);
        }
        next[s] = seq + 1;
        tally.counts[s * EACH + seq as usize].fetch_add(1, Ordering::Relaxed);
    }
}

/// `try_*` say Busy at once, `*_timeout` after the timeout, and a receiver
/// in another process waiting with a timeout gets a value sent meanwhile.
fn try_timeout_and_busy() {
    let name = Name::shm("chan-busy");
    let channel = Channel::<u32>::create_new(&name, 2).unwrap();
    let (tx, rx) = (channel.sender(), channel.receiver());
    assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::Busy);
    let started = Instant::now();
    let err = rx.recv_timeout(Duration::from_millis(50)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "gave up early"
    );
    assert_eq!(
        rx.recv_timeout(Duration::ZERO).unwrap_err().kind(),
        ErrorKind::Busy
    );
    tx.try_send(1).unwrap();
    tx.send_timeout(2, Duration::ZERO).unwrap();
    assert_eq!(channel.len(), 2);
    assert_eq!(tx.try_send(3).unwrap_err().kind(), ErrorKind::Busy);
    let started = Instant::now();
    let err = tx.send_timeout(3, Duration::from_millis(50)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "gave up early"
    );
    assert_eq!(rx.try_recv().unwrap(), 1);
    assert_eq!(rx.recv_timeout(Duration::from_millis(50)).unwrap(), 2);
    assert!(channel.is_empty());

    let mut child = spawn("recv-one", &[&name]);
    std::thread::sleep(Duration::from_millis(100));
    tx.send(42).unwrap();
    wait_success(&mut child, Duration::from_secs(30), "the waiting receiver");
}

fn child_recv_one(name: &str) -> u8 {
    let rx = Channel::<u32>::open(name).unwrap().receiver();
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(42) => 0,
        other => {
            eprintln!("recv-one got {other:?}");
            1
        }
    }
}

/// Another `T` (in another process), another capacity, a `Shared`, a plain
/// shared-memory object and an empty one are all InvalidData.
fn mismatched_type_or_capacity_is_invalid_data() {
    let name = Name::shm("chan-mismatch");
    let channel = Channel::<u64>::create_new(&name, 8).unwrap();
    let mut child = spawn("open-u32", &[&name]);
    wait_success(&mut child, Duration::from_secs(30), "the u32 opener");
    let err = Channel::<u32>::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    let message = err.to_string();
    assert!(
        message.contains("expected ipc::Channel<u32>") || message.contains("Channel<u32>"),
        "{message}"
    );
    assert!(message.contains("found a Channel (capacity 8"), "{message}");
    println!("    {message}");
    let err = Channel::<u64>::create(&name, 16).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert!(err.to_string().contains("capacity 8"), "{err}");
    assert_eq!(Channel::<u64>::open(&name).unwrap().capacity(), 8);
    drop(channel);

    let shared = Name::shm("chan-mismatch-shared");
    let _s = Shared::<[u64; 4]>::create_new(&shared).unwrap();
    let err = Channel::<u64>::open(&shared).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");

    let plain = Name::shm("chan-mismatch-plain");
    let shm = SharedMemory::create_new(&plain, 100).unwrap();
    shm.map().unwrap().write_at(0, b"not a channel").unwrap();
    for err in [
        Channel::<u64>::open(&plain).unwrap_err(),
        Channel::<u64>::create(&plain, 4).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
    }

    let empty = Name::shm("chan-mismatch-empty");
    let _e = SharedMemory::create_new(&empty, 0).unwrap();
    let err = Channel::<u64>::open(&empty).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
}

fn child_open_u32(name: &str) -> u8 {
    match Channel::<u32>::open(name) {
        Err(e) if e.kind() == ErrorKind::InvalidData => 0,
        other => {
            eprintln!("opening as u32 gave {other:?}");
            1
        }
    }
}

/// A receiver process blocked in `recv` for 300 ms uses (far) less than
/// 50 ms of CPU, start-up included: it sleeps rather than polls.
fn idle_receiver_sleeps() {
    let name = Name::shm("chan-idle");
    let channel = Channel::<u32>::create_new(&name, 4).unwrap();
    // Reaped by wait4 below, which also reports its CPU time.
    #[allow(clippy::zombie_processes)]
    let child = spawn("recv-one", &[&name]);
    std::thread::sleep(Duration::from_millis(300));
    channel.sender().send(42).unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our unreaped child (std's Child does not reap it
    // before `wait`, which we never call); both pointers are valid.
    let reaped = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
    assert_eq!(reaped, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
    println!("    idle receiver: {cpu:?} of CPU over 300 ms");
    assert!(
        cpu < Duration::from_millis(50),
        "the idle receiver used {cpu:?}"
    );
}

/// A process killed while it holds a slot — inside `send_with` or
/// `recv_with` — costs exactly that value; senders and receivers that were
/// waiting for that slot, asleep or not, carry on.
fn killed_inside_send_or_recv_loses_one_value() {
    let name = Name::shm("chan-die");
    let inside = Name::sem("chan-die-inside");
    let channel = Channel::<u64>::create_new(&name, 2).unwrap();
    let sem = Semaphore::create_new(&inside, 0).unwrap();
    let (tx, rx) = (channel.sender(), channel.receiver());

    // A receiver asleep on an empty channel; a sender dies holding the
    // slot the receiver waits for.
    let waiting = {
        let rx = rx.clone();
        std::thread::spawn(move || rx.recv_timeout(Duration::from_secs(20)))
    };
    std::thread::sleep(Duration::from_millis(50));
    let child = spawn("die-in-send", &[&name, &inside]);
    sem.acquire_timeout(Duration::from_secs(20)).unwrap();
    kill_and_reap(child);
    tx.send(2).unwrap();
    assert_eq!(
        waiting.join().unwrap().unwrap(),
        2,
        "the dead sender's 1 is skipped"
    );

    // The same at full capacity for a sender: the receiver dies holding a
    // value; a sender waiting for room gets it.
    tx.send(3).unwrap();
    tx.send(4).unwrap();
    let child = spawn("die-in-recv", &[&name, &inside]);
    sem.acquire_timeout(Duration::from_secs(20)).unwrap();
    let waiting = {
        let tx = tx.clone();
        std::thread::spawn(move || tx.send_timeout(5, Duration::from_secs(20)))
    };
    std::thread::sleep(Duration::from_millis(50));
    kill_and_reap(child);
    waiting.join().unwrap().unwrap();
    assert_eq!(rx.recv().unwrap(), 4, "3 died with its receiver");
    assert_eq!(rx.recv().unwrap(), 5);
    assert!(channel.is_empty());
}

/// A sender killed inside `send_with` whose parent has not reaped it yet (a
/// zombie: `kill(pid, 0)` still succeeds) is dead all the same: a receiver
/// skips its slot and gets the next value, before the reaping.
fn killed_but_unreaped_claimant_is_skipped() {
    let name = Name::shm("chan-zombie");
    let inside = Name::sem("chan-zombie-inside");
    let channel = Channel::<u64>::create_new(&name, 2).unwrap();
    let sem = Semaphore::create_new(&inside, 0).unwrap();
    let (tx, rx) = (channel.sender(), channel.receiver());
    let mut child = spawn("die-in-send", &[&name, &inside]);
    sem.acquire_timeout(Duration::from_secs(20)).unwrap();
    child.kill().unwrap();
    tx.send(2).unwrap();
    let got = rx.recv_timeout(Duration::from_secs(10));
    child.wait().unwrap();
    assert_eq!(got.unwrap(), 2, "the zombie's 1 is skipped");
    assert!(channel.is_empty());
}

fn child_die_in_send(name: &str, inside: &str) -> u8 {
    let tx = Channel::<u64>::open(name).unwrap().sender();
    let sem = Semaphore::open(inside).unwrap();
    tx.send_with(|v| {
        *v = 1;
        sem.release().unwrap();
        std::thread::sleep(Duration::from_secs(60));
    })
    .unwrap();
    1
}

fn child_die_in_recv(name: &str, inside: &str) -> u8 {
    let rx = Channel::<u64>::open(name).unwrap().receiver();
    let sem = Semaphore::open(inside).unwrap();
    rx.recv_with(|_| {
        sem.release().unwrap();
        std::thread::sleep(Duration::from_secs(60));
    })
    .unwrap();
    1
}

/// Six paced sender processes and two receiver processes; a storm of
/// SIGKILLs hits four of the senders and any receiver (replaced at once).
/// The two spared senders finish, every value arrives at most once and in
/// order per sender, and the values lost number at most the receivers
/// killed (a killed sender loses only the value it had not finished
/// sending, after which it sent nothing).
fn sigkill_storm_never_wedges_survivors() {
    const SENDERS: usize = 6;
    const SPARED: usize = 2;
    let name = Name::shm("chan-storm");
    let tally_name = Name::shm("chan-storm-tally");
    let channel = Channel::<Pair>::create_new(&name, 16).unwrap();
    let tally = Shared::<Tally>::create_new(&tally_name).unwrap();
    let receiver = || spawn("recv-tally", &[&name, &tally_name]);
    let mut receivers: Vec<Child> = (0..2).map(|_| receiver()).collect();
    let mut senders: Vec<Option<Child>> = (0..SENDERS)
        .map(|s| {
            Some(spawn(
                "send-pairs",
                &[&name, &s.to_string(), &EACH.to_string(), "1"],
            ))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut rng = std::process::id() as u64 | 1;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let (mut killed_receivers, mut killed_senders) = (0, Vec::new());
    loop {
        assert!(
            Instant::now() < deadline,
            "the storm did not finish: wedged"
        );
        std::thread::sleep(Duration::from_micros(500 + next() % 3000));
        let spared_done = senders[..SPARED]
            .iter_mut()
            .all(|s| s.as_mut().is_none_or(|c| c.try_wait().unwrap().is_some()));
        if spared_done {
            break;
        }
        if next() % 3 == 0 {
            let r = (next() % 2) as usize;
            kill_and_reap(std::mem::replace(&mut receivers[r], receiver()));
            killed_receivers += 1;
        } else {
            let s = SPARED + (next() as usize % (SENDERS - SPARED));
            if let Some(child) = senders[s].take() {
                kill_and_reap(child);
                killed_senders.push(s);
            }
        }
    }
    let mut finished = Vec::new();
    for (s, child) in senders.iter_mut().enumerate() {
        if let Some(child) = child {
            wait_success(child, Duration::from_secs(60), "a sender");
            finished.push(s);
        }
    }
    let tx = channel.sender();
    for _ in 0..receivers.len() {
        tx.send(STOP).unwrap();
    }
    for r in &mut receivers {
        wait_success(r, Duration::from_secs(60), "a receiver");
    }
    println!(
        "    killed {killed_receivers} receivers and senders {killed_senders:?}; \
         finished senders {finished:?}"
    );
    assert!(
        killed_receivers > 0 && !killed_senders.is_empty(),
        "the storm missed"
    );
    check_tally(&tally, &finished, &killed_senders, killed_receivers);
}

/// Every test above unlinked what it created, on success and on failure:
/// no name of this process (`common::unique` puts the pid in each) is left.
/// Only our own names are looked at, so that parallel test runs of other
/// checkouts on the same machine cannot fail this one.
fn namespace_left_as_found() {
    let ours = format!(".{}.", std::process::id());
    let left: Vec<String> = common::namespace()
        .into_iter()
        .filter(|n| n.contains(&ours))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
