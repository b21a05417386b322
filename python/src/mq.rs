//! `posix_ipc.MessageQueue` on `ipc::MessageQueue`.

use std::cell::RefCell;
use std::os::fd::AsRawFd;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyInt, PyMemoryView, PyString, PyTuple};

use crate::args;
use crate::errors::{self, BusyError, ExistentialError, Object, PermissionsError};

const FULL: &str = "The queue is full";
const EMPTY: &str = "The queue is empty";
const GONE_WRITE: &str = "The message queue does not exist or is not open for writing";
const GONE_READ: &str = "The message queue does not exist or is not open for reading";
const GONE: &str = "The queue does not exist";
const BAD_NOTIFICATION: &str =
    "The notification must be None, an integer, or a tuple of (function, parameter)";

/// Receive buffers up to this size are kept per thread and reused.
const REUSED_BUFFER_MAX: usize = 64 * 1024;

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A POSIX message queue: `MessageQueue(name, flags=0, mode=0o600,
/// max_messages=QUEUE_MESSAGES_MAX_DEFAULT,
/// max_message_size=QUEUE_MESSAGE_SIZE_MAX_DEFAULT, read=True, write=True)`.
#[pyclass(module = "posix_ipc", name = "MessageQueue", subclass, frozen)]
pub(crate) struct MessageQueue {
    name: Py<PyString>,
    mode: u32,
    max_messages: usize,
    max_message_size: usize,
    read: bool,
    write: bool,
    /// `None` once closed; blocking calls hold a clone of the `Arc`.
    handle: RwLock<Option<Arc<ipc::MessageQueue>>>,
}

/// A message's bytes: borrowed from an immutable bytes or str, copied from
/// any other buffer (another thread may change a bytearray while the GIL is
/// released).
enum Message<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

impl Message<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Message::Borrowed(b) => b,
            Message::Owned(v) => v,
        }
    }
}

fn message_bytes<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<Message<'a>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Message::Borrowed(b.as_bytes()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Message::Borrowed(s.to_str()?.as_bytes()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Message::Owned(b.to_vec()));
    }
    // Any other buffer (memoryview, array.array, mmap...): its bytes in C
    // order. posix_ipc 1.3.2 segfaults on a message that is not a buffer.
    match PyMemoryView::from(obj) {
        Ok(view) => Ok(Message::Owned(
            view.call_method0("tobytes")?
                .cast::<PyBytes>()?
                .as_bytes()
                .to_vec(),
        )),
        Err(_) => Err(PyTypeError::new_err(format!(
            "The message must be a str or a bytes-like object, not {}",
            obj.get_type().name()?
        ))),
    }
}

