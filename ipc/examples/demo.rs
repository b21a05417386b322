//! Several processes take turns in a critical section declared with
//! `#[ipc::named_semaphore]`, incrementing a counter in shared memory.
//! The output shows one process inside at a time and no update lost.
//!
//! Run with `cargo run --release --example demo`.

use std::process::Command;
use std::time::Duration;

use ipc::SharedMemory;

/// The lock every worker process takes; checked at compile time.
#[ipc::named_semaphore(name = "/ipc-demo.counter-lock", initial = 1, mode = 0o600)]
struct CounterLock;

const WORKERS: usize = 4;
const TURNS: u64 = 3;
/// Byte offsets in the shared memory: the counter, and how many are inside.
const COUNTER: usize = 0;
const INSIDE: usize = 8;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, role, id, shm] = &args[..] {
        if role == "worker" {
            return worker(id, shm);
        }
    }

    let shm = SharedMemory::options()
        .size(16)
        .create_unique("/ipc-demo.counter")?;
    println!(
        "{WORKERS} processes, {TURNS} turns each, lock {} and counter in {}",
        CounterLock::NAME,
        shm.name()
    );
    let exe = std::env::current_exe()?;
    let children: Vec<_> = (1..=WORKERS)
        .map(|id| {
            Command::new(&exe)
                .args(["worker", &id.to_string(), shm.name()])
                .spawn()
        })
        .collect::<Result<_, _>>()?;
    let mut ok = true;
    for mut child in children {
        ok &= child.wait()?.success();
    }

    let counter = read(&shm.map()?, COUNTER)?;
    let expected = WORKERS as u64 * TURNS;
    println!(
        "counter = {counter} (expected {expected}): {}",
        if counter == expected {
            "no update lost"
        } else {
            "updates were lost!"
        }
    );
    shm.unlink()?;
    CounterLock::unlink()?;
    if ok && counter == expected {
        Ok(())
    } else {
        Err("the workers did not exclude each other".into())
    }
}

fn worker(id: &str, shm: &str) -> Result<(), Box<dyn std::error::Error>> {
    let map = SharedMemory::open(shm)?.map()?;
    let pid = std::process::id();
    for turn in 1..=TURNS {
        ipc::critical!(CounterLock => {
            let inside = read(&map, INSIDE)? + 1;
            map.write_at(INSIDE, &inside.to_ne_bytes())?;
            let before = read(&map, COUNTER)?;
            // A slow read-modify-write: without the lock, others would interleave.
            std::thread::sleep(Duration::from_millis(20));
            map.write_at(COUNTER, &(before + 1).to_ne_bytes())?;
            println!(
                "  worker {id} (pid {pid}) turn {turn}: counter {before} -> {}, processes inside: {inside}",
                before + 1
            );
            map.write_at(INSIDE, &(inside - 1).to_ne_bytes())?;
        })?;
    }
    Ok(())
}

fn read(map: &ipc::Mapping, offset: usize) -> ipc::Result<u64> {
    let mut buf = [0u8; 8];
    map.read_at(offset, &mut buf)?;
    Ok(u64::from_ne_bytes(buf))
}
