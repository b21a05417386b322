//! POSIX shared memory: [`SharedMemory`] and [`SharedMemoryOptions`].

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;

use crate::common::{check_mode, check_name, create_unique, open_or_create};
use crate::name::Kind;
use crate::sys::{self, Errno, InlineStr, shm};
use crate::{Error, ErrorKind, Mapping, Result};

const OPEN: &str = "shm_open";

/// A POSIX shared-memory object (`shm_open`): memory that every process
/// opening the same name can map.
///
/// The handle is a file descriptor, closed on drop; the object and its name
/// stay until [`unlink`](SharedMemory::unlink). [`map`](SharedMemory::map)
/// gives a [`Mapping`] of the whole object, which outlives the handle.
///
/// An object created by posix_ipc's `SharedMemory`, or by C code calling
/// `shm_open`, is the same object: open it by name.
///
/// # Examples
///
/// ```
/// use ipc::SharedMemory;
///
/// let shm = SharedMemory::options().size(1024).create_unique("/doc.shm")?;
/// let other = SharedMemory::open(shm.name())?; // as another process would
/// shm.map()?.write_at(0, b"shared")?;
/// let mut buf = [0u8; 6];
/// other.map()?.read_at(0, &mut buf)?;
/// assert_eq!(&buf, b"shared");
/// shm.unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
pub struct SharedMemory {
    fd: OwnedFd,
    name: Name,
    mode: u32,
    read_only: bool,
}

/// The bytes of a name kept in the handle itself (the `/` included):
/// `Name` is then 48 bytes, and the usual name needs no allocation.
const INLINE: usize = 46;

/// A handle's name: inline when short, else on the heap. Owned, not shared:
/// opening and closing a handle costs no allocation and no atomic reference
/// count for the usual name; an error copies it out.
enum Name {
    Inline(InlineStr<INLINE>),
    Heap(Box<str>),
}

impl Name {
    #[inline]
    fn new(name: &str) -> Name {
        InlineStr::new(name).map_or_else(|| Name::Heap(Box::from(name)), Name::Inline)
    }

    #[inline]
    fn as_str(&self) -> &str {
        match self {
            Name::Inline(name) => name.as_str(),
            Name::Heap(name) => name,
        }
    }

    /// The name for an [`Error`].
    fn shared(&self) -> Arc<str> {
        Arc::from(self.as_str())
    }
}

/// Options for opening or creating a [`SharedMemory`], like [`std::fs::OpenOptions`].
///
/// Defaults: open an existing object for reading and writing, mode `0o600`,
/// size left as it is.
///
/// ```
/// use ipc::SharedMemory;
///
/// let shm = SharedMemory::options()
///     .create_new(true)
///     .mode(0o640)
///     .size(3333)
///     .create_unique("/doc.shm-options")?;
/// assert_eq!(shm.size()?, 3333);
/// shm.unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "options do nothing until `open` or `create_unique` is called"]
pub struct SharedMemoryOptions {
    create: bool,
    create_new: bool,
    truncate: bool,
    read_only: bool,
    mode: u32,
    size: usize,
}

impl Default for SharedMemoryOptions {
    fn default() -> Self {
        SharedMemoryOptions {
            create: false,
            create_new: false,
            truncate: false,
            read_only: false,
            mode: 0o600,
            size: 0,
        }
    }
}

impl SharedMemoryOptions {
    /// Creates the object if it does not exist (`O_CREAT`).
    pub fn create(mut self, yes: bool) -> Self {
        self.create = yes;
        self
    }

