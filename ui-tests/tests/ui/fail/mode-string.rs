#[ipc::named_semaphore(name = "/lock", mode = "0o600")]
struct Lock;

fn main() {}
