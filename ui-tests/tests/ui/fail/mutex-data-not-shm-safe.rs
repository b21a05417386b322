#[ipc::named_mutex(name = "/app.state")]
#[repr(C)]
struct State {
    jobs: u64,
}

fn main() {
    let _ = State::lock();
}
