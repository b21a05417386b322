//! The runtime of [`named-ipc`](https://docs.rs/named-ipc) without its
//! macros. Depend on `named-ipc`: it re-exports all of this crate together
//! with `#[named_semaphore]`, `#[named_mutex]`, `#[named_shared_memory]` and
//! `#[derive(ShmSafe)]`, and its documentation is the one to read. The
//! runtime is a crate of its own so that a clean build compiles it while
//! the macros compile, instead of after them.
//!
//! The library name is `ipc`, as through the facade, so paths in messages
//! and examples read the same.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "tokio")]
mod aio;
mod common;
pub mod consts;
mod critical;
mod deadline;
mod error;
pub mod inspect;
#[cfg(target_os = "linux")]
mod mq;
pub mod name;
mod semaphore;
mod shm;
#[allow(unsafe_code)]
mod sys;
mod typed;

#[doc(hidden)]
pub mod __private {
    //! Not public API: what the expansions of `#[named_semaphore]` need.
    pub use crate::private::*;
}
mod namespace;
mod private;
#[cfg(test)]
mod test_support;

#[cfg(all(feature = "tokio", target_os = "linux"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "tokio", target_os = "linux"))))]
pub use aio::AsyncMessageQueue;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use aio::{AsyncReceiver, AsyncSemaphore, AsyncSemaphoreGuard, AsyncSender};
pub use critical::NamedSemaphore;
pub use error::{Error, ErrorKind, Result};
#[cfg(target_os = "linux")]
#[cfg_attr(docsrs, doc(cfg(target_os = "linux")))]
pub use mq::{MessageQueue, MessageQueueOptions, unlink_message_queue};
pub use namespace::namespace;
pub use semaphore::{Semaphore, SemaphoreGuard, SemaphoreOptions, unlink_semaphore};
pub use shm::{SharedMemory, SharedMemoryOptions, unlink_shared_memory};
pub use sys::shm::Mapping;
pub use typed::{
    Channel, Mutex, MutexGuard, MutexOptions, Receiver, Sender, Shared, SharedOptions, ShmSafe,
};
