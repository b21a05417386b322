#[ipc::named_semaphore(initial = 1, mode = 0o600)]
struct Lock;

fn main() {}
