#[ipc::named_semaphore(name = "/lock", mode = 600)]
struct Lock;

fn main() {}
