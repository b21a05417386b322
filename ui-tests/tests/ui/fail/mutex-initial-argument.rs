#[ipc::named_mutex(name = "/app.lock", initial = 1)]
struct Lock;

fn main() {}
