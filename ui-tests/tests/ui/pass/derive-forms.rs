#![deny(warnings)]
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, AtomicU8};

use ipc::ShmSafe;

#[derive(ShmSafe)]
#[repr(C)]
struct Inner {
    a: u8,
    b: u64,
}

#[derive(ShmSafe)]
#[repr(C, align(64))]
struct Nested {
    inner: Inner,
    many: [Inner; 3],
    grid: [[u16; 4]; 2],
    floats: (),
    x: f64,
}

#[derive(ShmSafe)]
#[repr(C)]
struct Tuple(u32, AtomicU32, [i8; 3]);

#[derive(ShmSafe)]
#[repr(transparent)]
struct Wrapper(AtomicU64);

#[derive(ShmSafe)]
#[repr(C)]
struct Unit;

#[derive(ShmSafe)]
#[repr(C)]
struct Atomics {
    flag: AtomicU8,
    balance: AtomicI64,
}

#[derive(ShmSafe)]
#[repr(C)]
struct Generic<T> {
    value: T,
    seq: u64,
}

/// User types may have the names of std types.
mod geometry {
    #[derive(ipc::ShmSafe)]
    #[repr(C)]
    pub struct Box {
        pub w: u32,
        pub h: u32,
    }

    #[derive(ipc::ShmSafe)]
    #[repr(C)]
    pub struct Option(pub u8);
}

use geometry::Box;

#[derive(ShmSafe)]
#[repr(C)]
struct Scene {
    bounds: Box,
    flag: geometry::Option,
}

const fn layout<T: ShmSafe>() -> u64 {
    T::LAYOUT
}

fn main() {
    let all = [
        layout::<Inner>(),
        layout::<Nested>(),
        layout::<Tuple>(),
        layout::<Wrapper>(),
        layout::<Unit>(),
        layout::<Atomics>(),
        layout::<Generic<u32>>(),
        layout::<Generic<i32>>(),
        layout::<Scene>(),
    ];
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(a, b);
        }
    }
}
