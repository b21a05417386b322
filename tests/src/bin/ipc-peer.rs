//! A Rust peer process for the mixed-language tests:
//! `ipc-peer count <shm name> <rounds>` increments the u64 (little endian)
//! at offset 0 of the shared memory `rounds` times, each inside
//! `critical!(StressLock)`, the semaphore the Python peers use too.

/// The lock shared with the Python peers of `tests/python.rs`.
#[ipc::named_semaphore(name = "/ipc-tests.stress-lock", initial = 1)]
struct StressLock;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [cmd, shm, rounds] = &args[..] else {
        return Err("usage: ipc-peer count <shm name> <rounds>".into());
    };
    if cmd != "count" {
        return Err(format!("unknown command {cmd}").into());
    }
    let rounds: u64 = rounds.parse()?;
    let map = ipc::SharedMemory::open(shm)?.map()?;
    for _ in 0..rounds {
        ipc::critical!(StressLock => {
            let mut buf = [0u8; 8];
            map.read_at(0, &mut buf)?;
            map.write_at(0, &(u64::from_le_bytes(buf) + 1).to_le_bytes())?;
        })?;
    }
    Ok(())
}
