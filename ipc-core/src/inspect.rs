//! Looking at a shared-memory object from outside: whether it is a typed
//! object of this crate ([`Shared`](crate::Shared), [`Mutex`](crate::Mutex),
//! a channel), its header, and whether its mutex is held and by whom —
//! without changing anything.
//!
//! [`shared_memory`] opens the object read-only and reads its first bytes
//! with `pread`, a mutex's lock word among them; [`semaphore`] reads a
//! semaphore's value from its file the same way. Neither maps the file (a
//! process shrinking it meanwhile cannot make the reader fault), and neither
//! locks, initialises, resizes or writes. This is what `ipcctl ls` and
//! `ipcctl stat` show.
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
use std::fs::File;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use crate::common::checked_name;
use crate::name::Kind;
use crate::sys::inspect::{self as sys, Snapshot, glibc_mutex, header};
use crate::sys::object::{self, HEADER_LEN, MAGIC};
use crate::{Error, ErrorKind, Result};

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
    /// Thread `tid` holds it; `pid` is its process, `None` when that cannot
    /// be confirmed here: no thread `tid` is visible (`/proc/<tid>` missing:
    /// it died without the kernel marking the lock, or runs in another pid
    /// namespace), or the process of that number does not map the object
    /// (the number is another pid namespace's) or its maps cannot be read.
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
/// Opens the object read-only and non-blocking (`shm_open(name, O_RDONLY |
/// O_NONBLOCK)`), so read permission is enough and a FIFO put in its place
/// cannot hang the call, and changes nothing: it never locks, initialises,
/// resizes or writes. The first bytes (up to 8 KiB) are read with `pread`,
/// not through a mapping, so a process that shrinks the object meanwhile
/// cannot make this one fault; what is reported is a snapshot, and may
/// change the moment after (another process locks, unlocks or dies).
///
/// # Errors
///
/// - [`ErrorKind::InvalidName`] when `name`
///   breaks the [`name`](crate::name) rules.
/// - [`ErrorKind::NotFound`]: no such object.
/// - [`ErrorKind::PermissionDenied`]:
///   this process may not read it.
/// - [`ErrorKind::InvalidData`]: the name
///   is not a regular file (a directory, a FIFO, a socket, a device).
/// - Other OS errors are reported as
///   [`ErrorKind::Other`] (a symbolic link put in
///   its place is not followed: `ELOOP`).
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
    let name_ref = checked_name(OP, name, Kind::SharedMemory)?;
    let os =
        |e: std::io::Error| Error::os(OP, Some(&name_ref), e.raw_os_error().unwrap_or(libc::EIO));
    let fd = crate::sys::shm::with_object(name, |c| {
        crate::sys::shm::open(c, libc::O_RDONLY | libc::O_NONBLOCK, 0)
    })
    .map_err(|e| Error::os(OP, Some(&name_ref), e))?;
    let file = File::from(fd);
    let meta = file.metadata().map_err(os)?;
    if !meta.file_type().is_file() {
        return Err(Error::new(
            ErrorKind::InvalidData,
            OP,
            Some(&name_ref),
            format!("not a shared-memory object: it is {}", file_type(&meta)),
        ));
    }
    let mut info = ObjectInfo {
        name: name.to_owned(),
        size: meta.len(),
        typed: None,
    };
    if info.size < HEADER_LEN as u64 {
        return Ok(info);
    }
    // The header, and what follows up to a page or two: a mutex sits at the
    // payload offset, the header padded to the payload's alignment.
    let snapshot = Snapshot::read(&file, MAX_VIEW).map_err(os)?;
    info.typed = typed(&snapshot, (meta.dev(), meta.ino()));
    Ok(info)
}

/// What [`semaphore`] found.
///
/// ```
/// let name = format!("/doc.inspect-sem-info.{}", std::process::id());
/// let sem = ipc::Semaphore::options().create_new(true).initial_value(2).open(&name)?;
/// match ipc::inspect::semaphore(&name) {
///     Ok(info) => assert_eq!((info.value, info.waiters), (2, 0)),
///     // Elsewhere than 64-bit Linux with glibc.
///     Err(e) => assert_eq!(e.kind(), ipc::ErrorKind::Unsupported),
/// }
/// sem.unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemaphoreInfo {
    /// The semaphore's name, as given.
    pub name: String,
    /// Its value.
    pub value: u32,
    /// How many threads wait in `sem_wait` for it (glibc's count).
    pub waiters: u32,
}

