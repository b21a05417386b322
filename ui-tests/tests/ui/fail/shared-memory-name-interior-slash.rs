#[ipc::named_shared_memory(name = "/app/stats", mode = 0o640)]
#[derive(ipc::ShmSafe)]
#[repr(C)]
struct Stats {
    hits: std::sync::atomic::AtomicU64,
}

fn main() {}
