//! [`MessageQueueOptions`]: how a queue is opened or created.

use std::ffi::c_long;
use std::os::fd::AsFd;
use std::sync::Arc;

use super::{MessageQueue, OPEN, notify::Registration};
use crate::common::{check_mode, checked_name, create_unique, open_or_create};
use crate::name::Kind;
use crate::sys::{self, mq};
use crate::{Error, ErrorKind, Result};

/// Options for opening or creating a [`MessageQueue`], like [`std::fs::OpenOptions`].
///
/// Defaults: open an existing queue for reading and writing, blocking, mode
/// `0o600`; a created queue gets the system's default limits
/// ([`crate::consts::queue_messages_max_default`],
/// [`crate::consts::queue_message_size_max_default`]).
///
/// ```
/// use ipc::MessageQueue;
///
/// let mq = MessageQueue::options()
///     .create_new(true)
///     .max_messages(2)
///     .max_message_size(128)
///     .blocking(false)
///     .create_unique("/doc.mq-options")?;
/// assert_eq!((mq.max_messages(), mq.max_message_size()), (2, 128));
/// assert!(!mq.is_blocking()?);
/// mq.unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "options do nothing until `open` or `create_unique` is called"]
pub struct MessageQueueOptions {
    create: bool,
    create_new: bool,
    mode: u32,
    max_messages: Option<usize>,
    max_message_size: Option<usize>,
    read: bool,
    write: bool,
    blocking: bool,
}

impl Default for MessageQueueOptions {
    fn default() -> Self {
        MessageQueueOptions {
            create: false,
            create_new: false,
            mode: 0o600,
            max_messages: None,
            max_message_size: None,
            read: true,
            write: true,
            blocking: true,
        }
    }
}

impl MessageQueueOptions {
    /// Creates the queue if it does not exist (`O_CREAT`).
    pub fn create(mut self, yes: bool) -> Self {
        self.create = yes;
        self
    }

    /// Creates the queue and fails with [`ErrorKind::AlreadyExists`] if it
    /// exists (`O_CREAT | O_EXCL`).
    pub fn create_new(mut self, yes: bool) -> Self {
        self.create_new = yes;
        self
    }

    /// The permission bits of a queue this call creates; default `0o600`,
    /// exactly, whatever the umask. Above `0o777` is [`ErrorKind::InvalidInput`].
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    /// How many messages a queue this call creates can hold. Ignored when
    /// the queue exists: its real limits are read back from the kernel.
    /// Linux caps it at `/proc/sys/fs/mqueue/msg_max` for unprivileged users.
    pub fn max_messages(mut self, n: usize) -> Self {
        self.max_messages = Some(n);
        self
    }

    /// The largest message a queue this call creates accepts, in bytes.
    /// Ignored when the queue exists. Linux caps it at
    /// `/proc/sys/fs/mqueue/msgsize_max` for unprivileged users.
    pub fn max_message_size(mut self, n: usize) -> Self {
        self.max_message_size = Some(n);
        self
    }

    /// Opens for receiving; default true.
    pub fn read(mut self, yes: bool) -> Self {
        self.read = yes;
        self
    }

    /// Opens for sending; default true. `read(false)` with `write(false)` is
    /// [`ErrorKind::InvalidInput`].
    pub fn write(mut self, yes: bool) -> Self {
        self.write = yes;
        self
    }

    /// Whether `send` and `receive` wait (default) or fail at once with
    /// [`ErrorKind::Busy`] (`O_NONBLOCK`). See [`MessageQueue::set_blocking`].
    pub fn blocking(mut self, yes: bool) -> Self {
        self.blocking = yes;
        self
    }

    /// `mq_open(name, flags, mode, attr)` — opens (or creates, as the
    /// options say) the queue called `name`, then reads its attributes back.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidName`]: `name` breaks a rule of [`crate::name`];
    ///   no system call was made.
    /// - [`ErrorKind::InvalidInput`]: the mode is above `0o777`, neither read
    ///   nor write access was asked, or a limit given to a create is 0
    ///   (checked before any system call; a plain open ignores the limits);
    ///   or the kernel refused the limits (`EINVAL`, the
    ///   message names `/proc/sys/fs/mqueue/msg_max` and `msgsize_max`).
    /// - [`ErrorKind::NotFound`] (`ENOENT`): no such queue, and creation was
    ///   not asked.
    /// - [`ErrorKind::AlreadyExists`] (`EEXIST`): it exists and
    ///   [`create_new`](Self::create_new) was asked.
    /// - [`ErrorKind::PermissionDenied`] (`EACCES`): its permissions refuse
    ///   this process.
    /// - Other OS errors are reported as [`ErrorKind::Other`]: `EMFILE` also
    ///   when the user's `RLIMIT_MSGQUEUE` bytes are used up (the message
    ///   then names `RLIMIT_MSGQUEUE`, not "too many open files"), `ENOSPC`
    ///   when `/proc/sys/fs/mqueue/queues_max` queues exist.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipc::MessageQueue;
    /// let name = format!("/doc.mq-options-open.{}", std::process::id());
    /// let writer = MessageQueue::options().create(true).read(false).max_message_size(32).open(&name)?;
    /// let reader = MessageQueue::options().write(false).open(&name)?;
    /// writer.send(b"one way", 0)?;
    /// assert_eq!(reader.receive()?.0, b"one way");
    /// assert_eq!(writer.receive().unwrap_err().kind(), ipc::ErrorKind::PermissionDenied);
    /// writer.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[doc(alias = "mq_open")]
    pub fn open(self, name: &str) -> Result<MessageQueue> {
        let name = checked_name(OPEN, name, Kind::MessageQueue)?;
        self.open_checked(name)
    }

