#![deny(warnings)]
// Item shapes the derive reads from tokens: bounds, defaults, where
// clauses, const generics, restricted visibility, raw identifiers, and
// types handed over by a macro_rules! macro.
use std::sync::atomic::AtomicU32;

use ipc::ShmSafe;

#[derive(ShmSafe)]
#[repr(C)]
struct Defaults<T: ShmSafe + Copy = u8, const N: usize = 2>
where
    T: Default,
{
    pub(crate) values: [T; N],
    pub seq: AtomicU32,
}

#[derive(ShmSafe)]
#[repr(C)]
struct TupleWhere<T>(pub(crate) T, pub [u8; 4])
where
    T: ShmSafe;

#[derive(ShmSafe)]
#[repr(C)]
struct RawField {
    r#type: u32,
    r#struct: [u16; 2],
}

#[derive(ShmSafe)]
#[repr(C)]
struct ConstLength {
    lens: [u32; LEN],
}

const LEN: usize = 1 + 1;

macro_rules! shm_struct {
    ($name:ident, $t:ty) => {
        #[derive(ShmSafe)]
        #[repr(C)]
        struct $name {
            value: $t,
            seq: $t,
        }
    };
}
shm_struct!(FromMacro, u64);

#[derive(ShmSafe)]
#[repr(C)]
struct ByHand {
    value: u64,
    seq: u64,
}

const fn layout<T: ShmSafe>() -> u64 {
    T::LAYOUT
}

fn main() {
    // Same fields, names and offsets: the same fingerprint, whichever way
    // the tokens arrived.
    assert_eq!(layout::<FromMacro>(), layout::<ByHand>());
    assert_ne!(layout::<Defaults>(), layout::<Defaults<u32, 3>>());
    assert_ne!(layout::<TupleWhere<u32>>(), layout::<TupleWhere<i32>>());
    assert_ne!(layout::<RawField>(), layout::<ConstLength>());
    let _ = Defaults::<u8, 2> {
        values: [0; 2],
        seq: AtomicU32::new(0),
    }
    .values;
    let _ = TupleWhere(0u8, [0; 4]).1;
    let _ = RawField {
        r#type: 0,
        r#struct: [0; 2],
    }
    .r#type;
    let _ = ConstLength { lens: [0; 2] }.lens;
    let _ = FromMacro { value: 1, seq: 2 }.value + ByHand { value: 1, seq: 2 }.seq;
}
