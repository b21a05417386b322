#[derive(ipc::ShmSafe)]
#[repr(u8)]
enum State {
    Idle,
    Busy,
}

fn main() {}
