#[ipc::named_semaphore(name = "/lock")]
fn lock() {}

fn main() {}
