#[ipc::named_semaphore(name = "/lock", mode = 0o1777)]
struct Lock;

fn main() {}
