//! `posix_ipc` for Python, on the `ipc` crate.
//!
//! The module has posix_ipc 1.3.2's name, classes, functions, constants,
//! exceptions, argument names and defaults, so a program switches by
//! installing this package instead of posix_ipc and changes no line. What
//! differs, on purpose, is listed in the README's "Python" section.

mod args;
mod errors;
mod mq;
mod semaphore;
mod shm;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod sys;

use pyo3::prelude::*;

/// The version of posix_ipc whose API this module implements.
const POSIX_IPC_VERSION: &str = "1.3.2";

/// unlink_semaphore(name): removes a semaphore's name.
#[pyfunction]
#[pyo3(signature = (name, /))]
fn unlink_semaphore(name: &str) -> PyResult<()> {
    ipc::unlink_semaphore(name).map_err(|e| errors::unlink(errors::Object::Semaphore, &e))
}

/// unlink_shared_memory(name): removes a shared memory object's name.
#[pyfunction]
#[pyo3(signature = (name, /))]
fn unlink_shared_memory(name: &str) -> PyResult<()> {
    ipc::unlink_shared_memory(name).map_err(|e| errors::unlink(errors::Object::SharedMemory, &e))
}

/// unlink_message_queue(name): removes a message queue's name.
#[pyfunction]
#[pyo3(signature = (name, /))]
fn unlink_message_queue(name: &str) -> PyResult<()> {
    ipc::unlink_message_queue(name).map_err(|e| errors::unlink(errors::Object::MessageQueue, &e))
}

/// POSIX IPC module
#[pymodule]
fn posix_ipc(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__doc__", "POSIX IPC module")?;
    m.add("VERSION", POSIX_IPC_VERSION)?;
    m.add("__version__", POSIX_IPC_VERSION)?;
    m.add("__ipc_version__", ipc::consts::VERSION)?;
    m.add(
        "__author__",
        "the ipc authors (API: Philip Semanchuk's posix_ipc)",
    )?;
    m.add("__license__", "MIT OR Apache-2.0")?;
    m.add(
        "__copyright__",
        "Copyright the ipc authors; the API is posix_ipc's, Copyright 2008 - 2025 Philip Semanchuk and contributors",
    )?;

    m.add("O_CREAT", libc::O_CREAT)?;
    m.add("O_EXCL", libc::O_EXCL)?;
    m.add("O_CREX", libc::O_CREAT | libc::O_EXCL)?;
    m.add("O_TRUNC", libc::O_TRUNC)?;
    if ipc::consts::MESSAGE_QUEUES_SUPPORTED {
        m.add("O_RDONLY", libc::O_RDONLY)?;
        m.add("O_WRONLY", libc::O_WRONLY)?;
        m.add("O_RDWR", libc::O_RDWR)?;
        m.add("O_NONBLOCK", libc::O_NONBLOCK)?;
    }
    m.add("PAGE_SIZE", ipc::consts::page_size())?;
    m.add(
        "SEMAPHORE_TIMEOUT_SUPPORTED",
        ipc::consts::SEMAPHORE_TIMEOUT_SUPPORTED,
    )?;
    m.add(
        "SEMAPHORE_VALUE_SUPPORTED",
        ipc::consts::SEMAPHORE_VALUE_SUPPORTED,
    )?;
    m.add("SEMAPHORE_VALUE_MAX", ipc::consts::SEMAPHORE_VALUE_MAX)?;
    m.add(
        "MESSAGE_QUEUES_SUPPORTED",
        ipc::consts::MESSAGE_QUEUES_SUPPORTED,
    )?;
    m.add(
        "QUEUE_MESSAGES_MAX_DEFAULT",
        ipc::consts::queue_messages_max_default(),
    )?;
    m.add(
        "QUEUE_MESSAGE_SIZE_MAX_DEFAULT",
        ipc::consts::queue_message_size_max_default(),
    )?;
    m.add("QUEUE_PRIORITY_MAX", ipc::consts::QUEUE_PRIORITY_MAX)?;
    m.add("USER_SIGNAL_MIN", ipc::consts::user_signal_min())?;
    m.add("USER_SIGNAL_MAX", ipc::consts::user_signal_max())?;

    m.add("Error", py.get_type::<errors::Error>())?;
    m.add("SignalError", py.get_type::<errors::SignalError>())?;
    m.add(
        "PermissionsError",
        py.get_type::<errors::PermissionsError>(),
    )?;
    m.add(
        "ExistentialError",
        py.get_type::<errors::ExistentialError>(),
    )?;
    m.add("BusyError", py.get_type::<errors::BusyError>())?;

    m.add_class::<semaphore::Semaphore>()?;
    m.add_class::<shm::SharedMemory>()?;
    m.add_class::<mq::MessageQueue>()?;
    m.add_function(wrap_pyfunction!(unlink_semaphore, m)?)?;
    m.add_function(wrap_pyfunction!(unlink_shared_memory, m)?)?;
    m.add_function(wrap_pyfunction!(unlink_message_queue, m)?)?;
    Ok(())
}
