//! [`Error`], [`ErrorKind`] and [`Result`]: errno → kind in one place.

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::sync::Arc;

use crate::name::NameError;

/// `Result<T, ipc::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, for matching; [`Error::raw_os_error`] tells the errno.
///
/// The comments name the errno values each kind stands for and the
/// `posix_ipc` exception it corresponds to.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `EEXIST`: the object exists and exclusive creation was asked (posix_ipc `ExistentialError`).
    AlreadyExists,
    /// `ENOENT`: no object has this name (posix_ipc `ExistentialError`).
    NotFound,
    /// `EACCES`/`EPERM`: the object's permissions refuse this process (posix_ipc `PermissionsError`),
    /// or the handle was opened without the access the call needs.
    PermissionDenied,
    /// `EAGAIN`, `ETIMEDOUT`, `EBUSY`: the call would block, timed out, or the
    /// resource is held elsewhere (posix_ipc `BusyError`).
    Busy,
    /// `EINTR` on an interruptible call (posix_ipc `SignalError`). The blocking
    /// calls of this crate retry on `EINTR`, so they never report it.
    Interrupted,
    /// The name was rejected by [`crate::name::check`]; no system call was made.
    InvalidName,
    /// An argument is out of range: mode, initial value, size, priority,
    /// message length, buffer length...
    InvalidInput,
    /// The platform lacks the feature.
    Unsupported,
    /// An existing object is not what the call expects: another type or
    /// layout, another kind of object, a truncated object, or garbage.
    InvalidData,
    /// Any other OS error; [`Error::raw_os_error`] tells which.
    Other,
}

