//! Checks and helpers shared by the three kinds of object.

use std::sync::Arc;

use crate::name::{self, Kind};
use crate::sys::Errno;
use crate::{Error, ErrorKind, Result};

/// Checks `name` for `kind` and makes it the shared name of a handle.
pub(crate) fn checked_name(op: &'static str, name: &str, kind: Kind) -> Result<Arc<str>> {
    check_name(op, name, kind).map(|()| Arc::from(name))
}

/// Checks `name` for `kind`.
#[inline]
pub(crate) fn check_name(op: &'static str, name: &str, kind: Kind) -> Result<()> {
    name::check(name, kind).map_err(|e| Error::name(op, name, e))
}

/// Permission bits above 0o777 (setuid, setgid, sticky, or garbage) are refused.
#[inline]
pub(crate) fn check_mode(op: &'static str, name: &str, mode: u32) -> Result<()> {
    if mode > 0o777 {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            op,
            Some(&Arc::from(name)),
            format!("mode {mode:#o} is out of range: permission bits go up to 0o777"),
        ));
    }
    Ok(())
}

/// Opens, creates, or exclusively creates, as `create`/`create_new` say;
/// returns the handle and whether this call created the object.
///
/// `O_CREAT` alone cannot tell whether the call created the object, which
/// the exact-mode fix-up and the failed-resize clean-up need to know: try an
/// exclusive create, then a plain open, until one of them sticks (another
/// process may create or unlink in between).
pub(crate) fn open_or_create<T>(
    create: bool,
    create_new: bool,
    mut create_excl: impl FnMut() -> std::result::Result<T, Errno>,
    mut open: impl FnMut() -> std::result::Result<T, Errno>,
) -> std::result::Result<(T, bool), Errno> {
    if create_new {
        return create_excl().map(|h| (h, true));
    }
    if !create {
        return open().map(|h| (h, false));
    }
    let mut last = libc::EEXIST;
    for _ in 0..64 {
        match create_excl() {
            Err(libc::EEXIST) => {}
            result => return result.map(|h| (h, true)),
        }
        match open() {
            Err(libc::ENOENT) => last = libc::ENOENT,
            result => return result.map(|h| (h, false)),
        }
    }
    Err(last)
}

/// How many random names `create_unique` tries before it gives up.
const UNIQUE_ATTEMPTS: usize = 16;

/// Creates an object under `"<prefix>.<16 hex digits>"`, the digits being 64
/// bits from the OS random source, drawing a new name while the last one
/// already exists.
pub(crate) fn create_unique<T>(
    op: &'static str,
    prefix: &str,
    kind: Kind,
    mut create: impl FnMut(&str) -> Result<T>,
) -> Result<T> {
    let mut last = None;
    for _ in 0..UNIQUE_ATTEMPTS {
        let random = crate::sys::random_u64()
            .map_err(|errno| Error::os("getrandom", Some(&Arc::from(prefix)), errno))?;
        let name = format!("{prefix}.{random:016x}");
        check_name(op, &name, kind)?;
        match create(&name) {
            Err(e) if e.kind() == ErrorKind::AlreadyExists => last = Some(e),
            result => return result,
        }
    }
    Err(last.unwrap_or_else(|| Error::from(name::NameError::Empty)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_keep_the_prefix_and_add_64_random_bits() {
        let mut seen = Vec::new();
        let name = create_unique("op", "/pre", Kind::SharedMemory, |n| {
            seen.push(n.to_owned());
            Ok(n.to_owned())
        })
        .unwrap();
        let suffix = name.strip_prefix("/pre.").unwrap();
        assert_eq!(suffix.len(), 16);
        assert!(suffix.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(seen, [name]);
    }

    #[test]
    fn collisions_draw_a_new_name() {
        let mut tried = Vec::new();
        let name = create_unique("op", "/pre", Kind::MessageQueue, |n| {
            tried.push(n.to_owned());
            if tried.len() < 3 {
                Err(Error::os("op", None, libc::EEXIST))
            } else {
                Ok(n.to_owned())
            }
        })
        .unwrap();
        assert_eq!(tried.len(), 3);
        assert_ne!(tried[0], tried[1]);
        assert_eq!(tried[2], name);
    }

    #[test]
    fn endless_collisions_and_bad_prefixes_are_errors() {
        let e = create_unique("op", "/pre", Kind::Semaphore, |_| -> Result<()> {
            Err(Error::os("op", None, libc::EEXIST))
        })
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        let e = create_unique("op", "pre", Kind::Semaphore, |_| Ok(())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidName);
        let e = create_unique(
            "op",
            &format!("/{}", "p".repeat(240)),
            Kind::Semaphore,
            |_| Ok(()),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidName);
    }

    #[test]
    fn open_or_create_reports_who_created() {
        let ok = |v| move || Ok::<u8, Errno>(v);
        let fail = |e| move || Err::<u8, Errno>(e);
        assert_eq!(open_or_create(false, true, ok(1), ok(2)), Ok((1, true)));
        assert_eq!(open_or_create(false, false, ok(1), ok(2)), Ok((2, false)));
        assert_eq!(open_or_create(true, false, ok(1), ok(2)), Ok((1, true)));
        assert_eq!(
            open_or_create(true, false, fail(libc::EEXIST), ok(2)),
            Ok((2, false))
        );
        assert_eq!(
            open_or_create(true, false, fail(libc::EACCES), ok(2)),
            Err(libc::EACCES)
        );
        // Created and unlinked by others in turn, forever: give up.
        assert_eq!(
            open_or_create(true, false, fail(libc::EEXIST), fail(libc::ENOENT)),
            Err(libc::ENOENT)
        );
        // Exists, but this process may not open it.
        assert_eq!(
            open_or_create(true, false, fail(libc::EEXIST), fail(libc::EACCES)),
            Err(libc::EACCES)
        );
    }

    #[test]
    fn modes_above_0o777_are_refused() {
        let name: Arc<str> = Arc::from("/x");
        assert!(check_mode("op", &name, 0o777).is_ok());
        assert!(check_mode("op", &name, 0).is_ok());
        let e = check_mode("op", &name, 0o1777).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("0o777"), "{e}");
    }
}
