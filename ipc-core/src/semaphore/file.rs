//! The file behind a named semaphore on Linux, `/dev/shm/sem.<name>`, which
//! glibc and musl map: checks of what an existing file holds before it is
//! used, and the exact-mode fix-up after a create.

use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};

use super::{OPEN, Semaphore};
use crate::sys::{FileId, MapsLine};
use crate::{Error, ErrorKind, Result};

/// Where glibc and musl keep the semaphore `name`.
fn sem_file(name: &str) -> Option<String> {
    name.strip_prefix('/')
        .map(|rest| format!("/dev/shm/sem.{rest}"))
}

/// The size of the `sem_t` a semaphore's file holds.
const SEM_LEN: usize = size_of::<libc::sem_t>();

/// The first 16 bytes of a semaphore's file of `len` bytes (`pread`, never a
/// mapping), or `None` if it is too short to be one.
fn read_head(file: &std::fs::File, len: u64) -> Option<[u8; 16]> {
    let mut head = [0u8; 16];
    (len >= SEM_LEN as u64 && file.read_exact_at(&mut head, 0).is_ok()).then_some(head)
}

/// glibc's 64-bit `data` word: the value, and on 64-bit targets the waiter
/// count in the high half.
fn data_word(head: [u8; 16]) -> u64 {
    let mut data = [0u8; 8];
    data.copy_from_slice(&head[..8]);
    u64::from_ne_bytes(data)
}

/// Opens the semaphore's file without following a symbolic link, as glibc's
/// `sem_open` does, and without blocking: a FIFO put in its place would
/// otherwise hang a read-only open until a writer came.
fn open_nofollow(path: &str) -> std::io::Result<std::fs::File> {
    std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}

/// The value and the waiter count of the semaphore `name` (checked), read
/// from its file with `pread` and never mapped: for [`crate::inspect`].
/// 64-bit glibc only, whose layout this knows.
pub(crate) fn read_value(op: &'static str, name: &std::sync::Arc<str>) -> Result<(u32, u32)> {
    if !cfg!(all(
        target_os = "linux",
        target_env = "gnu",
        target_pointer_width = "64"
    )) {
        return Err(Error::new(
            ErrorKind::Unsupported,
            op,
            Some(name),
            "a semaphore's file is read on 64-bit Linux with glibc only",
        ));
    }
    let path = sem_file(name).unwrap_or_default();
    let os = |e: std::io::Error| Error::os(op, Some(name), e.raw_os_error().unwrap_or(libc::EIO));
    let file = open_nofollow(&path).map_err(os)?;
    let meta = file.metadata().map_err(os)?;
    let not = |what: String| {
        Error::new(
            ErrorKind::InvalidData,
            op,
            Some(name),
            format!("not a semaphore: {path} {what}"),
        )
    };
    if !meta.file_type().is_file() {
        return Err(not(format!("is {}", crate::inspect::file_type(&meta))));
    }
    let Some(head) = read_head(&file, meta.len()) else {
        return Err(not(format!(
            "is {} bytes, a semaphore takes {SEM_LEN}",
            meta.len()
        )));
    };
    if let Some(problem) = glibc_layout_problem(head) {
        return Err(not(format!("holds {problem}")));
    }
    let data = data_word(head);
    // 64-bit glibc: the value in the low half, the waiter count above.
    Ok((data as u32, (data >> 32) as u32))
}

impl Semaphore {
    /// Sets the permission bits of a semaphore this handle created to exactly
    /// `self.mode`, undoing the umask.
    ///
    /// Best effort, and never on another file: the file is opened with
    /// `O_NOFOLLOW` (a symbolic link swapped in by a racing process is not
    /// followed), its device and inode must be those of the file mapped at
    /// this handle's semaphore (`/proc/self/maps`), and only then is it
    /// `fchmod`ed. Otherwise the umask-masked mode stays.
    pub(super) fn fix_mode(&self) {
        let Some(path) = sem_file(&self.name) else {
            return;
        };
        let Ok(file) = open_nofollow(&path) else {
            return;
        };
        let Ok(meta) = file.metadata() else {
            return;
        };
        if mapped_file(self.raw.addr()) == Some(FileId::of(meta.dev(), meta.ino())) {
            let _ = file.set_permissions(std::fs::Permissions::from_mode(self.mode));
        }
    }

    /// Refuses an "existing semaphore" whose backing file cannot be one
    /// before anything touches it:
    ///
    /// - too short: glibc maps it anyway, and the first access would kill
    ///   the process with `SIGBUS` (posix_ipc issue #51) —
    ///   [`ErrorKind::InvalidInput`];
    /// - the right size but words glibc never writes (see
    ///   [`glibc_layout_problem`]): glibc would abort the process inside a
    ///   futex call — [`ErrorKind::InvalidData`].
    ///
    /// The file is read with `pread` (no mapping, so no fault and no race
    /// with processes using it).
    pub(super) fn check_file(&self) -> Result<()> {
        let Some(path) = sem_file(&self.name) else {
            return Ok(());
        };
        let Ok(file) = open_nofollow(&path) else {
            // /dev/shm is elsewhere, or the name is gone again: nothing to
            // check against.
            return Ok(());
        };
        let len = file.metadata().map_or(u64::MAX, |m| m.len());
        let Some(head) = read_head(&file, len) else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                OPEN,
                Some(&self.name),
                format!("not a semaphore: {path} is {len} bytes, a semaphore takes {SEM_LEN}"),
            ));
        };
        if let Some(problem) = glibc_layout_problem(head) {
            return Err(Error::new(
                ErrorKind::InvalidData,
                OPEN,
                Some(&self.name),
                format!("not a semaphore: {path} holds {problem}"),
            ));
        }
        Ok(())
    }
}

