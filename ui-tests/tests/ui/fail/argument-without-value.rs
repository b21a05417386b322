#[ipc::named_semaphore(name)]
struct Lock;

fn main() {}
