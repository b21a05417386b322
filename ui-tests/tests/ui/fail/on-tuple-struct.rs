#[ipc::named_semaphore(name = "/lock")]
struct Lock(u32);

fn main() {}
