//! Typed state in shared memory: [`ShmSafe`], [`Shared<T>`], [`Mutex<T>`].

mod channel;
mod mutex;
pub(crate) mod object;
mod shared;
// The trait is `unsafe` by nature (its impls promise a layout), and its
// impls for primitives are the only unsafe code outside `sys`.
#[allow(unsafe_code)]
mod shm_safe;

pub use channel::{Channel, Receiver, Sender};
pub use mutex::{Mutex, MutexGuard, MutexOptions};
pub use shared::{Shared, SharedOptions};
pub use shm_safe::ShmSafe;
#[doc(hidden)]
pub use shm_safe::{struct_field, struct_start};
