#[ipc::named_semaphore(name = "/lock", initial = 1u8)]
struct Lock;

fn main() {}
