#[ipc::named_semaphore(name = b"/lock")]
struct Lock;

fn main() {}
