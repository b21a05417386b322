//! [`SemaphoreOptions`]: how a semaphore is opened or created.

use std::sync::Arc;
use std::time::Duration;

use super::{OPEN, Semaphore, Spin};
use crate::common::{check_mode, checked_name, create_unique, open_or_create};
use crate::consts::SEMAPHORE_VALUE_MAX;
use crate::name::Kind;
use crate::sys::{self, sem::Sem};
use crate::{Error, ErrorKind, Result};

/// Options for opening or creating a [`Semaphore`], like [`std::fs::OpenOptions`].
///
/// Defaults: open an existing semaphore, mode `0o600`, initial value 0.
///
/// ```
/// use ipc::Semaphore;
///
/// let sem = Semaphore::options()
///     .create_new(true)
///     .mode(0o640)
///     .initial_value(3)
///     .create_unique("/doc.options")?;
/// assert_eq!(sem.value()?, 3);
/// assert_eq!(sem.mode(), 0o640);
/// sem.unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "options do nothing until `open` or `create_unique` is called"]
pub struct SemaphoreOptions {
    create: bool,
    create_new: bool,
    mode: u32,
    initial_value: u32,
    spin: Duration,
}

impl Default for SemaphoreOptions {
    fn default() -> Self {
        SemaphoreOptions {
            create: false,
            create_new: false,
            mode: 0o600,
            initial_value: 0,
            spin: Duration::ZERO,
        }
    }
}

impl SemaphoreOptions {
    /// Creates the semaphore if it does not exist (`O_CREAT`). When it
    /// exists, it is opened and the mode and initial value are ignored.
    pub fn create(mut self, yes: bool) -> Self {
        self.create = yes;
        self
    }

    /// Creates the semaphore and fails with [`ErrorKind::AlreadyExists`] if
    /// it exists (`O_CREAT | O_EXCL`). Takes precedence over
    /// [`create`](Self::create).
    pub fn create_new(mut self, yes: bool) -> Self {
        self.create_new = yes;
        self
    }

    /// The permission bits of a semaphore this call creates; default `0o600`.
    ///
    /// Unlike `sem_open` alone, the bits are exactly these whatever the
    /// process umask: on Linux, `ipc` sets them on `/dev/shm/sem.<name>`
    /// right after it creates the semaphore. A value above `0o777` is
    /// [`ErrorKind::InvalidInput`].
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    /// The value of a semaphore this call creates; default 0. Above
    /// [`SEMAPHORE_VALUE_MAX`] is [`ErrorKind::InvalidInput`].
    pub fn initial_value(mut self, value: u32) -> Self {
        self.initial_value = value;
        self
    }

    /// How long [`Semaphore::acquire`] (and the other waits) poll with
    /// `sem_trywait` before sleeping in the kernel; default zero: never.
    /// See [`Semaphore::set_spin`].
    pub fn spin(mut self, budget: Duration) -> Self {
        self.spin = budget;
        self
    }

    /// `sem_open(name, flags, mode, initial_value)` — opens (or creates, as
    /// the options say) the semaphore called `name`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidName`]: `name` breaks a rule of [`crate::name`];
    ///   no system call was made.
    /// - [`ErrorKind::InvalidInput`]: the mode is above `0o777` or the initial
    ///   value above [`SEMAPHORE_VALUE_MAX`] (checked before any system call),
    ///   or the object under that name is not a semaphore (for instance a
    ///   zero-length `/dev/shm/sem.<name>` file, which would crash a process
    ///   that used it).
    /// - [`ErrorKind::InvalidData`]: on Linux with glibc, an existing
    ///   `/dev/shm/sem.<name>` of the right size holds words glibc never
    ///   writes (a private-futex flag, a value above `SEM_VALUE_MAX`), with
    ///   which glibc would abort the process at the first wait or post.
    /// - [`ErrorKind::NotFound`] (`ENOENT`): no such semaphore, and creation
    ///   was not asked.
    /// - [`ErrorKind::AlreadyExists`] (`EEXIST`): it exists and
    ///   [`create_new`](Self::create_new) was asked.
    /// - [`ErrorKind::PermissionDenied`] (`EACCES`): its permissions refuse
    ///   this process.
    /// - Other OS errors (`EMFILE`, `ENFILE`, `ENOMEM`...) are reported as
    ///   [`ErrorKind::Other`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::Semaphore;
    /// let name = format!("/doc.sem-options-open.{}", std::process::id());
    /// let sem = Semaphore::options().create(true).mode(0o644).initial_value(2).open(&name)?;
    /// assert_eq!(Semaphore::options().open(&name)?.value()?, 2);
    /// sem.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "sem_open")]
    pub fn open(self, name: &str) -> Result<Semaphore> {
        let name = checked_name(OPEN, name, Kind::Semaphore)?;
        self.open_checked(name)
    }

    /// Creates a semaphore under a fresh random name,
    /// `"<prefix>.<16 hex digits>"` (64 bits from the OS random source),
    /// drawing a new name if that one exists. Always exclusive, whatever
    /// [`create`](Self::create) and [`create_new`](Self::create_new) say.
    ///
    /// Read the name back with [`Semaphore::name`].
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open); [`ErrorKind::InvalidName`] when the prefix
    /// does not make a valid name (it must start with `/` and leave room for
    /// the 17 bytes added).
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::Semaphore;
    ///
    /// let sem = Semaphore::options().create_unique("/doc.sem-unique")?;
    /// assert!(sem.name().starts_with("/doc.sem-unique."));
    /// sem.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn create_unique(self, prefix: &str) -> Result<Semaphore> {
        let opts = self.create_new(true);
        create_unique(OPEN, prefix, Kind::Semaphore, |name| {
            opts.clone().open_checked(Arc::from(name))
        })
    }

    fn open_checked(self, name: Arc<str>) -> Result<Semaphore> {
        check_mode(OPEN, &name, self.mode)?;
        if self.initial_value > SEMAPHORE_VALUE_MAX {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                OPEN,
                Some(&name),
                format!(
                    "initial value {} exceeds SEMAPHORE_VALUE_MAX ({SEMAPHORE_VALUE_MAX})",
                    self.initial_value
                ),
            ));
        }
        let (raw, created) = sys::with_cstr(&name, |c| {
            let excl = libc::O_CREAT | libc::O_EXCL;
            open_or_create(
                self.create,
                self.create_new,
                || Sem::open(c, excl, self.mode, self.initial_value),
                || Sem::open(c, 0, 0, 0),
            )
        })
        .map_err(|errno| Error::os(OPEN, Some(&name), errno))?;
        let sem = Semaphore {
            raw,
            name,
            mode: self.mode,
            spin: Spin::new(self.spin),
        };
        // Elsewhere semaphores have no file this process can see.
        #[cfg(target_os = "linux")]
        if created {
            sem.fix_mode();
        } else {
            sem.check_file()?;
        }
        #[cfg(not(target_os = "linux"))]
        let _ = created;
        Ok(sem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_default_to_open_existing_with_0o600() {
        let o = SemaphoreOptions::default();
        assert!(!o.create && !o.create_new);
        assert_eq!((o.mode, o.initial_value), (0o600, 0));
        assert_eq!(o.spin, Duration::ZERO);
    }
}
