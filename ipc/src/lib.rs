//! Safe, fast POSIX IPC: named semaphores, shared memory and message queues.
//!
//! `ipc` wraps `sem_open`, `shm_open` and `mq_open` and their families in
//! handles that close on drop, builders in the style of
//! [`std::fs::OpenOptions`], guards that release on every way out, timeouts
//! as [`Duration`](std::time::Duration)s on the monotonic clock, and one
//! [`Error`] type that converts into [`std::io::Error`]. It offers everything
//! Python's `posix_ipc` 1.3 does, and its objects are the same kernel
//! objects, so a Rust process, a Python process and a C program can share them.
//!
//! A named semaphore is declared once, as a type, its name checked by the
//! compiler; [`critical!`] runs a block under it:
//!
//! ```
//! #[ipc::named_semaphore(name = "/ipc-crate-doc.lock", initial = 1)]
//! struct AppLock;
//!
//! let total = ipc::critical!(AppLock => {
//!     // ... at most one process of the application is here ...
//!     40 + 2
//! })?;
//! assert_eq!(total, 42);
//! AppLock::unlink()?; // names outlive processes
//! # Ok::<(), ipc::Error>(())
//! ```
//!
//! The handles: [`Semaphore`] (with [`SemaphoreGuard`]), [`SharedMemory`]
//! (with [`Mapping`]) and, on Linux, [`MessageQueue`]; each has an options
//! builder. Typed objects in shared memory: [`Shared<T>`](Shared),
//! [`Mutex<T>`](Mutex) (a lock a dead holder cannot wedge) and
//! [`Channel<T>`](Channel) (typed messages between any number of processes,
//! with [`Sender`] and [`Receiver`]), for `T:` [`ShmSafe`].
//! [`consts`] holds posix_ipc's constants, [`name`] the rules for
//! names, [`inspect`] a read-only look at a typed object's header and lock
//! holder (what the `ipcctl` tool shows). `RELIABILITY.md` in the repository lists the guarantees and the
//! tests that prove them.
//!
//! With the `tokio` feature, `AsyncMessageQueue`, `AsyncSemaphore` and a
//! channel's `AsyncSender` / `AsyncReceiver` wait in futures instead of
//! threads, and `Mutex::with_lock` runs a closure under a robust mutex from
//! async code.
//!
//! Names follow the portable rules of [`name`]: `/` then 1 to 251 (semaphores)
//! or 255 bytes, without another `/` or a NUL. Every constructor checks them
//! before any system call.
//!
//! The runtime lives in the `named-ipc-core` package and the attributes in
//! `named-ipc-macros`; this crate re-exports both, so a clean build compiles
//! the runtime while the macros compile. Depend on this one.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(inline)]
pub use ipc_core::*;
pub use ipc_macros::{ShmSafe, named_mutex, named_semaphore, named_shared_memory};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
