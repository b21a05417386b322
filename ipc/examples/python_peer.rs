//! Rust and Python sharing a message queue, shared memory and a semaphore.
//!
//! The Rust half creates the objects and starts `examples/python_peer.py`,
//! which opens them by name with posix_ipc, sends three jobs, writes a
//! greeting into the shared memory and releases the semaphore.
//!
//! Run with `cargo run --example python_peer`; the Python interpreter is
//! `$IPC_TEST_PYTHON` (the venv `.ci/run` makes) or `python3`, with posix_ipc
//! installed (`pip install posix-ipc==1.3.2`).

use std::process::Command;
use std::time::Duration;

use ipc::{MessageQueue, Semaphore, SharedMemory};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let queue = MessageQueue::options()
        .max_messages(8)
        .max_message_size(64)
        .create_unique("/ipc-example.jobs")?;
    let memory = SharedMemory::options()
        .size(4096)
        .create_unique("/ipc-example.memory")?;
    let ready = Semaphore::options().create_unique("/ipc-example.ready")?;

    let python = std::env::var("IPC_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/python_peer.py");
    let status = Command::new(&python)
        .args([script, queue.name(), memory.name(), ready.name()])
        .status();
    let result = match status {
        Ok(status) if status.success() => report(&queue, &memory, &ready),
        Ok(status) => Err(format!("{python} {script} failed: {status}").into()),
        Err(e) => Err(format!("cannot run {python}: {e}").into()),
    };
    queue.unlink()?;
    memory.unlink()?;
    ready.unlink()?;
    result
}

fn report(
    queue: &MessageQueue,
    memory: &SharedMemory,
    ready: &Semaphore,
) -> Result<(), Box<dyn std::error::Error>> {
    ready.acquire_timeout(Duration::from_secs(10))?;
    while let Ok((job, priority)) = queue.try_receive() {
        println!(
            "job from Python (priority {priority}): {}",
            String::from_utf8_lossy(&job)
        );
    }
    let mut greeting = [0u8; 17];
    memory.map()?.read_at(0, &mut greeting)?;
    println!("shared memory says: {}", String::from_utf8_lossy(&greeting));
    Ok(())
}
