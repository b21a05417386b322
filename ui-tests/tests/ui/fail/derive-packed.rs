#[derive(ipc::ShmSafe)]
#[repr(C, packed)]
struct Stats {
    flag: u8,
    hits: u64,
}

fn main() {}
