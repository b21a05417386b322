//! `sem`, `mq` and `shm`: small operations for scripts and debugging.

use std::io::{IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::time::Duration;

use clap::Subcommand;

use crate::objects::Kind;
use crate::{Failure, duration, mode, size};

#[derive(Subcommand)]
pub(crate) enum SemCommand {
    /// Create a semaphore (or open it if it exists, unless --exclusive).
    Create {
        name: String,
        /// The initial value.
        #[arg(long, default_value_t = 0)]
        value: u32,
        /// Permission bits, octal.
        #[arg(long, value_parser = mode, default_value = "600")]
        mode: u32,
        /// Fail if it exists.
        #[arg(long)]
        exclusive: bool,
    },
    /// Increment (release) it.
    Post { name: String },
    /// Decrement (acquire) it, waiting while it is 0. Exit 3 on timeout.
    Wait {
        name: String,
        /// Give up after this long (0: do not wait).
        #[arg(long, value_parser = duration)]
        timeout: Option<Duration>,
    },
    /// Print its value.
    Value { name: String },
}

#[derive(Subcommand)]
pub(crate) enum MqCommand {
    /// Create a queue (or open it if it exists, unless --exclusive).
    Create {
        name: String,
        /// Capacity in messages.
        #[arg(long)]
        max_messages: Option<usize>,
        /// Largest message, e.g. 8KiB.
        #[arg(long, value_parser = size)]
        max_message_size: Option<u64>,
        /// Permission bits, octal.
        #[arg(long, value_parser = mode, default_value = "600")]
        mode: u32,
        /// Fail if it exists.
        #[arg(long)]
        exclusive: bool,
    },
    /// Send a message (the argument, or stdin). Exit 3 if full at the timeout.
    Send {
        name: String,
        /// The message; read from stdin when absent.
        message: Option<String>,
        /// Its priority (higher is received first).
        #[arg(long, default_value_t = 0)]
        priority: u32,
        /// Give up after this long while the queue is full (0: do not wait).
        #[arg(long, value_parser = duration)]
        timeout: Option<Duration>,
    },
    /// Receive one message and write it to stdout. Exit 3 on timeout.
    Recv {
        name: String,
        /// Print the message's priority and a space before it.
        #[arg(long)]
        priority: bool,
        /// Give up after this long while the queue is empty (0: do not wait).
        #[arg(long, value_parser = duration)]
        timeout: Option<Duration>,
    },
}

#[derive(Subcommand)]
pub(crate) enum ShmCommand {
    /// Write the object's bytes to stdout.
    Cat {
        name: String,
        /// Start here (bytes).
        #[arg(long, value_parser = size, default_value = "0")]
        offset: u64,
        /// At most this many bytes (default: to the end).
        #[arg(long, value_parser = size)]
        length: Option<u64>,
    },
    /// Write stdin (or --data) into the object at --offset.
    Write {
        name: String,
        /// The bytes to write; stdin when absent.
        #[arg(long)]
        data: Option<String>,
        /// Where to write (bytes).
        #[arg(long, value_parser = size, default_value = "0")]
        offset: u64,
        /// Create the object if it does not exist, with this size (4KiB).
        #[arg(long, value_parser = size)]
        create: Option<u64>,
        /// Permission bits of an object --create makes, octal.
        #[arg(long, value_parser = mode, default_value = "600")]
        mode: u32,
    },
}

fn sem_open(name: &str) -> Result<ipc::Semaphore, Failure> {
    ipc::Semaphore::open(name).map_err(|e| Failure::ipc(&e, Kind::Sem, name))
}

pub(crate) fn sem(cmd: SemCommand) -> Result<(), Failure> {
    match cmd {
        SemCommand::Create {
            name,
            value,
            mode,
            exclusive,
        } => {
            ipc::Semaphore::options()
                .create(true)
                .create_new(exclusive)
                .mode(mode)
                .initial_value(value)
                .open(&name)
                .map_err(|e| Failure::ipc(&e, Kind::Sem, &name))?;
        }
        SemCommand::Post { name } => {
            let s = sem_open(&name)?;
            s.release()
                .map_err(|e| Failure::ipc(&e, Kind::Sem, &name))?;
        }
        SemCommand::Wait { name, timeout } => {
            let s = sem_open(&name)?;
            let r = match timeout {
                Some(t) => s.acquire_timeout(t),
                None => s.acquire(),
            };
            r.map_err(|e| match e.kind() {
                ipc::ErrorKind::Busy => Failure::busy(format!(
                    "semaphore {name} stayed at 0 for {}",
                    show_duration(timeout)
                )),
                _ => Failure::ipc(&e, Kind::Sem, &name),
            })?;
        }
        SemCommand::Value { name } => {
            let s = sem_open(&name)?;
            let v = s.value().map_err(|e| Failure::ipc(&e, Kind::Sem, &name))?;
            crate::show::outln!("{v}");
        }
    }
    Ok(())
}

fn show_duration(d: Option<Duration>) -> String {
    d.map_or_else(|| "ever".into(), |d| format!("{d:?}"))
}

fn stdin_bytes() -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    std::io::stdin()
        .read_to_end(&mut buf)
        .map_err(|e| Failure::error(format!("reading stdin: {e}")))?;
    Ok(buf)
}