impl MessageQueue {
    fn handle(&self) -> Option<Arc<ipc::MessageQueue>> {
        self.handle
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn attr_error(e: &ipc::Error) -> PyErr {
        match e.raw_os_error() {
            Some(libc::EBADF | libc::EINVAL) => ExistentialError::new_err(GONE),
            Some(errno) => errors::os(errno, e),
            None => PyValueError::new_err(e.to_string()),
        }
    }
}

#[pymethods]
impl MessageQueue {
    #[new]
    #[pyo3(signature = (name, flags = 0, mode = 0o600, max_messages = None, max_message_size = None, read = None, write = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        name: &Bound<'_, PyAny>,
        flags: u32,
        mode: i64,
        max_messages: Option<i64>,
        max_message_size: Option<i64>,
        read: Option<&Bound<'_, PyAny>>,
        write: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let py = name.py();
        let given = args::name(name)?;
        let flags = args::Flags::parse(i64::from(flags), given.is_none())?;
        let mode = args::mode(mode)?;
        let truthy = |o: Option<&Bound<'_, PyAny>>| o.map_or(Ok(true), Bound::is_truthy);
        let (mut read, mut write) = (truthy(read)?, truthy(write)?);
        if !read && !write {
            return Err(PyValueError::new_err(
                "At least one of read or write must be True",
            ));
        }
        // posix_ipc ORs an access mode given in flags into the one read and
        // write choose: O_WRONLY with both (O_RDWR|O_WRONLY) is EINVAL.
        if flags.access != 0 {
            let chosen = match (read, write) {
                (true, true) => libc::O_RDWR,
                (true, false) => libc::O_RDONLY,
                _ => libc::O_WRONLY,
            };
            match i64::from(chosen) | flags.access {
                a if a == i64::from(libc::O_RDONLY) => (read, write) = (true, false),
                a if a == i64::from(libc::O_WRONLY) => (read, write) = (false, true),
                a if a == i64::from(libc::O_RDWR) => (read, write) = (true, true),
                _ => {
                    return Err(PyValueError::new_err(
                        "Invalid parameter(s): the access mode in flags conflicts with read and write",
                    ));
                }
            }
        }
        let size = |v: Option<i64>, default: fn() -> usize, what: &str| match v {
            None => Ok(default()),
            Some(n) => usize::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "Invalid parameter(s): {what} must be at least 1, not {n}"
                ))
            }),
        };
        let options = ipc::MessageQueue::options()
            .mode(mode)
            .max_messages(size(
                max_messages,
                ipc::consts::queue_messages_max_default,
                "max_messages",
            )?)
            .max_message_size(size(
                max_message_size,
                ipc::consts::queue_message_size_max_default,
                "max_message_size",
            )?)
            .read(read)
            .write(write)
            .blocking(!flags.nonblock)
            .create(flags.create)
            .create_new(flags.exclusive);
        let mq = match &given {
            Some(name) => options.open(name.text),
            None => args::create_random(|name| options.clone().open(name)).map(|(mq, _)| mq),
        }
        .map_err(|e| errors::open(Object::MessageQueue, &e, false))?;
        Ok(MessageQueue {
            name: args::Name::attribute(given.as_ref(), py, mq.name()),
            mode,
            max_messages: mq.max_messages(),
            max_message_size: mq.max_message_size(),
            read,
            write,
            handle: RwLock::new(Some(Arc::new(mq))),
        })
    }

    /// send(message, timeout=None, priority=0): a str (sent as UTF-8) or a
    /// bytes-like object. None waits while the queue is full, 0 does not
    /// wait, a positive number waits that many seconds at most.
    #[pyo3(signature = (message, timeout = None, priority = 0))]
    fn send(
        &self,
        py: Python<'_>,
        message: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
        priority: i64,
    ) -> PyResult<()> {
        let message = message_bytes(message)?;
        let timeout = args::timeout(timeout)?;
        let guard = self.handle.read().unwrap_or_else(PoisonError::into_inner);
        let mq = guard
            .as_ref()
            .ok_or_else(|| ExistentialError::new_err(GONE_WRITE))?;
        if !self.write {
            return Err(PermissionsError::new_err(
                "The queue is not open for writing",
            ));
        }
        let bytes = message.bytes();
        if bytes.len() > self.max_message_size {
            // posix_ipc 1.3.2 means to say this but reports EMSGSIZE's
            // "The message is too long" instead.
            return Err(PyValueError::new_err(format!(
                "The message must be no longer than {} bytes (max_message_size), not {}",
                self.max_message_size,
                bytes.len()
            )));
        }
        let max = ipc::consts::QUEUE_PRIORITY_MAX;
        let priority = u32::try_from(priority)
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "The priority must be a positive number no greater than QUEUE_PRIORITY_MAX ({max})"
                ))
            })?;
        // An attempt that cannot block runs with the GIL held: most sends
        // find room and never pay for releasing and re-taking it.
        match mq.try_send(bytes, priority) {
            Err(e) if e.kind() == ipc::ErrorKind::Busy && !is_zero(timeout) => {}
            result => return result.map_err(|e| errors::call(py, &e, FULL, GONE_WRITE)),
        }
        // The wait holds its own reference, not the lock: close() from
        // another thread must not wait for it.
        let mq = Arc::clone(mq);
        drop(guard);
        py.detach(|| mq.send_interruptible(bytes, priority, timeout))
            .map_err(|e| errors::call(py, &e, FULL, GONE_WRITE))
    }

    /// receive(timeout=None) -> (bytes, priority): the oldest message of
    /// the highest priority. None waits while the queue is empty, 0 does
    /// not wait, a positive number waits that many seconds at most.
    #[pyo3(signature = (timeout = None))]
    fn receive<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let timeout = args::timeout(timeout)?;
        let guard = self.handle.read().unwrap_or_else(PoisonError::into_inner);
        let mq = guard
            .as_ref()
            .ok_or_else(|| ExistentialError::new_err(GONE_READ))?;
        if !self.read {
            return Err(PermissionsError::new_err(
                "The queue is not open for reading",
            ));
        }
        let len = self.max_message_size;
        // Creating a bytes object runs no Python code, so nothing can reach
        // this thread's buffer while it is borrowed.
        let bytes =
            |buf: &[u8], (n, priority): (usize, u32)| (PyBytes::new(py, &buf[..n]), priority);
        // An attempt that cannot block, with the GIL held; most receives
        // find a message.
        let received = with_buffer(len, |buf| match mq.try_receive_into(buf) {
            Err(e) if e.kind() == ipc::ErrorKind::Busy && !is_zero(timeout) => Ok(None),
            result => result.map(|r| Some(bytes(buf, r))),
        });
        // The lock is released before anything that may run Python code (a
        // tuple may start the garbage collector, whose finalizers may let
        // another thread in to close() this queue).
        let received = match received {
            Ok(Some(received)) => {
                drop(guard);
                Ok(received)
            }
            Ok(None) => {
                // The wait holds its own reference, not the lock.
                let mq = Arc::clone(mq);
                drop(guard);
                with_buffer(len, |buf| {
                    py.detach(|| mq.receive_into_interruptible(buf, timeout))
                        .map(|r| bytes(buf, r))
                })
            }
            Err(e) => {
                drop(guard);
                Err(e)
            }
        };
        let (bytes, priority) = received.map_err(|e| errors::call(py, &e, EMPTY, GONE_READ))?;
        PyTuple::new(
            py,
            [bytes.into_any(), priority.into_pyobject(py)?.into_any()],
        )
    }

    /// request_notification(notification=None): None cancels; a signal
    /// number asks for that signal, a (function, parameter) tuple for
    /// function(parameter) on another thread, when a message arrives in the
    /// empty queue. One-shot.
    #[pyo3(signature = (notification = None))]
    fn request_notification(&self, notification: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let mq = self.handle();
        let Some(notification) = notification.filter(|n| !n.is_none()) else {
            // posix_ipc ignores the result of cancelling, also after close.
            if let Some(mq) = mq {
                let _ = mq.cancel_notification();
            }
            return Ok(());
        };
        let request = if notification.is_instance_of::<PyInt>() {
            let signal = notification
                .extract::<i32>()
                .map_err(|_| PyValueError::new_err("The signal number is out of range"))?;
            Request::Signal(signal)
        } else if let Ok(pair) = notification.cast::<PyTuple>() {
            if pair.len() != 2 || !pair.get_item(0)?.is_callable() {
                return Err(PyValueError::new_err(BAD_NOTIFICATION));
            }
            Request::Call(pair.get_item(0)?.unbind(), pair.get_item(1)?.unbind())
        } else {
            return Err(PyValueError::new_err(BAD_NOTIFICATION));
        };
        let Some(mq) = mq else {
            return Err(PyOSError::new_err((libc::EBADF, "Bad file descriptor")));
        };
        match request {
            Request::Signal(signal) => mq.notify_signal(signal),
            Request::Call(function, param) => mq.notify_callback(move || {
                // The callback runs on a thread Python starts
                // (`_thread.start_new_thread`, which does not wait for it),
                // not on this one: a thread that must take the GIL back
                // while the interpreter shuts down is ended by Python with
                // pthread_exit, and that unwinding through Rust frames
                // aborts the process (posix_ipc's C thread just exits). Here
                // it only ever unwinds through Python's own frames. An
                // exception in the callback goes to sys.unraisablehook
                // ("Exception ignored in thread started by ..."), where
                // posix_ipc drops it silently. Once shutdown has begun
                // (`try_attach` refuses), the callback is dropped, as the
                // work of daemon threads is.
                let _ = Python::try_attach(|py| {
                    let started = py.import("_thread").and_then(|thread| {
                        thread.call_method1("start_new_thread", (&function, (&param,)))
                    });
                    if let Err(e) = started {
                        e.write_unraisable(py, Some(function.bind(py)));
                    }
                });
            }),
        }
        .map_err(|e| match (e.kind(), e.raw_os_error()) {
            (ipc::ErrorKind::Busy, _) => {
                BusyError::new_err("The queue is already delivering notifications elsewhere")
            }
            (_, Some(errno)) => errors::os(errno, &e),
            (_, None) => PyValueError::new_err(e.to_string()),
        })?;
        Ok(())
    }

    /// close(): closes this handle (and any notification it requested).
    fn close(&self) -> PyResult<()> {
        let taken = self
            .handle
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(mq) = taken else {
            return Err(ExistentialError::new_err(GONE));
        };
        match Arc::try_unwrap(mq) {
            Ok(mq) => mq
                .close()
                .map_err(|e| ExistentialError::new_err(format!("{GONE}: {e}"))),
            // A thread still waiting in send or receive holds the queue: it
            // is closed when that call returns.
            Err(_) => Ok(()),
        }
    }

    /// unlink(): removes the name; open handles stay usable.
    fn unlink(&self, py: Python<'_>) -> PyResult<()> {
        ipc::unlink_message_queue(self.name.bind(py).to_str()?)
            .map_err(|e| errors::unlink(Object::MessageQueue, &e))
    }

    /// fileno(): the queue descriptor, as `mqd` (-1 after close).
    fn fileno(&self) -> i32 {
        self.mqd()
    }

    /// The queue descriptor, or -1 after close().
    #[getter]
    fn mqd(&self) -> i32 {
        self.handle
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map_or(-1, |mq| AsRawFd::as_raw_fd(&**mq))
    }

    /// Whether send and receive wait (True) or raise BusyError at once.
    #[getter]
    fn block(&self) -> PyResult<bool> {
        let mq = self
            .handle()
            .ok_or_else(|| ExistentialError::new_err(GONE))?;
        mq.is_blocking().map_err(|e| Self::attr_error(&e))
    }

    #[setter]
    fn set_block(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let blocking = value.is_truthy()?;
        let mq = self
            .handle()
            .ok_or_else(|| ExistentialError::new_err(GONE))?;
        mq.set_blocking(blocking).map_err(|e| Self::attr_error(&e))
    }

    /// The number of messages in the queue now.
    #[getter]
    fn current_messages(&self) -> PyResult<usize> {
        let mq = self
            .handle()
            .ok_or_else(|| ExistentialError::new_err(GONE))?;
        mq.current_messages().map_err(|e| Self::attr_error(&e))
    }

    #[getter]
    fn max_messages(&self) -> usize {
        self.max_messages
    }

    #[getter]
    fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }

    #[getter]
    fn mode(&self) -> u32 {
        self.mode
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let py_bool = |b: bool| if b { "True" } else { "False" };
        format!(
            "posix_ipc.MessageQueue(\"{}\", mode=0{:o}, max_message_size={}, max_messages={}, read={}, write={})",
            self.name.bind(py),
            self.mode,
            self.max_message_size,
            self.max_messages,
            py_bool(self.read),
            py_bool(self.write),
        )
    }

    fn __str__(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }
}

enum Request {
    Signal(i32),
    Call(Py<PyAny>, Py<PyAny>),
}

/// Runs `f` with a buffer of at least `len` bytes: this thread's reused one
/// when it is small enough and free, a new one otherwise.
fn with_buffer<T>(len: usize, f: impl FnOnce(&mut [u8]) -> T) -> T {
    let run = |buf: &mut Vec<u8>| {
        if buf.len() < len {
            buf.resize(len, 0);
        }
        f(&mut buf[..len])
    };
    if len > REUSED_BUFFER_MAX {
        return run(&mut Vec::new());
    }
    BUFFER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => run(&mut buf),
        Err(_) => run(&mut Vec::new()),
    })
}

fn is_zero(timeout: Option<Duration>) -> bool {
    timeout.is_some_and(|t| t.is_zero())
}