/// What is wrong with the first 16 bytes of a glibc semaphore, if anything.
///
/// glibc's `struct new_sem` (nptl `internaltypes.h`): where it has 64-bit
/// atomics (every 64-bit target), a `uint64_t data` whose low 32 bits are
/// the value and high 32 bits the number of waiters, then `int private`;
/// elsewhere `unsigned value` (the value shifted left by one, bit 0 = "has
/// waiters"), `unsigned nwaiters`, then `int private`. Either way `private`
/// is at byte 8. `sem_open` writes `private = FUTEX_PRIVATE_FLAG` (glibc's
/// `LLL_SHARED`; a process-private `sem_init` writes 0) and keeps the value
/// at most `SEM_VALUE_MAX`. glibc computes the futex operation as
/// `(op | FUTEX_PRIVATE_FLAG) ^ private`, so any other `private` makes
/// `futex` fail with an error glibc treats as impossible: it aborts the
/// process. The waiter count
/// is not checked: a waiter killed in `sem_wait` leaves it raised, harmlessly.
/// musl normalizes its private flag and never aborts, so only glibc is
/// checked.
fn glibc_layout_problem(head: [u8; 16]) -> Option<String> {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return None;
    }
    let word = |at: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&head[at..at + 4]);
        w
    };
    let private = i32::from_ne_bytes(word(8));
    if private != 0 && private != libc::FUTEX_PRIVATE_FLAG {
        return Some(format!(
            "{private:#x} in its futex-flag word, where glibc writes {:#x} (shared) or 0",
            libc::FUTEX_PRIVATE_FLAG
        ));
    }
    if cfg!(target_pointer_width = "64") {
        // The value is the low half of the 64-bit word, in either byte order.
        let value = data_word(head) as u32;
        if value > crate::consts::SEMAPHORE_VALUE_MAX {
            return Some(format!(
                "the value {value}, above SEM_VALUE_MAX ({})",
                crate::consts::SEMAPHORE_VALUE_MAX
            ));
        }
    }
    None
}

/// The file mapped at `addr` in this process, from `/proc/self/maps`.
fn mapped_file(addr: usize) -> Option<FileId> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(MapsLine::parse)
        .find(|m| (m.start..m.end).contains(&addr))
        .map(|m| m.file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(data: u64, private: i32) -> [u8; 16] {
        let mut h = [0u8; 16];
        h[..8].copy_from_slice(&data.to_ne_bytes());
        h[8..12].copy_from_slice(&private.to_ne_bytes());
        h
    }

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
    fn glibc_layout() {
        let shared = libc::FUTEX_PRIVATE_FLAG;
        assert_eq!(glibc_layout_problem(head(0, shared)), None);
        assert_eq!(glibc_layout_problem(head(0, 0)), None, "process-private");
        assert_eq!(
            glibc_layout_problem(head(5 | (3 << 32), shared)),
            None,
            "waiters"
        );
        assert_eq!(
            glibc_layout_problem(head(0x7fff_ffff, shared)),
            None,
            "SEM_VALUE_MAX"
        );
        assert!(glibc_layout_problem(head(0x8000_0000, shared)).is_some());
        assert!(glibc_layout_problem(head(1, 1)).is_some());
        assert!(glibc_layout_problem(head(1, -1)).is_some());
    }

    #[test]
    fn this_process_maps_are_read() {
        let x = 5u8;
        // A stack address maps no file: inode 0.
        assert_eq!(
            mapped_file(std::ptr::from_ref(&x) as usize),
            Some(FileId::of(0, 0))
        );
    }

    /// Unlinks the semaphore and removes the victim file, pass or fail.
    struct Cleanup(String, std::path::PathBuf);

    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = crate::unlink_semaphore(&self.0);
            let _ = std::fs::remove_file(&self.1);
        }
    }

    /// The exact-mode fix-up never changes another file: not through a
    /// symbolic link swapped in for the semaphore's file, nor a different
    /// regular file put in its place. (It used to chmod by path.)
    #[test]
    fn fix_mode_touches_only_the_mapped_file() {
        let name = format!("/ipc-test.{}.fix-mode", std::process::id());
        let victim = std::env::temp_dir().join(format!("ipc-test.{}.victim", std::process::id()));
        let _cleanup = Cleanup(name.clone(), victim.clone());
        let path = sem_file(&name).unwrap();
        let sem = Semaphore::options()
            .create_new(true)
            .mode(0o646)
            .open(&name)
            .unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode(path.as_ref()),
            0o646,
            "the fix-up works on the real file"
        );

        std::fs::write(&victim, b"secret").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        sem.fix_mode();
        assert_eq!(mode(&victim), 0o600, "followed a symbolic link");

        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, [0u8; 32]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        sem.fix_mode();
        assert_eq!(mode(path.as_ref()), 0o600, "changed a file it did not map");
    }
}
