#[ipc::named_semaphore(name = "/a", name = "/b")]
struct Lock;

fn main() {}
