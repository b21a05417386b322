// Types refused by their spelling, however they are written.
#[derive(ipc::ShmSafe)]
#[repr(C)]
struct Refused {
    root_path: ::core::sync::atomic::AtomicBool,
    tuple: (u8, u16),
    function: fn(u8) -> u8,
    reference: &'static dyn Sync,
}

#[derive(ipc::ShmSafe)]
#[repr(C)]
struct TupleField(pub (u8, u16));

macro_rules! with_field {
    ($t:ty) => {
        #[derive(ipc::ShmSafe)]
        #[repr(C)]
        struct FromMacro {
            field: $t,
        }
    };
}
with_field!(char);

fn main() {}
