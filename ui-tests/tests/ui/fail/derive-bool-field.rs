#[derive(ipc::ShmSafe)]
#[repr(C)]
struct Flags {
    ready: bool,
    count: u32,
}

fn main() {}
