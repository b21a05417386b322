#[ipc::named_semaphore(name = "/lock", initial = -1)]
struct Lock;

fn main() {}
