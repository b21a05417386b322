#[ipc::named_semaphore(name = "/lock", initial = 2147483648)]
struct Lock;

fn main() {}
