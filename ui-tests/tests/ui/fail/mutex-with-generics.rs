#[ipc::named_mutex(name = "/app.state")]
#[derive(ipc::ShmSafe)]
#[repr(C)]
struct State<T> {
    value: T,
}

fn main() {}
