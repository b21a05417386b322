#[ipc::named_semaphore(name = "jobs")]
struct Lock;

fn main() {}
