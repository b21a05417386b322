#[ipc::named_mutex(name = "/app.state")]
#[derive(ipc::ShmSafe)]
#[repr(C)]
struct State {
    ready: bool,
}

fn main() {
    let _ = State::lock();
    let _ = ipc::critical!(State as s => { s.ready });
}
