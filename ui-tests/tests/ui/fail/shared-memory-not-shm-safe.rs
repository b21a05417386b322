#[ipc::named_shared_memory(name = "/app.stats")]
#[repr(C)]
struct Stats {
    hits: u64,
}

fn main() {
    let _ = Stats::shared();
}
