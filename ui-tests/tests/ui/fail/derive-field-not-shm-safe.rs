#[repr(C)]
struct Inner {
    x: u32,
}

#[derive(ipc::ShmSafe)]
#[repr(C)]
struct Outer {
    inner: Inner,
}

fn main() {}
