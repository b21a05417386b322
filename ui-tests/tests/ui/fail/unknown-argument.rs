#[ipc::named_semaphore(name = "/lock", colour = "red")]
struct Lock;

fn main() {}
