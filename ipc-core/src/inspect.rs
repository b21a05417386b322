//! Looking at a shared-memory object from outside: whether it is a typed
//! object of this crate ([`Shared`](crate::Shared), [`Mutex`](crate::Mutex),
//! a channel), its header, and whether its mutex is held and by whom —
//! without changing anything.
//!
//! [`shared_memory`] opens the object read-only, reads its first bytes and
//! reads a mutex's lock word by an atomic load: it never locks, initialises,
//! resizes or writes. This is what `ipcctl ls` and `ipcctl stat` show.
//!
//! ```
//! use ipc::inspect::{self, LockState, TypedKind};
//!
//! let name = format!("/doc.inspect.{}", std::process::id());
//! let lock = ipc::Mutex::<u64>::create(&name)?;
//! let info = inspect::shared_memory(&name)?;
//! let typed = info.typed.expect("a typed object");
//! assert_eq!(typed.kind, TypedKind::Mutex);
//! assert_eq!(typed.lock, Some(LockState::Unlocked));
//!
//! let guard = lock.lock()?;
//! let typed = inspect::shared_memory(&name)?.typed.unwrap();
//! assert!(matches!(
//!     typed.lock,
//!     Some(LockState::Held { pid: Some(pid), .. }) if pid == std::process::id()
//! ));
//! drop(guard);
//! lock.unlink()?;
//! # Ok::<(), ipc::Error>(())
//! ```

use std::fmt;
use std::os::fd::AsFd;

use crate::sys::inspect::{self as sys, View, glibc_mutex, header};
use crate::sys::object::{self, HEADER_LEN, MAGIC};
use crate::{Error, Result, SharedMemory};

/// What [`shared_memory`] found.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The object's name, as given.
    pub name: String,
    /// Its size in bytes (`fstat`).
    pub size: u64,
    /// The header of a typed object of this crate; `None` for any other
    /// object (plain shared memory, another program's, too small).
    pub typed: Option<TypedInfo>,
}

/// The header of a typed object.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedInfo {
    /// `Shared`, `Mutex` or `Channel`.
    pub kind: TypedKind,
    /// The header's format version (this crate writes
    /// [`FORMAT_VERSION`]).
    pub format_version: u32,
    /// The layout fingerprint of the payload type (`ShmSafe::LAYOUT` of
    /// `T` for a `Shared<T>`; a fingerprint of the mutex and `T` for a
    /// `Mutex<T>`).
    pub layout: u64,
    /// The size the header records for the whole object.
    pub size: u64,
    /// The kind-specific header word (a channel's capacity).
    pub extra: u64,
    /// Where the object is in its creation protocol.
    pub state: InitState,
    /// For a `Mutex`: whether it is held. `None` for other kinds.
    pub lock: Option<LockState>,
}

/// The header format version this crate writes.
pub const FORMAT_VERSION: u32 = object::FORMAT_VERSION;

/// The kind of a typed object.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypedKind {
    /// A [`Shared<T>`](crate::Shared).
    Shared,
    /// A [`Mutex<T>`](crate::Mutex).
    Mutex,
    /// A channel.
    Channel,
    /// A kind this version of the crate does not know.
    Unknown(u32),
}

impl fmt::Display for TypedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypedKind::Shared => f.write_str("Shared"),
            TypedKind::Mutex => f.write_str("Mutex"),
            TypedKind::Channel => f.write_str("Channel"),
            TypedKind::Unknown(k) => write!(f, "unknown kind {k}"),
        }
    }
}

/// Where a typed object is in its creation protocol (the header's state word).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitState {
    /// Nobody has initialised it yet.
    Empty,
    /// Process `pid` is initialising it (or died doing so: the next opener
    /// takes over).
    Initialising {
        /// The initialising process.
        pid: u32,
    },
    /// Initialised by process `pid` and usable.
    Ready {
        /// The process that initialised it.
        pid: u32,
    },
    /// A state word this crate never writes: garbage.
    Invalid(u64),
}

/// Whether a [`Mutex`](crate::Mutex) is held, read from its lock word.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    /// Nobody holds it.
    Unlocked,
    /// Thread `tid` holds it; `pid` is its process, `None` when no such
    /// thread is visible here (`/proc/<tid>` missing: it died without the
    /// kernel marking the lock, or runs in another pid namespace).
    Held {
        /// The holding thread.
        tid: u32,
        /// The holding thread's process.
        pid: Option<u32>,
        /// Whether other threads wait for it.
        waiters: bool,
    },
    /// The holder died holding it (the kernel marked the lock word
    /// `FUTEX_OWNER_DIED`): the next locker gets it, with `recovered()`.
    HolderDead {
        /// The thread that held it, if the mutex still records it.
        tid: Option<u32>,
    },
    /// The lock word cannot be read on this platform (not 64-bit glibc), or
    /// no mutex made by this crate was found in the object.
    Unknown,
}

