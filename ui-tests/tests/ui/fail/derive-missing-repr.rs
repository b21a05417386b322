#[derive(ipc::ShmSafe)]
struct Stats {
    hits: u64,
}

fn main() {}