/// Reads the named semaphore `name` from its file, `/dev/shm/sem.<name>`,
/// without opening it as a semaphore: the file is read with `pread`
/// (`O_NOFOLLOW | O_NONBLOCK`), never mapped, so a file another process
/// truncates meanwhile, a FIFO or a symbolic link in its place cannot make
/// this process fault or hang. Changes nothing.
///
/// # Errors
///
/// - [`ErrorKind::InvalidName`] when `name`
///   breaks the [`name`](crate::name) rules.
/// - [`ErrorKind::NotFound`]: no such semaphore.
/// - [`ErrorKind::PermissionDenied`]:
///   this process may not read its file.
/// - [`ErrorKind::InvalidData`]: the file is
///   not a semaphore (too short, not a regular file, words glibc never
///   writes).
/// - [`ErrorKind::Unsupported`]: anywhere but
///   64-bit Linux with glibc, whose file layout this reads.
///
/// # Examples
///
/// ```
/// let name = format!("/doc.inspect-sem.{}", std::process::id());
/// let sem = ipc::Semaphore::options().create_new(true).initial_value(3).open(&name)?;
/// if cfg!(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64")) {
///     assert_eq!(ipc::inspect::semaphore(&name)?.value, 3);
/// }
/// sem.unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
pub fn semaphore(name: &str) -> Result<SemaphoreInfo> {
    const OP: &str = "inspect";
    let name_ref = checked_name(OP, name, Kind::Semaphore)?;
    let (value, waiters) = read_semaphore_file(OP, &name_ref)?;
    Ok(SemaphoreInfo {
        name: name.to_owned(),
        value,
        waiters,
    })
}

#[cfg(target_os = "linux")]
use crate::semaphore::file::read_value as read_semaphore_file;

/// Elsewhere semaphores have no file this crate knows the layout of.
#[cfg(not(target_os = "linux"))]
fn read_semaphore_file(op: &'static str, name: &std::sync::Arc<str>) -> Result<(u32, u32)> {
    Err(Error::new(
        ErrorKind::Unsupported,
        op,
        Some(name),
        "a semaphore's file is read on 64-bit Linux with glibc only",
    ))
}

/// What kind of file `meta` describes, in words for messages: "a
/// directory", "a FIFO", "a socket", "a device", "a symbolic link" (for
/// `symlink_metadata`), "a regular file".
///
/// ```
/// let meta = std::fs::metadata("/")?;
/// assert_eq!(ipc::inspect::file_type(&meta), "a directory");
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use]
pub fn file_type(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// How much of an object is read to find a mutex: enough for payloads
/// aligned up to 4096 bytes.
const MAX_VIEW: usize = 8192;

fn typed(view: &Snapshot, file: (u64, u64)) -> Option<TypedInfo> {
    if view.load_u64(header::MAGIC)? != MAGIC {
        return None;
    }
    let state_word = view.load_u64(header::STATE)?;
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
            lock_state(view, file)
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
/// reads its lock word. `file` is the object's (device, inode): a holder is
/// named only if it has the object mapped.
fn lock_state(view: &Snapshot, file: (u64, u64)) -> LockState {
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
            return match decode(word, owner) {
                LockState::Held { tid, pid, waiters } => LockState::Held {
                    tid,
                    pid: pid.filter(|&p| maps_file(p, file)),
                    waiters,
                },
                other => other,
            };
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

/// Whether process `pid` maps the file (`dev`, `ino`): the lock word holds
/// the holder's thread id as *its* pid namespace numbers it, so the same
/// number here may be another process; the real holder maps the object.
/// `false` when its maps cannot be read.
fn maps_file(pid: u32, (dev, ino): (u64, u64)) -> bool {
    let Ok(maps) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else {
        return false;
    };
    let id = crate::sys::FileId::of(dev, ino);
    maps.lines()
        .filter_map(crate::sys::MapsLine::parse)
        .any(|m| m.file == id)
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

    /// The holder check: this process maps the object, a child that never
    /// opened it does not (the same tid number in another pid namespace is
    /// such a process).
    #[test]
    fn holders_are_confirmed_by_their_maps() {
        let name = crate::test_support::name("inspect-maps");
        let shm = crate::SharedMemory::create_new(&name.0, 4096).unwrap();
        let meta = File::from(std::os::fd::AsFd::as_fd(&shm).try_clone_to_owned().unwrap())
            .metadata()
            .unwrap();
        let file = (meta.dev(), meta.ino());
        assert!(!maps_file(std::process::id(), file), "not mapped yet");
        let map = shm.map().unwrap();
        assert!(maps_file(std::process::id(), file));
        let mut child = std::process::Command::new("sleep")
            .arg("10")
            .spawn()
            .unwrap();
        assert!(!maps_file(child.id(), file));
        child.kill().unwrap();
        child.wait().unwrap();
        drop(map);
        assert!(!maps_file(std::process::id(), file), "unmapped");
    }
}