impl ErrorKind {
    /// The one errno → kind table of the crate.
    pub(crate) fn from_errno(errno: i32) -> ErrorKind {
        match errno {
            libc::EEXIST => ErrorKind::AlreadyExists,
            libc::ENOENT => ErrorKind::NotFound,
            libc::EACCES | libc::EPERM => ErrorKind::PermissionDenied,
            libc::EAGAIN | libc::ETIMEDOUT | libc::EBUSY => ErrorKind::Busy,
            libc::EINTR => ErrorKind::Interrupted,
            libc::EINVAL | libc::ENAMETOOLONG | libc::EMSGSIZE | libc::EOVERFLOW | libc::EFBIG => {
                ErrorKind::InvalidInput
            }
            libc::ENOSYS | libc::EOPNOTSUPP => ErrorKind::Unsupported,
            _ => ErrorKind::Other,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::NotFound => "not found",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::Busy => "busy",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::InvalidName => "invalid name",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::InvalidData => "invalid data",
            ErrorKind::Other => "error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of every fallible call in this crate.
///
/// `Display` names the operation and the object, then what went wrong:
/// `sem_open("/jobs"): permission denied`. Match on [`Error::kind`].
///
/// ```
/// use ipc::{ErrorKind, Semaphore};
///
/// let err = Semaphore::open("no-slash").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidName);
/// assert_eq!(err.to_string(), r#"sem_open("no-slash"): invalid name: name must start with '/'"#);
/// let io: std::io::Error = err.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
/// ```
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    errno: Option<i32>,
    op: &'static str,
    object: Option<Arc<str>>,
    detail: Option<Cow<'static, str>>,
}

impl Error {
    /// What went wrong, for matching.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::{ErrorKind, Semaphore};
    ///
    /// match Semaphore::open("/doc.surely-missing") {
    ///     Err(e) if e.kind() == ErrorKind::NotFound => {}
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The errno the system call reported, if the error came from one.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::Semaphore;
    ///
    /// let err = Semaphore::open("/doc.surely-missing-too").unwrap_err();
    /// assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    /// let err = Semaphore::open("no-slash").unwrap_err();
    /// assert_eq!(err.raw_os_error(), None); // refused before any system call
    /// ```
    #[must_use]
    pub fn raw_os_error(&self) -> Option<i32> {
        self.errno
    }

    /// An error reported by the system call `op` on `object`.
    pub(crate) fn os(op: &'static str, object: Option<&Arc<str>>, errno: i32) -> Error {
        Error {
            kind: ErrorKind::from_errno(errno),
            errno: Some(errno),
            op,
            object: object.cloned(),
            detail: None,
        }
    }

    /// An error found before any system call.
    pub(crate) fn new(
        kind: ErrorKind,
        op: &'static str,
        object: Option<&Arc<str>>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Error {
        Error {
            kind,
            errno: None,
            op,
            object: object.cloned(),
            detail: Some(detail.into()),
        }
    }

    /// A rejected name, for `op` on `name`.
    pub(crate) fn name(op: &'static str, name: &str, err: NameError) -> Error {
        Error::new(
            ErrorKind::InvalidName,
            op,
            Some(&Arc::from(name)),
            err.to_string(),
        )
    }

    /// Prefixes the message with the step that failed, as in
    /// `mq_notify("/q"): creating the notification socket: too many open
    /// files in this process`.
    pub(crate) fn during(self, step: &'static str) -> Error {
        let bare = Error {
            kind: self.kind,
            errno: self.errno,
            op: "",
            object: None,
            detail: self.detail.clone(),
        };
        let detail = format!("{step}: {bare}");
        self.with_detail(detail)
    }

    /// Replaces the message derived from the errno with a more precise one.
    pub(crate) fn with_detail(mut self, detail: impl Into<Cow<'static, str>>) -> Error {
        self.detail = Some(detail.into());
        self
    }
}

/// A short lowercase message for the errno values users meet most.
fn errno_message(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::EEXIST => "already exists",
        libc::ENOENT => "not found",
        libc::EACCES | libc::EPERM => "permission denied",
        libc::EAGAIN => "would block",
        libc::ETIMEDOUT => "timed out",
        libc::EBUSY => "busy: held elsewhere",
        libc::EINTR => "interrupted by a signal",
        libc::EINVAL => "invalid argument",
        libc::ENAMETOOLONG => "name too long",
        libc::EMFILE => "too many open files in this process",
        libc::ENFILE => "too many open files in the system",
        libc::ENOMEM => "out of memory",
        libc::ENOSPC => "no space left: a system limit on the number of objects was reached",
        _ => return None,
    })
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.op.is_empty() {
            f.write_str(self.op)?;
            if let Some(object) = &self.object {
                write!(f, "({object:?})")?;
            }
            f.write_str(": ")?;
        }
        if self.kind == ErrorKind::InvalidName {
            f.write_str("invalid name: ")?;
        }
        match (&self.detail, self.errno) {
            (Some(detail), _) => f.write_str(detail),
            (None, Some(errno)) => {
                if let Some(msg) = errno_message(errno) {
                    return f.write_str(msg);
                }
                // strerror, lowercased to match the rest ("Bad file descriptor (os error 9)").
                let text = io::Error::from_raw_os_error(errno).to_string();
                let mut chars = text.chars();
                if let Some(first) = chars.next() {
                    write!(f, "{}{}", first.to_lowercase(), chars.as_str())?;
                }
                Ok(())
            }
            (None, None) => f.write_str(self.kind.as_str()),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind);
        if let Some(errno) = self.errno {
            d.field("errno", &errno);
        }
        d.field("message", &self.to_string());
        // op, object and detail are all in the message.
        d.finish_non_exhaustive()
    }
}

impl std::error::Error for Error {}

impl From<NameError> for Error {
    fn from(err: NameError) -> Error {
        Error {
            kind: ErrorKind::InvalidName,
            errno: None,
            op: "",
            object: None,
            detail: Some(err.to_string().into()),
        }
    }
}

