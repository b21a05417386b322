//! [`Shared<T>`]: a typed object that every process reads, atomics for what changes.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use super::object::{self, Common, InitFn, type_name};
use crate::sys::object::{ObjectKind, Region, Spec};
use crate::{Result, ShmSafe};

/// A `T` in a named shared-memory object, mapped once: every process that
/// opens the name sees the same `T`.
///
/// `Shared<T>` dereferences to `&T` with no system call per access. It never
/// hands out `&mut T` — another process may be reading — so after creation a
/// `T` changes only through its atomics (`AtomicU64::fetch_add`...). The
/// creator's [`init`](SharedOptions::init) runs before any other process can
/// see the value. For data that changes in several steps at once, use
/// [`Mutex<T>`](crate::Mutex), whose guard gives `&mut T` to one process at a
/// time and survives a holder's death.
///
/// The object starts with a small header (format version, kind, `T`'s
/// [`LAYOUT`](ShmSafe::LAYOUT), size, an init state): opening an object made
/// for another type or layout, a [`Mutex`](crate::Mutex), a plain
/// [`SharedMemory`](crate::SharedMemory) or garbage is
/// [`ErrorKind::InvalidData`](crate::ErrorKind::InvalidData), never a wrong
/// value or a fault. Creation is race-free: any number of processes may
/// `create` the same name at once, and exactly one initialises it; if that
/// one dies during `init`, the next opener notices and initialises it again.
///
/// The same declaration as a type, with the name checked at compile time, is
/// [`#[named_shared_memory]`](attr.named_shared_memory.html).
///
/// What is not guaranteed: the checks run when the object is opened. A
/// process with write access can still shrink the object afterwards
/// (`ftruncate`, [`SharedMemory::resize`](crate::SharedMemory::resize)); the
/// next access through a `Shared` that maps it then faults with `SIGBUS`,
/// and nothing can prevent that for `shm_open` objects (seals exist only for
/// `memfd`). Likewise, a process that writes the object's bytes through a
/// plain [`SharedMemory`](crate::SharedMemory) mapping or from C bypasses
/// the type, and can change `T`'s non-atomic fields under a `&T`. The
/// guarantees above hold among processes that use `Shared<T>`, `Mutex<T>`
/// and the macros; keep the mode at `0o600` (the default) so that no other
/// user can write the object.
///
/// # Examples
///
/// ```
/// # mod ipc { pub use ::ipc::*; pub use ipc_macros::*; } // the facade, in named-ipc-core
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use ipc::Shared;
///
/// #[derive(ipc::ShmSafe)]
/// #[repr(C)]
/// struct Stats {
///     hits: AtomicU64,
///     misses: AtomicU64,
/// }
///
/// let name = format!("/doc.shared.{}", std::process::id());
/// let stats: Shared<Stats> = Shared::create(&name)?;
/// stats.hits.fetch_add(1, Ordering::Relaxed);
///
/// let other: Shared<Stats> = Shared::open(&name)?; // as another process would
/// assert_eq!(other.hits.load(Ordering::Relaxed), 1);
/// stats.unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
pub struct Shared<T: ShmSafe> {
    region: Region<T>,
    name: Arc<str>,
}

/// Options for opening or creating a [`Shared<T>`].
///
/// Defaults: open an existing object, mode `0o600`, no `init` (a new object
/// is all zeros).
#[must_use = "options do nothing until `open` is called"]
pub struct SharedOptions<T: ShmSafe> {
    common: Common,
    init: Option<InitFn<T>>,
}

impl<T: ShmSafe> SharedOptions<T> {
    /// Creates the object if it does not exist.
    pub fn create(mut self, yes: bool) -> Self {
        self.common.create = yes;
        self
    }

    /// Creates the object, failing with
    /// [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists) if it exists.
    pub fn create_new(mut self, yes: bool) -> Self {
        self.common.create_new = yes;
        self
    }

