//! [`ShmSafe`]: what may live in shared memory, and its layout fingerprint.

use core::sync::atomic::{
    AtomicI8, AtomicI16, AtomicI32, AtomicI64, AtomicIsize, AtomicU8, AtomicU16, AtomicU32,
    AtomicU64, AtomicUsize,
};

/// A type that may live in memory shared between processes.
///
/// [`Shared<T>`](crate::Shared) and [`Mutex<T>`](crate::Mutex) hold a
/// `T: ShmSafe`. Derive it with
/// `#[derive(ipc::ShmSafe)]` on a `#[repr(C)]` or `#[repr(transparent)]`
/// struct whose fields are all `ShmSafe`; the derive checks every rule at
/// compile time and computes [`LAYOUT`](ShmSafe::LAYOUT).
///
/// It is implemented for the integer and float primitives, the integer
/// atomics, `[T; N]` and `()`. It is **not** implemented for `bool` and
/// `char` (not every bit pattern is one: another process, or a crash halfway
/// through a write, could leave an invalid one), `AtomicBool` (likewise),
/// enums and `Option` (invalid discriminants), references, raw pointers,
/// `Box`, `Vec`, `String` (they point into one process's address space), or
/// descriptors (they mean something only inside one process).
///
/// # Safety
///
/// An impl promises that every bit pattern, all-zeros included, is a valid
/// `Self`; that `Self` holds no pointer, reference, descriptor or anything
/// else that means something only inside one process; that its layout is
/// fixed by `#[repr(C)]`, `#[repr(transparent)]` or a primitive; and that
/// [`LAYOUT`](ShmSafe::LAYOUT) changes whenever the layout does.
///
/// # Examples
///
/// ```
/// # mod ipc { pub use ::ipc::*; pub use ipc_macros::*; } // the facade, in named-ipc-core
/// use std::sync::atomic::AtomicU64;
/// use ipc::ShmSafe;
///
/// #[derive(ipc::ShmSafe)]
/// #[repr(C)]
/// struct Stats {
///     hits: AtomicU64,
///     misses: AtomicU64,
///     last_pid: [u32; 4],
/// }
///
/// #[derive(ipc::ShmSafe)]
/// #[repr(C)]
/// struct Renamed {
///     hits: AtomicU64,
///     misses: AtomicU64,
///     last_pids: [u32; 4], // renamed: another layout
/// }
///
/// assert_ne!(Stats::LAYOUT, Renamed::LAYOUT);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot live in shared memory: it does not implement `ipc::ShmSafe`",
    label = "not `ShmSafe`",
    note = "`bool`, `char`, enums and `Option` have invalid bit patterns: store a `u8`/`u32` with constants instead",
    note = "references, pointers, `Box`, `Vec` and `String` point into one process: use fixed-size arrays and indices",
    note = "`Cell` and `RefCell` are not synchronised across processes: use atomics, or `ipc::Mutex<T>`",
    note = "a struct of your own needs `#[derive(ipc::ShmSafe)]` and `#[repr(C)]`"
)]
pub unsafe trait ShmSafe: Sized + Sync + 'static {
    /// A fingerprint of the layout: size, alignment, and each field's name,
    /// offset and type fingerprint, recursively. Equal in every process built
    /// from the same definition on the same target; different when a field
    /// is added, removed, reordered, renamed or retyped.
    const LAYOUT: u64;
}

/// FNV-1a over `bytes`, continuing from `hash`; usable in `const` context.
#[must_use]
pub(crate) const fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// FNV-1a's offset basis.
const BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// Mixes a number into a fingerprint.
#[must_use]
pub(crate) const fn mix(hash: u64, n: u64) -> u64 {
    fnv1a(hash, &n.to_le_bytes())
}

/// The fingerprint of a primitive: its name, size and alignment.
#[must_use]
pub(crate) const fn primitive(name: &str, size: usize, align: usize) -> u64 {
    mix(
        mix(fnv1a(fnv1a(BASIS, b"prim:"), name.as_bytes()), size as u64),
        align as u64,
    )
}

/// The start of a struct's fingerprint: its size and alignment.
#[must_use]
pub const fn struct_start(size: usize, align: usize) -> u64 {
    mix(mix(fnv1a(BASIS, b"struct"), size as u64), align as u64)
}

/// Adds a field (name, offset, the field type's fingerprint) to a struct's fingerprint.
#[must_use]
pub const fn struct_field(hash: u64, name: &str, offset: usize, layout: u64) -> u64 {
    // The name's length goes in first, so that ("ab", "c") and ("a", "bc") differ.
    let hash = fnv1a(mix(hash, name.len() as u64), name.as_bytes());
    mix(mix(hash, offset as u64), layout)
}

macro_rules! primitives {
    ($($t:ty),* $(,)?) => {$(
        // SAFETY: every bit pattern is a valid value of this integer, float
        // or integer atomic (the atomics have the layout of their integer);
        // none holds a pointer; the layout is the primitive's.
        unsafe impl ShmSafe for $t {
            const LAYOUT: u64 = primitive(
                stringify!($t),
                core::mem::size_of::<$t>(),
                core::mem::align_of::<$t>(),
            );
        }
    )*};
}

primitives!(
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    AtomicU8,
    AtomicU16,
    AtomicU32,
    AtomicU64,
    AtomicUsize,
    AtomicI8,
    AtomicI16,
    AtomicI32,
    AtomicI64,
    AtomicIsize,
);

// SAFETY: `()` has one value and no bytes.
unsafe impl ShmSafe for () {
    const LAYOUT: u64 = primitive("()", 0, 1);
}

// SAFETY: an array of `T` is valid for every bit pattern when `T` is, holds
// what `T` holds, and has the layout of N `T`s in a row.
unsafe impl<T: ShmSafe, const N: usize> ShmSafe for [T; N] {
    const LAYOUT: u64 = mix(mix(fnv1a(BASIS, b"array"), T::LAYOUT), N as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_types_apart() {
        let all = [
            u8::LAYOUT,
            i8::LAYOUT,
            AtomicU8::LAYOUT,
            u64::LAYOUT,
            AtomicU64::LAYOUT,
            f64::LAYOUT,
            i64::LAYOUT,
            <[u8; 8]>::LAYOUT,
            <[u8; 9]>::LAYOUT,
            <[u16; 4]>::LAYOUT,
            <()>::LAYOUT,
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn field_names_are_delimited() {
        let s = struct_start(8, 4);
        assert_ne!(
            struct_field(struct_field(s, "ab", 0, 1), "c", 4, 1),
            struct_field(struct_field(s, "a", 0, 1), "bc", 4, 1)
        );
    }

    #[test]
    fn usable_in_const_context() {
        const L: u64 = <[AtomicU32; 3]>::LAYOUT;
        assert_eq!(L, <[AtomicU32; 3]>::LAYOUT);
    }
}