    /// Creates the object and fails with [`ErrorKind::AlreadyExists`] if it
    /// exists (`O_CREAT | O_EXCL`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::{ErrorKind, SharedMemory};
    /// let name = format!("/doc.shm-create-new.{}", std::process::id());
    /// let shm = SharedMemory::create_new(&name, 100)?;
    /// assert_eq!(SharedMemory::create_new(&name, 100).unwrap_err().kind(), ErrorKind::AlreadyExists);
    /// shm.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn create_new(mut self, yes: bool) -> Self {
        self.create_new = yes;
        self
    }

    /// Truncates an existing object to 0 bytes on open (`O_TRUNC`), before
    /// [`size`](Self::size) applies. Refused with
    /// [`read_only`](Self::read_only), as a size is.
    pub fn truncate(mut self, yes: bool) -> Self {
        self.truncate = yes;
        self
    }

    /// Opens for reading only (`O_RDONLY` instead of `O_RDWR`): mappings are
    /// read-only and [`SharedMemory::resize`] is refused.
    pub fn read_only(mut self, yes: bool) -> Self {
        self.read_only = yes;
        self
    }

    /// The permission bits of an object this call creates; default `0o600`,
    /// exactly, whatever the umask. Above `0o777` is [`ErrorKind::InvalidInput`].
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    /// The size to give the object (`ftruncate`) once opened, new or
    /// existing — growing or shrinking it, as posix_ipc does. 0, the default,
    /// leaves the size as it is (a new object then has 0 bytes).
    pub fn size(mut self, size: usize) -> Self {
        self.size = size;
        self
    }

    /// `shm_open(name, flags, mode)`, then `ftruncate(size)` if a size was
    /// given — opens (or creates, as the options say) the object called `name`.
    ///
    /// If the resize fails, an object this call created is removed again; an
    /// object that existed before is left as it was (posix_ipc deletes it).
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidName`]: `name` breaks a rule of [`crate::name`];
    ///   no system call was made.
    /// - [`ErrorKind::InvalidInput`]: the mode is above `0o777`, the size
    ///   does not fit `off_t`, or a size or [`truncate`](Self::truncate) was
    ///   given with [`read_only`](Self::read_only) (checked before any
    ///   system call); or
    ///   `ftruncate` refused the size (`EINVAL`, `EFBIG`).
    /// - [`ErrorKind::NotFound`] (`ENOENT`): no such object, and creation was
    ///   not asked.
    /// - [`ErrorKind::AlreadyExists`] (`EEXIST`): it exists and
    ///   [`create_new`](Self::create_new) was asked.
    /// - [`ErrorKind::PermissionDenied`] (`EACCES`): its permissions refuse
    ///   this process.
    /// - Other OS errors (`EMFILE`, `ENFILE`, `ENOSPC`...) are reported as
    ///   [`ErrorKind::Other`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::SharedMemory;
    /// let name = format!("/doc.shm-options-open.{}", std::process::id());
    /// let shm = SharedMemory::options().create(true).mode(0o640).size(1024).open(&name)?;
    /// let emptied = SharedMemory::options().truncate(true).open(&name)?;
    /// assert_eq!(emptied.size()?, 0);
    /// shm.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "shm_open")]
    #[inline]
    pub fn open(self, name: &str) -> Result<SharedMemory> {
        check_name(OPEN, name, Kind::SharedMemory)?;
        self.open_checked(name)
    }

    /// Creates an object under a fresh random name,
    /// `"<prefix>.<16 hex digits>"` (64 bits from the OS random source),
    /// drawing a new name if that one exists. Always exclusive.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open); [`ErrorKind::InvalidName`] when the prefix
    /// does not make a valid name.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::SharedMemory;
    ///
    /// let shm = SharedMemory::options().size(16).create_unique("/doc.shm-unique")?;
    /// assert!(shm.name().starts_with("/doc.shm-unique."));
    /// shm.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn create_unique(self, prefix: &str) -> Result<SharedMemory> {
        let opts = self.create_new(true);
        create_unique(OPEN, prefix, Kind::SharedMemory, |name| {
            opts.clone().open_checked(name)
        })
    }

    // Always inlined into `open` (itself `#[inline]`), as `close` is into its
    // caller: each frame between a system call and the code that called the
    // library costs a mispredicted return once the kernel has refilled the
    // return stack buffer (~6 ns a frame, measured on an AMD EPYC VM whose
    // kernel does RSB filling), on every open and close.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn open_checked(self, name: &str) -> Result<SharedMemory> {
        check_mode(OPEN, name, self.mode)?;
        let len = check_size(OPEN, name, self.size)?;
        if self.read_only && self.size > 0 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                OPEN,
                Some(&Arc::from(name)),
                "a read-only handle cannot set the size: use size 0 with read_only",
            ));
        }
        // O_RDONLY | O_TRUNC empties the object on Linux (POSIX leaves it
        // unspecified): a read-only handle must not change the object.
        if self.read_only && self.truncate {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                OPEN,
                Some(&Arc::from(name)),
                "a read-only handle cannot truncate the object: use truncate with a writable handle",
            ));
        }
        let access = if self.read_only {
            libc::O_RDONLY
        } else {
            libc::O_RDWR
        };
        let flags = access | if self.truncate { libc::O_TRUNC } else { 0 };
        let (fd, created) = shm::with_object(name, |c| {
            open_or_create(
                self.create,
                self.create_new,
                || shm::open(c, flags | libc::O_CREAT | libc::O_EXCL, self.mode),
                || shm::open(c, flags, 0),
            )
        })
        .map_err(|e| Error::os(OPEN, Some(&Arc::from(name)), e))?;
        let shm = SharedMemory {
            fd,
            name: Name::new(name),
            mode: self.mode,
            read_only: self.read_only,
        };
        let setup = || -> Result<()> {
            if created {
                shm::chmod(shm.fd.as_fd(), self.mode).map_err(|e| shm.error("fchmod", e))?;
            }
            if self.size > 0 {
                shm.truncate_to(len)?;
            }
            Ok(())
        };
        if let Err(e) = setup() {
            if created {
                let _ = unlink_checked(name);
            }
            return Err(e);
        }
        Ok(shm)
    }
}