impl From<Error> for io::Error {
    /// Maps the kind (`Busy` becomes `WouldBlock`, or `TimedOut` for
    /// `ETIMEDOUT`) and keeps the `ipc::Error` as the source.
    fn from(err: Error) -> io::Error {
        let kind = match err.kind {
            ErrorKind::AlreadyExists => io::ErrorKind::AlreadyExists,
            ErrorKind::NotFound => io::ErrorKind::NotFound,
            ErrorKind::PermissionDenied => io::ErrorKind::PermissionDenied,
            ErrorKind::Busy if err.errno == Some(libc::ETIMEDOUT) => io::ErrorKind::TimedOut,
            ErrorKind::Busy => io::ErrorKind::WouldBlock,
            ErrorKind::Interrupted => io::ErrorKind::Interrupted,
            ErrorKind::InvalidName | ErrorKind::InvalidInput => io::ErrorKind::InvalidInput,
            ErrorKind::Unsupported => io::ErrorKind::Unsupported,
            ErrorKind::InvalidData => io::ErrorKind::InvalidData,
            ErrorKind::Other => match err.errno {
                Some(errno) => io::Error::from_raw_os_error(errno).kind(),
                None => io::ErrorKind::Other,
            },
        };
        io::Error::new(kind, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[test]
    fn errno_table() {
        let table = [
            (libc::EEXIST, ErrorKind::AlreadyExists),
            (libc::ENOENT, ErrorKind::NotFound),
            (libc::EACCES, ErrorKind::PermissionDenied),
            (libc::EPERM, ErrorKind::PermissionDenied),
            (libc::EAGAIN, ErrorKind::Busy),
            (libc::ETIMEDOUT, ErrorKind::Busy),
            (libc::EBUSY, ErrorKind::Busy),
            (libc::EINTR, ErrorKind::Interrupted),
            (libc::EINVAL, ErrorKind::InvalidInput),
            (libc::EMSGSIZE, ErrorKind::InvalidInput),
            (libc::EOVERFLOW, ErrorKind::InvalidInput),
            (libc::ENOSYS, ErrorKind::Unsupported),
            (libc::EMFILE, ErrorKind::Other),
            (libc::EBADF, ErrorKind::Other),
        ];
        for (errno, kind) in table {
            assert_eq!(ErrorKind::from_errno(errno), kind, "errno {errno}");
            let e = Error::os("op", None, errno);
            assert_eq!(e.kind(), kind);
            assert_eq!(e.raw_os_error(), Some(errno));
        }
    }

    #[test]
    fn display_names_operation_and_object() {
        let e = Error::os("sem_open", Some(&obj("/jobs")), libc::EACCES);
        assert_eq!(e.to_string(), r#"sem_open("/jobs"): permission denied"#);
        let e = Error::os("mq_open", Some(&obj("/q")), libc::EBADF);
        assert_eq!(
            e.to_string(),
            r#"mq_open("/q"): bad file descriptor (os error 9)"#
        );
        let e = Error::name("shm_open", "/a/b", NameError::InteriorSlash);
        assert_eq!(
            e.to_string(),
            r#"shm_open("/a/b"): invalid name: name must not contain '/' after the leading one"#
        );
        let e = Error::from(NameError::Empty);
        assert_eq!(
            e.to_string(),
            "invalid name: name must have at least one character after the leading '/'"
        );
        let e = Error::os("sem_post", Some(&obj("/x")), libc::EOVERFLOW)
            .with_detail("the value would exceed SEMAPHORE_VALUE_MAX (2147483647)");
        assert_eq!(
            e.to_string(),
            r#"sem_post("/x"): the value would exceed SEMAPHORE_VALUE_MAX (2147483647)"#
        );
        assert_eq!(e.raw_os_error(), Some(libc::EOVERFLOW));
    }

    #[test]
    fn into_io_error() {
        let cases = [
            (libc::EEXIST, io::ErrorKind::AlreadyExists),
            (libc::ENOENT, io::ErrorKind::NotFound),
            (libc::EACCES, io::ErrorKind::PermissionDenied),
            (libc::EAGAIN, io::ErrorKind::WouldBlock),
            (libc::ETIMEDOUT, io::ErrorKind::TimedOut),
            (libc::EINTR, io::ErrorKind::Interrupted),
            (libc::EINVAL, io::ErrorKind::InvalidInput),
            (libc::ENOSYS, io::ErrorKind::Unsupported),
        ];
        for (errno, kind) in cases {
            let e = Error::os("op", None, errno);
            let text = e.to_string();
            let io: io::Error = e.into();
            assert_eq!(io.kind(), kind, "errno {errno}");
            assert_eq!(io.to_string(), text);
            let inner = io.get_ref().and_then(|e| e.downcast_ref::<Error>());
            assert_eq!(inner.and_then(Error::raw_os_error), Some(errno));
        }
    }

    #[test]
    fn invalid_data_maps_to_io_invalid_data() {
        let e = Error::new(ErrorKind::InvalidData, "open", None, "not a Shared<u64>");
        assert_eq!(e.to_string(), "open: not a Shared<u64>");
        let io: io::Error = e.into();
        assert_eq!(io.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn is_send_sync_static() {
        fn check<T: std::error::Error + Send + Sync + 'static>() {}
        check::<Error>();
    }
}
