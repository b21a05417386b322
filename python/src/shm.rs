//! `posix_ipc.SharedMemory` on `ipc::SharedMemory`.

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::args;
use crate::errors::{self, ExistentialError, Object};

/// A POSIX shared memory object:
/// `SharedMemory(name, flags=0, mode=0o600, size=0, read_only=False)`.
///
/// Map it with `mmap.mmap(shm.fd, shm.size)`.
#[pyclass(module = "posix_ipc", name = "SharedMemory", subclass, frozen)]
pub(crate) struct SharedMemory {
    name: Py<PyString>,
    mode: u32,
    read_only: bool,
    /// `None` once `close_fd()` ran. No call on it blocks, so a plain lock.
    handle: Mutex<Option<ipc::SharedMemory>>,
    /// The handle's descriptor, or -1 once closed (set under the lock): `fd`
    /// is read often, by every `mmap.mmap(shm.fd, ...)`.
    fd: AtomicI32,
}

impl SharedMemory {
    fn handle(&self) -> MutexGuard<'_, Option<ipc::SharedMemory>> {
        self.handle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[pymethods]
impl SharedMemory {
    #[new]
    #[pyo3(signature = (name, flags = 0, mode = 0o600, size = 0, read_only = None))]
    fn new(
        name: &Bound<'_, PyAny>,
        flags: u32,
        mode: i64,
        size: i64,
        read_only: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let py = name.py();
        let given = args::name(name)?;
        let flags = args::Flags::parse(i64::from(flags), given.is_none())?;
        let mode = args::mode(mode)?;
        let read_only = read_only.map_or(Ok(false), |r| args::int_flag(r, "read_only"))?;
        // posix_ipc parses size as an unsigned long with masking: -1 becomes
        // ULONG_MAX and 2**64+5 becomes 5.
        let size = usize::try_from(size).map_err(|_| {
            PyValueError::new_err(format!(
                "The size must be a non-negative number, not {size}"
            ))
        })?;
        // A size with read_only is refused before anything is opened:
        // posix_ipc's ftruncate fails there and it then unlinks the segment,
        // even one that existed before.
        let options = ipc::SharedMemory::options()
            .mode(mode)
            .size(size)
            .read_only(read_only)
            .truncate(flags.truncate)
            .create(flags.create)
            .create_new(flags.exclusive);
        let shm = match &given {
            Some(name) => options.open(name.text),
            None => args::create_random(|name| options.clone().open(name)).map(|(shm, _)| shm),
        }
        .map_err(|e| errors::open(Object::SharedMemory, &e, flags.truncate))?;
        Ok(SharedMemory {
            name: args::Name::attribute(given.as_ref(), py, shm.name()),
            mode,
            read_only,
            fd: AtomicI32::new(shm.as_raw_fd()),
            handle: Mutex::new(Some(shm)),
        })
    }

    /// The file descriptor, or -1 after close_fd().
    #[getter]
    fn fd(&self) -> i32 {
        self.fd.load(Ordering::Relaxed)
    }

    /// fileno(): the file descriptor, as `fd`.
    fn fileno(&self) -> i32 {
        self.fd()
    }

    /// The segment's current size (fstat): a resize through another handle
    /// shows at once.
    #[getter]
    fn size(&self) -> PyResult<usize> {
        let handle = self.handle();
        let shm = handle
            .as_ref()
            .ok_or_else(|| ExistentialError::new_err("The segment does not exist"))?;
        #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
        if let Ok(size) = crate::sys::size(std::os::fd::AsFd::as_fd(shm)) {
            return usize::try_from(size).map_err(|_| PyValueError::new_err("size too large"));
        }
        // Elsewhere, and to report an error: the crate's call.
        shm.size().map_err(|e| match e.raw_os_error() {
            Some(libc::EBADF | libc::EINVAL) => {
                ExistentialError::new_err("The segment does not exist")
            }
            Some(errno) => errors::os(errno, &e),
            None => PyValueError::new_err(e.to_string()),
        })
    }

    /// close_fd(): closes the descriptor; mappings stay valid. Calling it
    /// again does nothing.
    fn close_fd(&self) -> PyResult<()> {
        let Some(shm) = self
            .handle()
            .take()
            .inspect(|_| self.fd.store(-1, Ordering::Relaxed))
        else {
            return Ok(());
        };
        shm.close().map_err(|e| match e.raw_os_error() {
            Some(libc::EBADF) => PyValueError::new_err("The file descriptor is invalid"),
            Some(errno) => errors::os(errno, &e),
            None => PyValueError::new_err(e.to_string()),
        })
    }

    /// unlink(): removes the name; open descriptors and mappings stay usable.
    fn unlink(&self, py: Python<'_>) -> PyResult<()> {
        ipc::unlink_shared_memory(self.name.bind(py).to_str()?)
            .map_err(|e| errors::unlink(Object::SharedMemory, &e))
    }

    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }

    #[getter]
    fn mode(&self) -> u32 {
        self.mode
    }

    #[getter]
    fn read_only(&self) -> bool {
        self.read_only
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "posix_ipc.SharedMemory(\"{}\", mode=0{:o})",
            self.name.bind(py),
            self.mode
        )
    }

    fn __str__(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }
}
