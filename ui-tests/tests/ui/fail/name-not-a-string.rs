#[ipc::named_semaphore(name = 42)]
struct Lock;

fn main() {}
