//! Several processes take turns in a critical section guarded by one named
//! semaphore. A second semaphore counts the processes inside the section:
//! the output shows it never goes above 1.
//!
//! Run with `cargo run --release --example demo`.

use std::process::Command;
use std::time::Duration;

use ipc::Semaphore;

const WORKERS: usize = 4;
const ROUNDS: usize = 3;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, role, id, lock, inside] = &args[..] {
        if role == "worker" {
            return worker(id, lock, inside);
        }
    }

    let base = format!("/ipc-demo.{}", std::process::id());
    let lock_name = format!("{base}.lock");
    let inside_name = format!("{base}.inside");
    let lock = Semaphore::create_new(&lock_name, 1)?;
    let inside = Semaphore::create_new(&inside_name, 0)?;
    println!("{WORKERS} processes share the lock {lock_name}, {ROUNDS} turns each");

    let exe = std::env::current_exe()?;
    let children: Vec<_> = (1..=WORKERS)
        .map(|id| {
            Command::new(&exe)
                .args(["worker", &id.to_string(), &lock_name, &inside_name])
                .spawn()
        })
        .collect::<Result<_, _>>()?;
    let mut ok = true;
    for mut child in children {
        ok &= child.wait()?.success();
    }

    println!(
        "all workers done: {} (lock value {}, inside {})",
        if ok { "ok" } else { "a worker failed" },
        lock.value()?,
        inside.value()?
    );
    lock.unlink()?;
    inside.unlink()?;
    if ok {
        Ok(())
    } else {
        Err("a worker failed".into())
    }
}

fn worker(id: &str, lock: &str, inside: &str) -> Result<(), Box<dyn std::error::Error>> {
    let lock = Semaphore::open(lock)?;
    let inside = Semaphore::open(inside)?;
    let pid = std::process::id();
    for turn in 1..=ROUNDS {
        let _guard = lock.lock()?;
        inside.release()?;
        let count = inside.value()?;
        println!(
            "  worker {id} (pid {pid}) turn {turn}: in the critical section, processes inside = {count}"
        );
        if count != 1 {
            return Err(format!("{count} processes inside the critical section").into());
        }
        std::thread::sleep(Duration::from_millis(20));
        inside.acquire()?;
    }
    Ok(())
}
