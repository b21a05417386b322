const NAME: &str = "/lock";

#[ipc::named_semaphore(name = NAME)]
struct Lock;

fn main() {}