/// A size as `off_t`, or InvalidInput naming the limit.
fn check_size(op: &'static str, name: &str, size: usize) -> Result<libc::off_t> {
    libc::off_t::try_from(size).map_err(|_| {
        Error::new(
            ErrorKind::InvalidInput,
            op,
            Some(&Arc::from(name)),
            format!(
                "size {size} exceeds the largest file size (off_t max {})",
                libc::off_t::MAX
            ),
        )
    })
}

impl SharedMemory {
    /// `shm_open(name, O_RDWR)` — opens an existing object for reading and writing.
    ///
    /// # Errors
    ///
    /// As [`SharedMemoryOptions::open`]; [`ErrorKind::NotFound`] if it does not exist.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::SharedMemory;
    ///
    /// let shm = SharedMemory::options().size(4096).create_unique("/doc.shm-open")?;
    /// let other = SharedMemory::open(shm.name())?;
    /// assert_eq!(other.size()?, 4096);
    /// shm.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "shm_open")]
    pub fn open(name: &str) -> Result<SharedMemory> {
        SharedMemory::options().open(name)
    }

    /// `shm_open(name, O_RDWR | O_CREAT, 0o600)` — opens the object, creating
    /// it if needed; a `size` above 0 then resizes it, new or existing.
    ///
    /// # Errors
    ///
    /// As [`SharedMemoryOptions::open`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::SharedMemory;
    /// let name = format!("/doc.shm-create.{}", std::process::id());
    /// let shm = SharedMemory::create(&name, 4096)?;
    /// assert_eq!(SharedMemory::create(&name, 0)?.size()?, 4096); // 0 leaves it
    /// assert_eq!(SharedMemory::create(&name, 100)?.size()?, 100); // > 0 resizes
    /// shm.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "shm_open")]
    pub fn create(name: &str, size: usize) -> Result<SharedMemory> {
        SharedMemory::options().create(true).size(size).open(name)
    }

    /// `shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0o600)` then `ftruncate(size)`
    /// — creates an object that must not exist yet.
    ///
    /// # Errors
    ///
    /// As [`SharedMemoryOptions::open`]; [`ErrorKind::AlreadyExists`] if it exists.
    #[doc(alias = "shm_open")]
    pub fn create_new(name: &str, size: usize) -> Result<SharedMemory> {
        SharedMemory::options()
            .create_new(true)
            .size(size)
            .open(name)
    }