/// Writes `bytes` on stdout; a reader that went away ends the program as
/// [`crate::show::line`] says.
fn write_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        crate::show::exit_on_write_error(&e);
    }
}

pub(crate) fn mq(cmd: MqCommand) -> Result<(), Failure> {
    match cmd {
        MqCommand::Create {
            name,
            max_messages,
            max_message_size,
            mode,
            exclusive,
        } => {
            let mut opts = ipc::MessageQueue::options()
                .create(true)
                .create_new(exclusive)
                .mode(mode);
            if let Some(n) = max_messages {
                opts = opts.max_messages(n);
            }
            if let Some(s) = max_message_size {
                opts = opts.max_message_size(usize::try_from(s).unwrap_or(usize::MAX));
            }
            opts.open(&name)
                .map_err(|e| Failure::ipc(&e, Kind::Mq, &name))?;
        }
        MqCommand::Send {
            name,
            message,
            priority,
            timeout,
        } => {
            let q = ipc::MessageQueue::options()
                .read(false)
                .open(&name)
                .map_err(|e| Failure::ipc(&e, Kind::Mq, &name))?;
            let bytes = match message {
                Some(m) => m.into_bytes(),
                None => stdin_bytes()?,
            };
            let r = match timeout {
                Some(t) => q.send_timeout(&bytes, priority, t),
                None => q.send(&bytes, priority),
            };
            r.map_err(|e| match e.kind() {
                ipc::ErrorKind::Busy => Failure::busy(format!(
                    "queue {name} stayed full for {}",
                    show_duration(timeout)
                )),
                _ => Failure::ipc(&e, Kind::Mq, &name),
            })?;
        }
        MqCommand::Recv {
            name,
            priority,
            timeout,
        } => {
            let q = ipc::MessageQueue::options()
                .write(false)
                .open(&name)
                .map_err(|e| Failure::ipc(&e, Kind::Mq, &name))?;
            let r = match timeout {
                Some(t) => q.receive_timeout(t),
                None => q.receive(),
            };
            let (msg, prio) = r.map_err(|e| match e.kind() {
                ipc::ErrorKind::Busy => Failure::busy(format!(
                    "queue {name} stayed empty for {}",
                    show_duration(timeout)
                )),
                _ => Failure::ipc(&e, Kind::Mq, &name),
            })?;
            let mut out = Vec::new();
            if priority {
                out.extend_from_slice(format!("{prio} ").as_bytes());
            }
            out.extend_from_slice(&msg);
            if std::io::stdout().is_terminal() {
                out.push(b'\n');
            }
            write_stdout(&out);
        }
    }
    Ok(())
}

