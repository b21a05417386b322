#[ipc::named_mutex(name = "app.lock")]
struct Lock;

fn main() {}