    /// Options to open or create an object; see [`SharedMemoryOptions`].
    pub fn options() -> SharedMemoryOptions {
        SharedMemoryOptions::default()
    }

    /// `fstat` — the object's size now, including resizes by other handles
    /// and processes.
    ///
    /// # Errors
    ///
    /// OS errors are reported as [`ErrorKind::Other`]; none is expected.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::SharedMemory;
    ///
    /// let shm = SharedMemory::options().size(4096).create_unique("/doc.shm-size")?;
    /// assert_eq!(shm.size()?, 4096);
    /// SharedMemory::open(shm.name())?.resize(100)?; // another handle
    /// assert_eq!(shm.size()?, 100); // seen live
    /// shm.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "fstat")]
    pub fn size(&self) -> Result<usize> {
        let size = shm::size(self.fd.as_fd()).map_err(|e| self.error("fstat", e))?;
        usize::try_from(size).map_err(|_| {
            Error::new(
                ErrorKind::InvalidInput,
                "fstat",
                Some(&self.name.shared()),
                format!("size {size} does not fit in usize"),
            )
        })
    }

    /// `ftruncate` — grows (with zeros) or shrinks the object.
    ///
    /// Shrinking an object that a process has mapped makes that process's
    /// accesses past the new end fault; [`Mapping::read_at`] and
    /// [`Mapping::write_at`] check for it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::PermissionDenied`] on a read-only handle;
    /// [`ErrorKind::InvalidInput`] for a size beyond `off_t`, or one the
    /// system refuses (`EINVAL`, `EFBIG`). Other OS errors (`ENOSPC`...) are
    /// reported as [`ErrorKind::Other`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::SharedMemory;
    ///
    /// let shm = SharedMemory::options().size(4096).create_unique("/doc.shm-resize")?;
    /// shm.resize(8192)?;
    /// assert_eq!(shm.map()?.len(), 8192);
    /// shm.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "ftruncate")]
    pub fn resize(&self, size: usize) -> Result<()> {
        if self.read_only {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                "ftruncate",
                Some(&self.name.shared()),
                "the handle was opened read-only",
            ));
        }
        let len = check_size("ftruncate", self.name.as_str(), size)?;
        self.truncate_to(len)
    }

    fn truncate_to(&self, len: libc::off_t) -> Result<()> {
        shm::truncate(self.fd.as_fd(), len).map_err(|e| self.error("ftruncate", e))
    }

    /// The name this handle was opened with.
    #[must_use]
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The mode given to the constructor (default `0o600`); for an object
    /// that already existed, not its real mode.
    #[must_use]
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// Whether the handle was opened read-only.
    #[must_use]
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// `mmap(MAP_SHARED)` of the whole object, read-only if the handle is.
    ///
    /// The mapping has the object's size at the time of the call and stays
    /// valid after this handle is closed or the object unlinked.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] if the object is empty (resize it first)
    /// or larger than the address space. The mapping keeps a duplicate of
    /// the descriptor (for the live-size check of `read_at`/`write_at`):
    /// with no descriptor left (`EMFILE`) the error is reported by
    /// `fcntl(F_DUPFD_CLOEXEC)` and says so, not by `mmap`. Other OS errors
    /// (`ENOMEM`...) are reported as [`ErrorKind::Other`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::SharedMemory;
    ///
    /// let shm = SharedMemory::options().size(4096).create_unique("/doc.shm-map")?;
    /// let map = shm.map()?;
    /// map.write_at(0, b"hello")?;
    /// let ro = SharedMemory::options().read_only(true).open(shm.name())?.map()?;
    /// assert_eq!(ro.write_at(0, b"x").unwrap_err().kind(), ipc::ErrorKind::PermissionDenied);
    /// shm.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "mmap")]
    pub fn map(&self) -> Result<Mapping> {
        let size = self.size()?;
        if size == 0 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "mmap",
                Some(&self.name.shared()),
                "cannot map an empty object: give it a size first",
            ));
        }
        if isize::try_from(size).is_err() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "mmap",
                Some(&self.name.shared()),
                format!("size {size} exceeds the address space (isize::MAX)"),
            ));
        }
        Mapping::new(self.fd.as_fd(), size, !self.read_only).map_err(|(op, e)| {
            let err = self.error(op, e);
            if op == "mmap" {
                err
            } else {
                err.during("a mapping keeps a duplicate of the descriptor to check the live size")
            }
        })
    }

    /// `shm_unlink` — removes the name. Open handles and mappings stay
    /// usable; the memory is freed when the last of them goes.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] (`ENOENT`) if the name is already gone;
    /// [`ErrorKind::PermissionDenied`] (`EACCES`) if this process may not
    /// remove it. Other OS errors are reported as [`ErrorKind::Other`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::{ErrorKind, SharedMemory};
    ///
    /// let shm = SharedMemory::options().size(64).create_unique("/doc.shm-unlink-method")?;
    /// let map = shm.map()?;
    /// shm.unlink()?;
    /// map.write_at(0, b"still mapped")?;
    /// assert_eq!(SharedMemory::open(shm.name()).unwrap_err().kind(), ErrorKind::NotFound);
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "shm_unlink")]
    pub fn unlink(&self) -> Result<()> {
        unlink_checked(self.name.as_str())
    }

    /// Closes the descriptor, reporting an error that Drop would ignore.
    /// Mappings stay valid.
    ///
    /// # Errors
    ///
    /// OS errors of `close` are reported as [`ErrorKind::Other`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::SharedMemory;
    ///
    /// let shm = SharedMemory::options().size(4096).create_unique("/doc.shm-close")?;
    /// let map = shm.map()?;
    /// SharedMemory::open(shm.name())?.close()?;
    /// map.write_at(0, b"fine")?; // mappings outlive handles
    /// shm.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[allow(clippy::inline_always)]
    #[inline(always)] // see `open_checked`
    pub fn close(self) -> Result<()> {
        let SharedMemory { fd, name, .. } = self;
        sys::close(fd).map_err(|e| Error::os("close", Some(&name.shared()), e))
    }

    fn error(&self, op: &'static str, errno: Errno) -> Error {
        Error::os(op, Some(&self.name.shared()), errno)
    }
}

