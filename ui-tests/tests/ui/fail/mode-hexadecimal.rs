#[ipc::named_semaphore(name = "/lock", mode = 0x180)]
struct Lock;

fn main() {}
