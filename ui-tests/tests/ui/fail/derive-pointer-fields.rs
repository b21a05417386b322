#[derive(ipc::ShmSafe)]
#[repr(C)]
struct Links {
    name: &'static str,
    next: *const Links,
    items: Vec<u32>,
}

fn main() {}