/// Looks at the shared-memory object `name`: its size and, if it is a
/// typed object of this crate, its header and (for a mutex) whether it is
/// held and by which thread and process.
///
/// Opens the object read-only (`shm_open(name, O_RDONLY)`), so read
/// permission is enough, and changes nothing: a mutex's lock word is read
/// by an atomic load, never by locking it. What it reports may change the
/// moment after (another process locks, unlocks or dies).
///
/// Objects are read through a mapping: a process that shrinks the object
/// while it is being read would make this process fault, as for any
/// mapping; typed objects are never resized by this crate, and the first
/// bytes of other objects are read only when the object is at least a
/// header long.
///
/// # Errors
///
/// - [`ErrorKind::InvalidName`](crate::ErrorKind::InvalidName): `name`
///   breaks the [`name`](crate::name) rules.
/// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound): no such object.
/// - [`ErrorKind::PermissionDenied`](crate::ErrorKind::PermissionDenied):
///   this process may not read it.
/// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported): a target
///   where headers cannot be read by atomic loads (32-bit).
/// - Other OS errors are reported as
///   [`ErrorKind::Other`](crate::ErrorKind::Other).
///
/// # Examples
///
/// ```
/// let name = format!("/doc.inspect-plain.{}", std::process::id());
/// let shm = ipc::SharedMemory::create(&name, 4096)?;
/// let info = ipc::inspect::shared_memory(&name)?;
/// assert_eq!(info.size, 4096);
/// assert_eq!(info.typed, None); // plain shared memory
/// shm.unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
pub fn shared_memory(name: &str) -> Result<ObjectInfo> {
    const OP: &str = "inspect";
    if !sys::SUPPORTED {
        return Err(Error::new(
            crate::ErrorKind::Unsupported,
            OP,
            None,
            "typed headers are read on 64-bit targets only",
        ));
    }
    let shm = SharedMemory::options().read_only(true).open(name)?;
    let size = shm.size()? as u64;
    let mut info = ObjectInfo {
        name: name.to_owned(),
        size,
        typed: None,
    };
    if size < HEADER_LEN as u64 {
        return Ok(info);
    }
    // The header, and what follows up to a page or two: a mutex sits at the
    // payload offset, the header padded to the payload's alignment.
    let len = usize::try_from(size).unwrap_or(usize::MAX).min(MAX_VIEW);
    let view = View::map(shm.as_fd(), len)
        .map_err(|e| Error::os("mmap", Some(&std::sync::Arc::from(name)), e))?;
    info.typed = typed(&view);
    Ok(info)
}

/// How much of an object is mapped to find a mutex: enough for payloads
/// aligned up to 4096 bytes.
const MAX_VIEW: usize = 8192;

fn typed(view: &View) -> Option<TypedInfo> {
    if view.load_u64(header::MAGIC)? != MAGIC {
        return None;
    }
    let state_word = view.load_u64(header::STATE)?;
    // Pairs with the initialiser's release store of READY.
    std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
    let version_kind = view.load_u64(header::VERSION_KIND)?;
    let pid = (state_word >> 32) as u32;
    let state = match state_word & 0xffff_ffff {
        0 if state_word == 0 => InitState::Empty,
        1 => InitState::Initialising { pid },
        2 => InitState::Ready { pid },
        _ => InitState::Invalid(state_word),
    };
    let kind = match version_kind as u32 {
        1 => TypedKind::Shared,
        2 => TypedKind::Mutex,
        3 => TypedKind::Channel,
        k => TypedKind::Unknown(k),
    };
    let lock = (kind == TypedKind::Mutex).then(|| {
        if matches!(state, InitState::Ready { .. }) {
            lock_state(view)
        } else {
            LockState::Unknown
        }
    });
    Some(TypedInfo {
        kind,
        format_version: (version_kind >> 32) as u32,
        layout: view.load_u64(header::LAYOUT)?,
        size: view.load_u64(header::SIZE)?,
        extra: view.load_u64(header::EXTRA)?,
        state,
        lock,
    })
}

/// Finds the mutex at the payload offset (the header padded to the
/// payload's alignment: 64, 128, ... bytes; padding is zeros, so the first
/// offset whose `__kind` word is the one glibc gives our mutexes is it) and
/// reads its lock word.
fn lock_state(view: &View) -> LockState {
    let Some(kind) = sys::robust_mutex_kind() else {
        return LockState::Unknown;
    };
    let mut offset = HEADER_LEN;
    while offset < view.len() {
        if view.load_u32(offset + glibc_mutex::KIND) == Some(kind) {
            let Some(word) = view.load_u32(offset + glibc_mutex::LOCK) else {
                break;
            };
            let owner = view.load_u32(offset + glibc_mutex::OWNER).unwrap_or(0);
            return decode(word, owner);
        }
        offset *= 2;
    }
    LockState::Unknown
}

/// A robust mutex's state from its lock word and owner word.
fn decode(word: u32, owner: u32) -> LockState {
    let tid = word & glibc_mutex::TID_MASK;
    if word & glibc_mutex::OWNER_DIED != 0 && tid == 0 {
        // glibc's markers for "recovered, not yet consistent" and "not
        // recoverable" are INT_MAX and INT_MAX - 1, not tids.
        let tid = (owner != 0 && owner < 0x7fff_fffe).then_some(owner);
        return LockState::HolderDead { tid };
    }
    if tid == 0 {
        return LockState::Unlocked;
    }
    LockState::Held {
        tid,
        pid: thread_group(tid),
        waiters: word & glibc_mutex::WAITERS != 0,
    }
}

/// The process of thread `tid`: `Tgid` in `/proc/<tid>/status`.
fn thread_group(tid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_words() {
        assert_eq!(decode(0, 0), LockState::Unlocked);
        assert_eq!(
            decode(0x4000_0000, 1234),
            LockState::HolderDead { tid: Some(1234) }
        );
        assert_eq!(
            decode(0xc000_0000, 0x7fff_ffff),
            LockState::HolderDead { tid: None }
        );
        let me = std::process::id();
        assert_eq!(
            decode(me | 0x8000_0000, me),
            LockState::Held {
                tid: me,
                pid: Some(me),
                waiters: true
            }
        );
    }
}