/// `shm_unlink(name)` — removes the named shared-memory object.
///
/// # Errors
///
/// [`ErrorKind::InvalidName`] if `name` breaks a rule of [`crate::name`];
/// otherwise as [`SharedMemory::unlink`].
///
/// # Examples
///
/// ```
/// use ipc::{ErrorKind, SharedMemory};
///
/// let shm = SharedMemory::options().size(1024).create_unique("/doc.shm-unlink")?;
/// ipc::unlink_shared_memory(shm.name())?;
/// assert_eq!(SharedMemory::open(shm.name()).unwrap_err().kind(), ErrorKind::NotFound);
/// # Ok::<(), ipc::Error>(())
/// ```
#[doc(alias = "shm_unlink")]
pub fn unlink_shared_memory(name: &str) -> Result<()> {
    check_name("shm_unlink", name, Kind::SharedMemory)?;
    unlink_checked(name)
}

fn unlink_checked(name: &str) -> Result<()> {
    shm::with_object(name, shm::unlink)
        .map_err(|e| Error::os("shm_unlink", Some(&Arc::from(name)), e))
}

impl AsFd for SharedMemory {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for SharedMemory {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<SharedMemory> for OwnedFd {
    fn from(shm: SharedMemory) -> OwnedFd {
        shm.fd
    }
}

impl fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedMemory")
            .field("name", &self.name.as_str())
            .field("fd", &self.fd.as_raw_fd())
            .field("mode", &format_args!("{:#o}", self.mode))
            .field("read_only", &self.read_only)
            .finish()
    }
}

impl fmt::Display for SharedMemory {
    /// The name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name.as_str())
    }
}