    /// The permission bits of an object this call creates: default `0o600`,
    /// exactly, whatever the umask. Above `0o777` is
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).
    pub fn mode(mut self, mode: u32) -> Self {
        self.common.mode = mode;
        self
    }

    /// Runs `f` on the zeroed value once, in the process that initialises the
    /// object, before any other process can see it. A process that opens an
    /// existing object does not run it.
    ///
    /// If `f` panics, the object is left for the next opener to initialise;
    /// if the process dies inside `f`, the next opener notices (the
    /// initialiser's pid no longer exists) and initialises it again.
    pub fn init(mut self, f: impl FnOnce(&mut T) + Send + 'static) -> Self {
        self.init = Some(Box::new(f));
        self
    }

    /// Opens the object `name` (creating it if the options say so) as a `T`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidName`](crate::ErrorKind::InvalidName): `name`
    ///   breaks a rule of [`crate::name`] for shared memory.
    /// - [`ErrorKind::InvalidData`](crate::ErrorKind::InvalidData): the
    ///   object exists but is not a `Shared<T>` of this layout (another
    ///   type, a `Mutex`, a plain shared-memory object, garbage, a truncated
    ///   object); the message says what was expected and what was found.
    /// - [`ErrorKind::Busy`](crate::ErrorKind::Busy): a live process has
    ///   been initialising it for more than 10 seconds.
    /// - As [`SharedMemoryOptions::open`](crate::SharedMemoryOptions::open)
    ///   for the rest: `NotFound`, `AlreadyExists`, `PermissionDenied`,
    ///   `InvalidInput` (mode). Other OS errors are reported as
    ///   [`ErrorKind::Other`](crate::ErrorKind::Other).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use ipc::Shared;
    ///
    /// let name = format!("/doc.shared-options.{}", std::process::id());
    /// let config = Shared::<[AtomicU32; 2]>::options()
    ///     .create(true)
    ///     .mode(0o640)
    ///     .init(|v| *v[0].get_mut() = 8080)
    ///     .open(&name)?;
    /// assert_eq!(config[0].load(Ordering::Relaxed), 8080);
    /// config.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn open(self, name: &str) -> Result<Shared<T>> {
        let spec = Spec::new::<T>(ObjectKind::Shared, T::LAYOUT, size_of::<T>(), 0);
        let mut init = self.init;
        let opened = object::open(
            "Shared::open",
            name,
            self.common,
            spec,
            &|| type_name::<T>("Shared"),
            &mut |value: &mut T, _| {
                if let Some(f) = init.take() {
                    f(value);
                }
                Ok(())
            },
        )?;
        Ok(Shared {
            region: opened.region,
            name: opened.name,
        })
    }
}

impl<T: ShmSafe> Shared<T> {
    /// Opens an existing object as a `T`.
    ///
    /// # Errors
    ///
    /// As [`SharedOptions::open`];
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) if it does not exist.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::{ErrorKind, Shared};
    ///
    /// let err = Shared::<u64>::open("/doc.shared-missing").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::NotFound);
    /// ```
    pub fn open(name: &str) -> Result<Shared<T>> {
        Self::options().open(name)
    }

    /// Opens the object, creating it with every byte zero if it does not exist.
    ///
    /// # Errors
    ///
    /// As [`SharedOptions::open`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use ipc::Shared;
    ///
    /// let name = format!("/doc.shared-create.{}", std::process::id());
    /// let counter = Shared::<AtomicU64>::create(&name)?;
    /// assert_eq!(counter.fetch_add(1, Ordering::Relaxed), 0);
    /// counter.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn create(name: &str) -> Result<Shared<T>> {
        Self::options().create(true).open(name)
    }

    /// Creates the object with every byte zero.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists) if it
    /// exists; otherwise as [`SharedOptions::open`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::{ErrorKind, Shared};
    ///
    /// let name = format!("/doc.shared-create-new.{}", std::process::id());
    /// let first = Shared::<u32>::create_new(&name)?;
    /// let err = Shared::<u32>::create_new(&name).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    /// first.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn create_new(name: &str) -> Result<Shared<T>> {
        Self::options().create_new(true).open(name)
    }

    /// Options for opening or creating a `Shared<T>`.
    pub fn options() -> SharedOptions<T> {
        SharedOptions {
            common: Common::default(),
            init: None,
        }
    }

    /// The name this handle was opened with.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Removes the name ([`crate::unlink_shared_memory`]). Handles and
    /// mappings stay valid; a process that opens the name afterwards gets a
    /// new, distinct object, so unlink only when no process uses it any more.
    ///
    /// # Errors
    ///
    /// As [`crate::unlink_shared_memory`].
    pub fn unlink(&self) -> Result<()> {
        crate::unlink_shared_memory(&self.name)
    }
}

impl<T: ShmSafe> Deref for Shared<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        self.region.payload()
    }
}

impl<T: ShmSafe> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("name", &self.name)
            .field("type", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}

impl<T: ShmSafe> fmt::Display for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl<T: ShmSafe> fmt::Debug for SharedOptions<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedOptions")
            .field("common", &self.common)
            .field("init", &self.init.is_some())
            .finish()
    }
}
