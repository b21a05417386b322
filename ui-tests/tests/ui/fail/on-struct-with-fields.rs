#[ipc::named_semaphore(name = "/lock")]
struct Lock {
    count: u32,
}

fn main() {}
