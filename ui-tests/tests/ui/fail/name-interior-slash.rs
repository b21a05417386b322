#[ipc::named_semaphore(name = "/app/db")]
struct Lock;

fn main() {}
