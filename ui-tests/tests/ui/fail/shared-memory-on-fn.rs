#[ipc::named_shared_memory(name = "/app.stats")]
fn stats() {}

fn main() {}
