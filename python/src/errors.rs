//! posix_ipc's exceptions, and `ipc::Error` → Python exception in one place.
//!
//! The messages are posix_ipc 1.3.2's wherever it has one for the case (its
//! `*_init` and method bodies in `posix_ipc_module.c`), so code that matches
//! on them keeps working; where posix_ipc's message is wrong or missing, the
//! `ipc` error's own message, which names the call, the object and the
//! limit, is used.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyMemoryError, PyOSError, PyValueError};
use pyo3::prelude::*;

create_exception!(
    posix_ipc,
    Error,
    PyException,
    "Base class of this module's exceptions (not a subclass of OSError)."
);
create_exception!(
    posix_ipc,
    SignalError,
    Error,
    "A wait was interrupted by a signal whose handler raised nothing."
);
create_exception!(
    posix_ipc,
    PermissionsError,
    Error,
    "The object's permissions refuse the operation."
);
create_exception!(
    posix_ipc,
    ExistentialError,
    Error,
    "The object does not exist, already exists, or has been closed."
);
create_exception!(
    posix_ipc,
    BusyError,
    Error,
    "The operation would block, or its timeout expired."
);

/// The kind of object an open or unlink concerns: it chooses the messages.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Object {
    Semaphore,
    SharedMemory,
    MessageQueue,
}

/// A failed `sem_open`, `shm_open` (with its `ftruncate`) or `mq_open`.
pub(crate) fn open(object: Object, err: &ipc::Error, truncate: bool) -> PyErr {
    let Some(errno) = err.raw_os_error() else {
        return not_os(err);
    };
    match (errno, object) {
        (libc::EACCES | libc::EPERM, Object::SharedMemory) if truncate => {
            PermissionsError::new_err("No permission to truncate this segment")
        }
        (libc::EACCES | libc::EPERM, Object::SharedMemory) => {
            PermissionsError::new_err("No permission to access this segment")
        }
        (libc::EACCES | libc::EPERM, _) => PermissionsError::new_err("Permission denied"),
        (libc::EEXIST, _) => ExistentialError::new_err(match object {
            Object::Semaphore => "A semaphore with the specified name already exists",
            Object::SharedMemory => "Shared memory with the specified name already exists",
            Object::MessageQueue => "A queue with the specified name already exists",
        }),
        (libc::ENOENT, _) => ExistentialError::new_err(not_found(object)),
        // posix_ipc says "Invalid parameter(s)"; ipc's message says which.
        (libc::EINVAL, _) => PyValueError::new_err(format!("Invalid parameter(s): {err}")),
        (libc::EFBIG, _) => PyValueError::new_err(format!("The size is too large: {err}")),
        (libc::EMFILE, _) => {
            PyOSError::new_err("This process already has the maximum number of files open")
        }
        (libc::ENFILE, _) => PyOSError::new_err(
            "The system limit on the total number of open files has been reached",
        ),
        (libc::ENOSPC, Object::MessageQueue) => {
            PyOSError::new_err("Insufficient space for a new queue")
        }
        (libc::ENAMETOOLONG, _) => PyValueError::new_err("The name is too long"),
        (libc::ENOMEM, _) => PyMemoryError::new_err("Not enough memory"),
        _ => os(errno, err),
    }
}

/// A failed `sem_unlink`, `shm_unlink` or `mq_unlink`.
pub(crate) fn unlink(object: Object, err: &ipc::Error) -> PyErr {
    let Some(errno) = err.raw_os_error() else {
        return not_os(err);
    };
    match errno {
        libc::EACCES | libc::EPERM if object == Object::Semaphore => {
            PermissionsError::new_err("Denied permission to unlink this semaphore")
        }
        libc::EACCES | libc::EPERM => PermissionsError::new_err("Permission denied"),
        libc::ENOENT | libc::EINVAL => ExistentialError::new_err(not_found(object)),
        libc::ENAMETOOLONG => PyValueError::new_err("The name is too long"),
        _ => os(errno, err),
    }
}

fn not_found(object: Object) -> &'static str {
    match object {
        Object::Semaphore => "No semaphore exists with the specified name",
        Object::SharedMemory => "No shared memory exists with the specified name",
        Object::MessageQueue => "No queue exists with the specified name",
    }
}

/// A failed wait, send, receive or other call on an open handle.
///
/// `busy` is posix_ipc's BusyError message for the call, `gone` its
/// ExistentialError message for a handle that is no longer valid.
pub(crate) fn call(py: Python<'_>, err: &ipc::Error, busy: &str, gone: &'static str) -> PyErr {
    match err.kind() {
        ipc::ErrorKind::Busy => BusyError::new_err(busy.to_owned()),
        ipc::ErrorKind::Interrupted => interrupted(py),
        ipc::ErrorKind::PermissionDenied if err.raw_os_error().is_none() => {
            PermissionsError::new_err(err.to_string())
        }
        _ => match err.raw_os_error() {
            Some(libc::EBADF | libc::EINVAL) => ExistentialError::new_err(gone),
            Some(errno) => os(errno, err),
            None => not_os(err),
        },
    }
}

/// A wait ended by a signal. The interpreter's handlers run now: if one
/// raises (KeyboardInterrupt from Ctrl-C, or anything else), that exception
/// propagates; otherwise SignalError, as in posix_ipc. posix_ipc replaces a
/// handler's exception other than KeyboardInterrupt with SignalError.
pub(crate) fn interrupted(py: Python<'_>) -> PyErr {
    match py.check_signals() {
        Err(raised) => raised,
        Ok(()) => SignalError::new_err("The wait was interrupted by a signal"),
    }
}

/// `OSError(errno, message)`: Python picks the subclass from the errno, as
/// it does for posix_ipc's `PyErr_SetFromErrno`.
pub(crate) fn os(errno: i32, err: &ipc::Error) -> PyErr {
    PyOSError::new_err((errno, err.to_string()))
}

/// An error that `ipc` found before any system call: a bad name or an
/// argument out of range is a ValueError, anything else this module's Error.
fn not_os(err: &ipc::Error) -> PyErr {
    match err.kind() {
        ipc::ErrorKind::InvalidName
        | ipc::ErrorKind::InvalidInput
        | ipc::ErrorKind::InvalidData => PyValueError::new_err(err.to_string()),
        ipc::ErrorKind::PermissionDenied => PermissionsError::new_err(err.to_string()),
        ipc::ErrorKind::AlreadyExists | ipc::ErrorKind::NotFound => {
            ExistentialError::new_err(err.to_string())
        }
        ipc::ErrorKind::Busy => BusyError::new_err(err.to_string()),
        _ => Error::new_err(err.to_string()),
    }
}
