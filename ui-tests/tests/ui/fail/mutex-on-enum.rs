#[ipc::named_mutex(name = "/app.lock")]
enum Lock {
    Held,
}

fn main() {}
