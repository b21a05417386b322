//! `posix_ipc.Semaphore` on `ipc::Semaphore`.

use std::sync::{Arc, PoisonError, RwLock};

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use crate::args;
use crate::errors::{self, BusyError, ExistentialError, Object};

const BUSY: &str = "Semaphore is busy";
const GONE: &str = "The semaphore does not exist";

/// A POSIX named semaphore: `Semaphore(name, flags=0, mode=0o600, initial_value=0)`.
#[pyclass(module = "posix_ipc", name = "Semaphore", subclass, frozen)]
pub(crate) struct Semaphore {
    name: Py<PyString>,
    mode: u32,
    /// `None` once closed. Blocking calls wait on a clone of the `Arc`, so
    /// `close()` from another thread never pulls the semaphore from under a
    /// waiter: the last user closes it.
    handle: RwLock<Option<Arc<ipc::Semaphore>>>,
}

fn closed() -> PyErr {
    ExistentialError::new_err("The semaphore has been closed")
}

impl Semaphore {
    fn with<T>(&self, f: impl FnOnce(&Arc<ipc::Semaphore>) -> PyResult<T>) -> PyResult<T> {
        let guard = self.handle.read().unwrap_or_else(PoisonError::into_inner);
        match guard.as_ref() {
            Some(sem) => f(sem),
            None => Err(closed()),
        }
    }

    fn acquire_with(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        // posix_ipc checks for a closed semaphore before parsing the
        // timeout, so this order is kept; the timeout is parsed with no lock
        // held, since parsing can run Python code (an int subclass's
        // comparison) that may close this very semaphore.
        self.with(|_| Ok(()))?;
        let timeout = args::timeout(timeout)?;
        let sem = self.with(|sem| {
            // sem_trywait never blocks: the uncontended acquire costs no
            // GIL release and re-acquisition.
            match sem.try_acquire() {
                Ok(()) => Ok(None),
                Err(e) if e.kind() == ipc::ErrorKind::Busy => {
                    if timeout.is_some_and(|t| t.is_zero()) {
                        // The failing acquire(0) is a hot path: no new str.
                        Err(BusyError::new_err(intern!(py, BUSY).clone().unbind()))
                    } else {
                        Ok(Some((Arc::clone(sem), timeout)))
                    }
                }
                Err(e) => Err(errors::call(py, &e, BUSY, GONE)),
            }
        })?;
        let Some((sem, timeout)) = sem else {
            return Ok(());
        };
        py.detach(|| sem.acquire_interruptible(timeout))
            .map_err(|e| errors::call(py, &e, BUSY, GONE))
    }

    fn release_inner(&self, py: Python<'_>) -> PyResult<()> {
        self.with(|sem| {
            sem.release().map_err(|e| match e.raw_os_error() {
                // posix_ipc raises OSError(EOVERFLOW) past SEM_VALUE_MAX.
                Some(libc::EOVERFLOW) => PyOSError::new_err((
                    libc::EOVERFLOW,
                    format!(
                        "The semaphore's value would exceed SEMAPHORE_VALUE_MAX ({})",
                        ipc::consts::SEMAPHORE_VALUE_MAX
                    ),
                )),
                _ => errors::call(py, &e, BUSY, GONE),
            })
        })
    }
}

#[pymethods]
impl Semaphore {
    #[new]
    #[pyo3(signature = (name, flags = 0, mode = 0o600, initial_value = 0))]
    fn new(name: &Bound<'_, PyAny>, flags: i32, mode: i64, initial_value: i64) -> PyResult<Self> {
        let py = name.py();
        let given = args::name(name)?;
        let flags = args::Flags::parse(i64::from(flags), given.is_none())?;
        let mode = args::mode(mode)?;
        let max = ipc::consts::SEMAPHORE_VALUE_MAX;
        let initial = u32::try_from(initial_value)
            .ok()
            .filter(|v| *v <= max)
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "initial_value must be between 0 and SEMAPHORE_VALUE_MAX ({max}), not {initial_value}"
                ))
            })?;
        let options = ipc::Semaphore::options()
            .mode(mode)
            .initial_value(initial)
            .create(flags.create)
            .create_new(flags.exclusive);
        let sem = match &given {
            Some(name) => options.open(name.text),
            None => args::create_random(|name| options.clone().open(name)).map(|(sem, _)| sem),
        }
        .map_err(|e| errors::open(Object::Semaphore, &e, false))?;
        Ok(Semaphore {
            name: args::Name::attribute(given.as_ref(), py, sem.name()),
            mode,
            handle: RwLock::new(Some(Arc::new(sem))),
        })
    }

    /// acquire(timeout=None): waits for the semaphore's value to be above
    /// zero and decrements it. None waits for ever, 0 does not wait, a
    /// positive number waits that many seconds at most (BusyError then).
    #[pyo3(signature = (timeout = None))]
    fn acquire(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.acquire_with(py, timeout)
    }

    /// release(): increments the semaphore's value.
    fn release(&self, py: Python<'_>) -> PyResult<()> {
        self.release_inner(py)
    }

    /// close(): closes this handle; the semaphore lives on until unlinked.
    fn close(&self) -> PyResult<()> {
        let taken = self
            .handle
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(sem) = taken else {
            return Err(closed());
        };
        // A thread still waiting on it holds another reference: the
        // semaphore is closed when that wait returns.
        match Arc::try_unwrap(sem) {
            Ok(sem) => sem
                .close()
                .map_err(|e| ExistentialError::new_err(format!("{GONE}: {e}"))),
            Err(_) => Ok(()),
        }
    }

    /// unlink(): removes the name; handles that are open stay usable. Works
    /// after close() too (posix_ipc 1.3.2 raises there, contrary to its docs).
    fn unlink(&self, py: Python<'_>) -> PyResult<()> {
        ipc::unlink_semaphore(self.name.bind(py).to_str()?)
            .map_err(|e| errors::unlink(Object::Semaphore, &e))
    }

    /// The semaphore's current value.
    #[getter]
    fn value(&self) -> PyResult<u32> {
        self.with(|sem| {
            sem.value()
                .map_err(|e| ExistentialError::new_err(format!("{GONE}: {e}")))
        })
    }

    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }

    #[getter]
    fn mode(&self) -> u32 {
        self.mode
    }

    fn __enter__(slf: &Bound<'_, Self>) -> PyResult<Py<Self>> {
        slf.get().acquire_with(slf.py(), None)?;
        Ok(slf.clone().unbind())
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.release_inner(py)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "posix_ipc.Semaphore(\"{}\", mode=0{:o})",
            self.name.bind(py),
            self.mode
        )
    }

    fn __str__(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }
}