    /// Creates a queue under a fresh random name,
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
    /// use ipc::MessageQueue;
    ///
    /// let mq = MessageQueue::options().max_message_size(8).create_unique("/doc.mq-unique")?;
    /// assert!(mq.name().starts_with("/doc.mq-unique."));
    /// mq.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn create_unique(self, prefix: &str) -> Result<MessageQueue> {
        let opts = self.create_new(true);
        create_unique(OPEN, prefix, Kind::MessageQueue, |name| {
            opts.clone().open_checked(Arc::from(name))
        })
    }

    fn open_checked(self, name: Arc<str>) -> Result<MessageQueue> {
        check_mode(OPEN, &name, self.mode)?;
        let invalid = |msg: String| Error::new(ErrorKind::InvalidInput, OPEN, Some(&name), msg);
        let access = match (self.read, self.write) {
            (true, true) => libc::O_RDWR,
            (true, false) => libc::O_RDONLY,
            (false, true) => libc::O_WRONLY,
            (false, false) => {
                return Err(invalid(
                    "at least one of read and write access must be asked".into(),
                ));
            }
        };
        let creating = self.create || self.create_new;
        // The limits matter only to a create: a plain open ignores them (and
        // reads no /proc default for them).
        let sizes = if creating {
            let max_messages = self
                .max_messages
                .unwrap_or_else(crate::consts::queue_messages_max_default);
            let max_size = self
                .max_message_size
                .unwrap_or_else(crate::consts::queue_message_size_max_default);
            let limit = |what: &str, n: usize| {
                if n == 0 {
                    return Err(invalid(format!("{what} must be at least 1")));
                }
                c_long::try_from(n)
                    .map_err(|_| invalid(format!("{what} {n} exceeds the C long maximum")))
            };
            Some((
                limit("max_messages", max_messages)?,
                limit("max_message_size", max_size)?,
            ))
        } else {
            None
        };
        let flags = access | libc::O_CLOEXEC | if self.blocking { 0 } else { libc::O_NONBLOCK };
        let (fd, created) = sys::with_cstr(&name, |c| {
            open_or_create(
                self.create,
                self.create_new,
                || mq::open(c, flags | libc::O_CREAT | libc::O_EXCL, self.mode, sizes),
                || mq::open(c, flags, 0, None),
            )
        })
        .map_err(|e| {
            let err = Error::os(OPEN, Some(&name), e);
            match sizes {
                Some((max_messages, max_size)) if e == libc::EINVAL => err.with_detail(format!(
                    "the system refused max_messages {max_messages} or max_message_size \
                     {max_size}: the limits are /proc/sys/fs/mqueue/msg_max ({}) and \
                     msgsize_max ({})",
                    proc_limit("msg_max"),
                    proc_limit("msgsize_max"),
                )),
                // The kernel reports both a full descriptor table and the
                // per-user RLIMIT_MSGQUEUE as EMFILE: if a descriptor can
                // still be opened, it was the latter.
                Some(_) if e == libc::EMFILE && std::fs::File::open("/dev/null").is_ok() => err
                    .with_detail(
                        "the per-user RLIMIT_MSGQUEUE limit on queue memory is reached \
                         (the kernel reports it as EMFILE, too many open files)",
                    ),
                _ => err,
            }
        })?;
        if created {
            sys::shm::chmod(fd.as_fd(), self.mode)
                .map_err(|e| Error::os("fchmod", Some(&name), e))?;
        }
        let attr = mq::attr(fd.as_fd()).map_err(|e| Error::os("mq_getattr", Some(&name), e))?;
        Ok(MessageQueue {
            fd: Arc::new(fd),
            name,
            mode: self.mode,
            max_messages: attr.max_messages,
            max_message_size: attr.max_message_size,
            read: self.read,
            write: self.write,
            notification: Registration::default(),
        })
    }
}

fn proc_limit(file: &str) -> String {
    std::fs::read_to_string(format!("/proc/sys/fs/mqueue/{file}"))
        .map_or_else(|_| "unknown".to_owned(), |s| s.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_defaults() {
        let o = MessageQueueOptions::default();
        assert!(o.read && o.write && o.blocking && !o.create && !o.create_new);
        assert_eq!(o.mode, 0o600);
        assert_eq!((o.max_messages, o.max_message_size), (None, None));
    }
}
