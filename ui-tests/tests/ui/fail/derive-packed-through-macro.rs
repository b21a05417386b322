// `packed` handed over by a macro, inside an invisible group, is still
// refused: a packed struct's fields may be unaligned.
macro_rules! whole_attribute {
    ($m:meta) => {
        #[derive(ipc::ShmSafe)]
        #[repr(C)]
        #[$m]
        struct Whole {
            a: u8,
            b: u64,
        }
    };
}
whole_attribute!(repr(packed));

macro_rules! one_hint {
    ($hint:meta) => {
        #[derive(ipc::ShmSafe)]
        #[repr(C, $hint)]
        struct Hint {
            a: u8,
            b: u64,
        }
    };
}
one_hint!(packed);

fn main() {}
