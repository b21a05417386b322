#[ipc::named_semaphore(name = "/lock")]
struct Lock<const N: usize>;

fn main() {}
