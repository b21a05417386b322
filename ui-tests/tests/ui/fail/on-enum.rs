#[ipc::named_semaphore(name = "/lock")]
enum Lock {
    Held,
}

fn main() {}
