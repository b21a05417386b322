#![deny(warnings)]
#![allow(unused_braces)] // `Tr<{ 1 }>` on purpose: a brace group in a where clause
// What a macro_rules! macro hands the attributes: visibilities, paths,
// types and literals as fragments (some inside invisible groups), and
// generics the derive must read whole.
use ipc::ShmSafe;

macro_rules! declare {
    ($v:vis $name:ident, $lock:ident, $lit:literal, $mode:literal, $derive:path, [$fv:vis x]) => {
        #[derive($derive)]
        #[repr(C)]
        $v struct $name {
            $fv value: u64,
            seq: u32,
        }

        #[derive($derive)]
        #[repr(C)]
        $v struct Tuple($fv u8, $fv [u16; 2]);

        #[ipc::named_semaphore(name = $lit, initial = 2, mode = $mode)]
        $v struct $lock;

        #[ipc::named_mutex(name = "/ipc-ui.fragments-mutex")]
        #[derive($derive)]
        #[repr(C)]
        $v struct Guarded {
            count: u64,
        }
    };
}
declare!(pub(crate) Stats, Lock, "/ipc-ui.fragments", 0o640, ipc::ShmSafe, [x]);

mod private {
    macro_rules! declare_private {
        ($v:vis $name:ident) => {
            #[ipc::named_semaphore(name = "/ipc-ui.fragments-private")]
            $v struct $name;
        };
    }
    declare_private!(Private);
    pub(crate) fn name() -> &'static str {
        Private::NAME
    }
}

pub trait Tr<const N: usize> {}
impl<T> Tr<1> for T {}

// A const argument in braces inside the where clause is not the body.
#[derive(ShmSafe)]
#[repr(C)]
struct BraceInWhere<T>
where
    T: Tr<{ 1 }>,
{
    a: u8,
    t: T,
}

#[derive(ShmSafe)]
#[repr(C)]
struct TupleBraceInWhere<T>(u8, T)
where
    T: Tr<{ 1 }>;

pub trait Of<T> {}
impl<T, U> Of<T> for U {}

// `>=` lexes as one joined pair: the `=` still starts the default.
#[derive(ShmSafe)]
#[repr(C)]
struct DefaultAfterAngle<T: Of<u8>= u32, U: Of<Vec<u8>>= u16> {
    t: T,
    u: U,
}

const fn layout<T: ShmSafe>() -> u64 {
    T::LAYOUT
}

fn main() {
    assert_eq!((Lock::NAME, Lock::INITIAL, Lock::MODE), ("/ipc-ui.fragments", 2, 0o640));
    assert_eq!(Guarded::NAME, "/ipc-ui.fragments-mutex");
    assert_eq!(private::name(), "/ipc-ui.fragments-private");
    assert_ne!(layout::<Stats>(), layout::<Tuple>());
    assert_ne!(layout::<BraceInWhere<u8>>(), layout::<TupleBraceInWhere<u8>>());
    assert_ne!(layout::<DefaultAfterAngle>(), layout::<DefaultAfterAngle<u8, u8>>());
    let _ = Stats { value: 0, seq: 0 }.value + u64::from(Tuple(1, [2; 2]).0);
    let _ = BraceInWhere { a: 0u8, t: 0u8 }.t + TupleBraceInWhere(0u8, 0u8).1;
    let _ = DefaultAfterAngle::<u32, u16> { t: 0, u: 0 }.t;
}
