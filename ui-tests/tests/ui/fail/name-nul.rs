#[ipc::named_semaphore(name = "/app\0db")]
struct Lock;

fn main() {}