pub(crate) fn shm(cmd: ShmCommand) -> Result<(), Failure> {
    match cmd {
        ShmCommand::Cat {
            name,
            offset,
            length,
        } => {
            let file = open_for_reading(&name)?;
            let size = file
                .metadata()
                .map_err(|e| Failure::error(format!("{name}: {e}")))?
                .len();
            if offset > size {
                return Err(Failure::usage(format!(
                    "--offset {offset} is past the end of {name} ({size} bytes)"
                )));
            }
            let len = length.map_or(size - offset, |l| l.min(size - offset));
            // In pieces, with pread: an object of any size streams through a
            // small buffer, and one that shrinks meanwhile ends the output
            // early instead of faulting as a mapping would.
            let mut buf = vec![0u8; 64 * 1024];
            let mut done = 0u64;
            while done < len {
                let want = usize::try_from(len - done)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                let n = match file.read_at(&mut buf[..want], offset + done) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Failure::error(format!("reading {name}: {e}"))),
                };
                write_stdout(&buf[..n]);
                done += n as u64;
            }
        }
        ShmCommand::Write {
            name,
            data,
            offset,
            create,
            mode,
        } => {
            // An existing object keeps its size: --create only sizes a new one.
            let shm = match (ipc::SharedMemory::open(&name), create) {
                (Err(e), Some(size)) if e.kind() == ipc::ErrorKind::NotFound => {
                    ipc::SharedMemory::options()
                        .create_new(true)
                        .mode(mode)
                        .size(usize::try_from(size).unwrap_or(usize::MAX))
                        .open(&name)
                }
                (r, _) => r,
            }
            .map_err(|e| Failure::ipc(&e, Kind::Shm, &name))?;
            let bytes = match data {
                Some(d) => d.into_bytes(),
                None => stdin_bytes()?,
            };
            let size = shm.size().map_err(|e| Failure::ipc(&e, Kind::Shm, &name))? as u64;
            let end = offset.saturating_add(bytes.len() as u64);
            if end > size {
                return Err(Failure::usage(format!(
                    "{} bytes at offset {offset} do not fit in {name} ({size} bytes)",
                    bytes.len()
                )));
            }
            if bytes.is_empty() {
                return Ok(());
            }
            // pwrite, not a mapping: an object another process shrinks
            // meanwhile cannot make this process fault.
            let file = std::fs::File::from(
                shm.as_fd()
                    .try_clone_to_owned()
                    .map_err(|e| Failure::error(format!("{name}: {e}")))?,
            );
            file.write_all_at(&bytes, offset)
                .map_err(|e| Failure::error(format!("writing {name}: {e}")))?;
        }
    }
    Ok(())
}

/// Opens the shared-memory object `name` for reading, by its path in
/// `/dev/shm`: without following a symbolic link, and without blocking (a
/// FIFO put there would hang a plain read-only open); anything but a
/// regular file is refused.
fn open_for_reading(name: &str) -> Result<std::fs::File, Failure> {
    use std::os::unix::fs::OpenOptionsExt;
    crate::check_name(name)?;
    let path = Kind::Shm.path(name);
    let file = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Failure::error(format!(
                "{}: no shared memory named {name}; `ipcctl ls` lists them",
                path.display()
            )),
            std::io::ErrorKind::PermissionDenied => Failure::error(format!(
                "{}: {e}\n  it belongs to {}; run as that user or root (sudo)",
                path.display(),
                crate::owner_of(Kind::Shm, name)
            )),
            _ => Failure::error(format!("{}: {e}", path.display())),
        })?;
    let meta = file
        .metadata()
        .map_err(|e| Failure::error(format!("{}: {e}", path.display())))?;
    if !meta.file_type().is_file() {
        return Err(Failure::error(format!(
            "{}: not shared memory (not a regular file)",
            path.display()
        )));
    }
    Ok(file)
}
