//! Shared memory on real kernel objects. Each posix_ipc test in
//! tests/test_memory.py has a counterpart here, named in its doc comment
//! (test_ctor_fd_can_become_zero and the failed-resize cases run in a child
//! process, in tests/processes.rs).

// The unsafe slice views of `Mapping` are part of the API under test.
#![allow(unsafe_code)]

mod common;

use common::{Kind, Name, Planted};
use ipc::consts::page_size;
use ipc::{ErrorKind, SharedMemory};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

/// posix_ipc's setUp: a new 3333-byte object.
fn fixture(tag: &str) -> (Name, SharedMemory) {
    let name = Name::shm(tag);
    let shm = SharedMemory::create_new(&name, 3333).unwrap();
    (name, shm)
}

/// test_ctor_no_flags_existing.
#[test]
fn open_existing() {
    let (name, _shm) = fixture("open");
    let again = SharedMemory::open(&name).unwrap();
    assert_eq!(again.name(), &*name);
    assert_eq!(again.size().unwrap(), 3333);
}

/// test_ctor_no_flags_non_existent.
#[test]
fn open_missing_is_not_found() {
    let name = Name::shm("missing");
    let err = SharedMemory::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        err.to_string(),
        format!("shm_open({:?}): not found", &*name)
    );
}

/// test_ctor_o_creat_existing.
#[test]
fn create_opens_existing() {
    let (name, _shm) = fixture("creat-existing");
    let again = SharedMemory::create(&name, 0).unwrap();
    assert_eq!(again.size().unwrap(), 3333);
}

/// test_o_creat_new.
#[test]
fn create_makes_a_new_one() {
    let name = Name::shm("creat-new");
    let shm = SharedMemory::create(&name, 4096).unwrap();
    assert_eq!(shm.size().unwrap(), 4096);
}

/// test_o_excl and test_o_crex.
#[test]
fn create_new_on_existing_is_already_exists() {
    let (name, _shm) = fixture("crex");
    let err = SharedMemory::create_new(&name, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    // The existing object is untouched by the failed exclusive create.
    assert_eq!(SharedMemory::open(&name).unwrap().size().unwrap(), 3333);
}

/// test_o_trunc.
#[test]
fn truncate_empties_an_existing_object() {
    let (name, shm) = fixture("trunc");
    let again = SharedMemory::options().truncate(true).open(&name).unwrap();
    assert_eq!(again.size().unwrap(), 0);
    assert_eq!(shm.size().unwrap(), 0);
}

/// test_randomly_generated_name.
#[test]
fn create_unique_names() {
    let shm = SharedMemory::options()
        .size(1024)
        .create_unique("/ipc-test.uniq-shm")
        .unwrap();
    let _name = Name::adopt(shm.name(), Kind::SharedMemory);
    assert!(shm.name().starts_with("/ipc-test.uniq-shm."));
    assert_eq!(shm.size().unwrap(), 1024);
}

/// test_name_as_bytes: non-ASCII names round-trip instead.
#[test]
fn non_ascii_name() {
    let name = Name::adopt(
        &format!("{}-ünï", common::unique("utf8")),
        Kind::SharedMemory,
    );
    let shm = SharedMemory::create_new(&name, 10).unwrap();
    assert_eq!(SharedMemory::open(&name).unwrap().name(), shm.name());
}

/// test_mmap_size: the object and its mapping have the exact size.
#[test]
fn mapping_has_the_object_size() {
    let (_name, shm) = fixture("mmap-size");
    assert_eq!(shm.size().unwrap(), 3333);
    let map = shm.map().unwrap();
    assert_eq!(map.len(), 3333);
    assert!(!map.is_empty());
    assert!(map.is_writable());
}

/// test_ctor_read_only_flag: a read-only handle maps read-only, and writes
/// are refused with an error, not a fault.
#[test]
fn read_only_handle() {
    let (name, shm) = fixture("ro");
    shm.map().unwrap().write_at(0, b"data").unwrap();
    let ro = SharedMemory::options().read_only(true).open(&name).unwrap();
    assert!(ro.read_only());
    let map = ro.map().unwrap();
    assert!(!map.is_writable());
    let mut buf = [0u8; 4];
    map.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"data");
    let err = map.write_at(0, b"x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        ro.resize(10).unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    let err = SharedMemory::options()
        .read_only(true)
        .size(10)
        .open(&name)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // The refused resize left the object as it was (posix_ipc deletes it).
    assert_eq!(shm.size().unwrap(), 3333);
}

/// test_object_method_close_fd and test_unlink: close reports success and
/// leaves mappings valid; after unlink the name is gone but handles work.
#[test]
fn close_and_unlink() {
    let (name, shm) = fixture("close");
    let map = shm.map().unwrap();
    map.write_at(3000, b"kept").unwrap();
    shm.unlink().unwrap();
    assert_eq!(shm.size().unwrap(), 3333);
    shm.close().unwrap();
    let mut buf = [0u8; 4];
    map.read_at(3000, &mut buf).unwrap();
    assert_eq!(&buf, b"kept");
    assert_eq!(
        SharedMemory::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        ipc::unlink_shared_memory(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

/// test_unlink_shared_memory (test_module.py).
#[test]
fn unlink_function() {
    let (name, _shm) = fixture("unlink-fn");
    ipc::unlink_shared_memory(&name).unwrap();
    assert_eq!(
        SharedMemory::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        ipc::unlink_shared_memory("no-slash").unwrap_err().kind(),
        ErrorKind::InvalidName
    );
}

/// test_name_property, test_fd_property, test_fileno, test_size_property.
#[test]
fn properties() {
    let (name, shm) = fixture("props");
    assert_eq!(shm.name(), &*name);
    assert_eq!(shm.to_string(), &*name);
    assert_eq!(shm.mode(), 0o600);
    assert!(!shm.read_only());
    assert!(shm.as_raw_fd() >= 0);
    assert_eq!(shm.as_fd().as_raw_fd(), shm.as_raw_fd());
    assert_eq!(shm.size().unwrap(), 3333);
    let debug = format!("{shm:?}");
    assert!(debug.contains(&*name), "{debug}");
    // The descriptor can be taken over; the object is still there.
    let fd: OwnedFd = shm.into();
    let file = std::fs::File::from(fd);
    assert_eq!(file.metadata().unwrap().len(), 3333);
}

/// test_ctor_second_handle_default_size_no_change and
/// test_ctor_second_handle_explicit_size_no_change.
#[test]
fn second_handle_without_size_changes_nothing() {
    let name = Name::shm("resize-none");
    let first = SharedMemory::create_new(&name, 2 * page_size()).unwrap();
    let second = SharedMemory::open(&name).unwrap();
    let third = SharedMemory::create(&name, 0).unwrap();
    for shm in [&first, &second, &third] {
        assert_eq!(shm.size().unwrap(), 2 * page_size());
    }
}

/// test_ctor_second_handle_size_increase and _decrease: a size given to a
/// second handle resizes the object for every handle.
#[test]
fn second_handle_with_size_resizes() {
    let name = Name::shm("resize");
    let first = SharedMemory::create_new(&name, 2 * page_size()).unwrap();
    let bigger = SharedMemory::create(&name, 4 * page_size()).unwrap();
    assert_eq!(first.size().unwrap(), 4 * page_size());
    assert_eq!(bigger.size().unwrap(), 4 * page_size());
    let smaller = SharedMemory::options()
        .create(true)
        .size(page_size())
        .open(&name)
        .unwrap();
    assert_eq!(first.size().unwrap(), page_size());
    assert_eq!(smaller.size().unwrap(), page_size());
}

/// test_ftruncate_increase: a new object without size is empty; resize
/// grows it. An empty object cannot be mapped.
#[test]
fn resize_from_empty() {
    let name = Name::shm("ftruncate");
    let shm = SharedMemory::create_new(&name, 0).unwrap();
    assert_eq!(shm.size().unwrap(), 0);
    let err = shm.map().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("empty"), "{err}");
    shm.resize(page_size()).unwrap();
    assert_eq!(shm.size().unwrap(), page_size());
    assert_eq!(shm.map().unwrap().len(), page_size());
}

/// Sizes beyond off_t are clean errors before any system call.
#[test]
fn sizes_beyond_off_t() {
    let name = Name::shm("huge");
    let err = SharedMemory::create_new(&name, usize::MAX).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("off_t"), "{err}");
    assert_eq!(
        SharedMemory::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let shm = SharedMemory::create_new(&name, 16).unwrap();
    let err = shm.resize(usize::MAX).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(shm.size().unwrap(), 16);
}

/// Bad names and modes are refused before any system call.
#[test]
fn bad_arguments() {
    for bad in ["", "/", "x", "/a/b", "/.", "/.."] {
        let err = SharedMemory::create(bad, 10).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidName, "{bad:?}");
    }
    let name = Name::shm("mode");
    let err = SharedMemory::options()
        .create(true)
        .mode(0o7777)
        .open(&name)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        SharedMemory::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

/// Data written through one mapping is read through another, of another handle.
#[test]
fn two_mappings_share_memory() {
    let (name, shm) = fixture("two-maps");
    let a = shm.map().unwrap();
    let b = SharedMemory::open(&name).unwrap().map().unwrap();
    assert_ne!(a.as_ptr(), b.as_ptr());
    a.write_at(1000, b"through a").unwrap();
    let mut buf = [0u8; 9];
    b.read_at(1000, &mut buf).unwrap();
    assert_eq!(&buf, b"through a");
    // SAFETY: no one else writes this object while the slice lives.
    let slice = unsafe { b.as_slice() };
    assert_eq!(&slice[1000..1009], b"through a");
    a.flush().unwrap();
}

/// read_at and write_at check bounds: never a fault, never a partial copy.
#[test]
fn bounds_are_checked() {
    let (_name, shm) = fixture("bounds");
    let map = shm.map().unwrap();
    let len = map.len();
    map.write_at(len - 3, b"end").unwrap();
    map.write_at(len, b"").unwrap();
    let mut buf = [0u8; 3];
    map.read_at(len - 3, &mut buf).unwrap();
    assert_eq!(&buf, b"end");
    for (offset, n) in [(len - 2, 3), (len, 1), (len + 1, 0), (usize::MAX, 2)] {
        let err = map.write_at(offset, &vec![1; n]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{offset}+{n}");
        assert!(err.to_string().contains("out of bounds"), "{err}");
        let err = map.read_at(offset, &mut vec![0; n]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{offset}+{n}");
    }
    map.read_at(len - 3, &mut buf).unwrap();
    assert_eq!(&buf, b"end");
}

/// An object shrunk by another handle while mapped: read_at and write_at
/// return an error instead of raising SIGBUS.
#[test]
fn shrunk_object_is_an_error_not_a_fault() {
    let name = Name::shm("shrunk");
    let shm = SharedMemory::create_new(&name, 4 * page_size()).unwrap();
    let map = shm.map().unwrap();
    SharedMemory::open(&name)
        .unwrap()
        .resize(page_size())
        .unwrap();
    let mut buf = [0u8; 8];
    map.read_at(0, &mut buf).unwrap();
    let err = map.read_at(3 * page_size(), &mut buf).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("shrunk"), "{err}");
    let err = map.write_at(2 * page_size(), &buf).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// The mode of a created object is exact, whatever the umask.
#[test]
fn mode_is_exact() {
    use std::os::unix::fs::PermissionsExt;
    for mode in [0o644, 0o600, 0o666, 0o440] {
        let name = Name::shm("mode");
        let shm = SharedMemory::options()
            .create_new(true)
            .mode(mode)
            .open(&name)
            .unwrap();
        let file = std::fs::File::from(OwnedFd::from(shm));
        assert_eq!(file.metadata().unwrap().permissions().mode() & 0o777, mode);
    }
}

/// Mutable slices through the unsafe view.
#[test]
fn mutable_slice_view() {
    let (_name, shm) = fixture("slice");
    let mut map = shm.map().unwrap();
    // SAFETY: this test is the only user of the object while the slice lives.
    let slice = unsafe { map.as_mut_slice() };
    slice[..5].copy_from_slice(b"hello");
    let mut buf = [0u8; 5];
    map.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"hello");
    assert!(!map.as_mut_ptr().is_null());
}

/// On Linux the shared-memory object `/sem.X` is the file of the semaphore
/// `/X`: truncating it through `SharedMemory` made the semaphore's next
/// `acquire` die with SIGBUS. Such names are refused before any system
/// call, by every shared-memory entry point, and the semaphore is untouched.
#[test]
#[cfg(target_os = "linux")]
fn names_aliasing_a_semaphore_file_are_refused() {
    let sem_name = Name::sem("aliased");
    let sem = ipc::Semaphore::create_new(&sem_name, 1).unwrap();
    let alias = format!("/sem.{}", &sem_name[1..]);
    let attempts = [
        SharedMemory::open(&alias).map(drop),
        SharedMemory::create(&alias, 0).map(drop),
        SharedMemory::options()
            .truncate(true)
            .open(&alias)
            .map(drop),
        SharedMemory::options()
            .size(1)
            .create_unique("/sem")
            .map(drop),
        ipc::unlink_shared_memory(&alias),
    ];
    for result in attempts {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidName, "{err}");
        assert!(
            err.to_string().contains("alias a semaphore's backing file"),
            "{err}"
        );
    }
    sem.acquire().unwrap();
    sem.release().unwrap();
    assert_eq!(sem.value().unwrap(), 1);
}

/// `read_only` with `truncate` is refused before any system call, as
/// `read_only` with a size is: `O_RDONLY | O_TRUNC` emptied the object.
#[test]
fn read_only_with_truncate_is_refused() {
    let (name, shm) = fixture("ro-trunc");
    let err = SharedMemory::options()
        .read_only(true)
        .truncate(true)
        .open(&name)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("truncate"), "{err}");
    assert_eq!(shm.size().unwrap(), 3333);
}

/// On Linux with glibc or musl, `open` opens `/dev/shm/<name>` itself
/// instead of calling `shm_open` (one call frame less above the system
/// call), and `unlink` unlinks it: they must be the same calls. Each case
/// runs both ways on the same file and compares the result: the same object
/// (device and inode) with the same file status flags (with `O_NONBLOCK`,
/// which musl's `shm_open` adds and `ipc` adds with glibc too), or the same
/// errno; and close-on-exec set. (On a
/// 64-bit target the kernel sets `O_LARGEFILE` itself, so only a 32-bit run
/// would show it missing.)
#[test]
#[cfg(all(target_os = "linux", any(target_env = "gnu", target_env = "musl")))]
#[allow(clippy::too_many_lines)] // one list of cases, each beside libc's answer
fn open_is_shm_open() {
    use std::ffi::CString;
    use std::os::fd::FromRawFd;
    use std::os::unix::fs::MetadataExt;

    #[derive(Clone, Copy, Debug)]
    enum How {
        ReadWrite,
        ReadOnly,
        Truncate,
        CreateNew,
    }
    use How::{CreateNew, ReadOnly, ReadWrite, Truncate};
    /// `(device, inode, status flags)` of an open descriptor, which must
    /// have close-on-exec set.
    fn describe(fd: OwnedFd) -> (u64, u64, i32) {
        // SAFETY: F_GETFD and F_GETFL on a descriptor this function owns
        // read its flags only.
        let (flags, status) = unsafe {
            (
                libc::fcntl(fd.as_raw_fd(), libc::F_GETFD),
                libc::fcntl(fd.as_raw_fd(), libc::F_GETFL),
            )
        };
        assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
        let meta = std::fs::File::from(fd).metadata().unwrap();
        (meta.dev(), meta.ino(), status)
    }
    /// -1 from a libc call as the errno it set.
    fn failed(ret: libc::c_int) -> Result<libc::c_int, i32> {
        if ret < 0 {
            Err(std::io::Error::last_os_error().raw_os_error().unwrap())
        } else {
            Ok(ret)
        }
    }
    /// What `ipc` opened, or the errno.
    fn ours(name: &str, how: How) -> Result<(u64, u64, i32), i32> {
        let shm = SharedMemory::options()
            .read_only(matches!(how, ReadOnly))
            .truncate(matches!(how, Truncate))
            .create_new(matches!(how, CreateNew))
            .open(name)
            .map_err(|e| e.raw_os_error().expect("an OS error"))?;
        Ok(describe(OwnedFd::from(shm)))
    }
    /// What libc's `shm_open` opened, or the errno.
    fn theirs(name: &str, how: How) -> Result<(u64, u64, i32), i32> {
        let c = CString::new(name).unwrap();
        let oflag = match how {
            ReadWrite => libc::O_RDWR,
            ReadOnly => libc::O_RDONLY,
            Truncate => libc::O_RDWR | libc::O_TRUNC,
            CreateNew => libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
        };
        // SAFETY: a NUL-terminated name; mode 0o600.
        let fd = failed(unsafe { libc::shm_open(c.as_ptr(), oflag, 0o600) })?;
        // SAFETY: shm_open returned a new descriptor owned by nothing else.
        let (dev, ino, status) = describe(unsafe { OwnedFd::from_raw_fd(fd) });
        // O_NONBLOCK: musl's shm_open sets it, and `ipc` with glibc too (a
        // FIFO at the name must not hang a read-only open).
        Ok((dev, ino, status | libc::O_NONBLOCK))
    }
    fn libc_unlink(name: &str) -> Result<(), i32> {
        let c = CString::new(name).unwrap();
        // SAFETY: a NUL-terminated name.
        failed(unsafe { libc::shm_unlink(c.as_ptr()) }).map(drop)
    }
    fn our_unlink(name: &str) -> Result<(), i32> {
        ipc::unlink_shared_memory(name).map_err(|e| e.raw_os_error().expect("an OS error"))
    }

    let (existing, _shm) = fixture("same-call");
    for how in [ReadWrite, ReadOnly, Truncate] {
        let got = ours(&existing, how);
        assert!(got.is_ok(), "{how:?}: {got:?}");
        assert_eq!(got, theirs(&existing, how), "{how:?}");
    }
    assert_eq!(ours(&existing, CreateNew), Err(libc::EEXIST));
    assert_eq!(theirs(&existing, CreateNew), Err(libc::EEXIST));

    let missing = Name::shm("same-call-missing");
    for how in [ReadWrite, ReadOnly, Truncate] {
        assert_eq!(ours(&missing, how), Err(libc::ENOENT), "{how:?}");
        assert_eq!(theirs(&missing, how), Err(libc::ENOENT), "{how:?}");
    }
    assert_eq!(our_unlink(&missing), Err(libc::ENOENT));
    assert_eq!(libc_unlink(&missing), Err(libc::ENOENT));

    // A directory: opened for writing, the kernel says EISDIR, which
    // glibc's shm_open turns into EINVAL (musl's keeps it); read-only, both
    // open it (mapping it then fails); unlink says EISDIR for both.
    let dir = Name::shm("same-call-dir");
    let planted_dir = Planted::at(&dir[1..]);
    std::fs::create_dir(&planted_dir.0).unwrap();
    let is_dir = if cfg!(target_env = "gnu") {
        libc::EINVAL
    } else {
        libc::EISDIR
    };
    assert_eq!(ours(&dir, ReadWrite), Err(is_dir));
    assert_eq!(theirs(&dir, ReadWrite), Err(is_dir));
    assert_eq!(ours(&dir, ReadOnly), theirs(&dir, ReadOnly));
    assert_eq!(our_unlink(&dir), Err(libc::EISDIR));
    assert_eq!(libc_unlink(&dir), Err(libc::EISDIR));

    // A symbolic link is not followed (O_NOFOLLOW): ELOOP.
    let link = Name::shm("same-call-link");
    let planted_link = Planted::at(&link[1..]);
    std::os::unix::fs::symlink(format!("/dev/shm{}", &*existing), &planted_link.0).unwrap();
    assert_eq!(ours(&link, ReadWrite), Err(libc::ELOOP));
    assert_eq!(theirs(&link, ReadWrite), Err(libc::ELOOP));

    // Created by one, opened and unlinked by the other, both ways; and a
    // name of the longest length.
    let longest = format!("{}{}", &*Name::shm("L"), "x".repeat(255));
    let longest = Name::adopt(&longest[..256], Kind::SharedMemory);
    for made in [Name::shm("same-call-made"), longest] {
        let by_us = ours(&made, CreateNew).unwrap();
        assert_eq!(theirs(&made, ReadWrite), Ok(by_us), "{}", made.len());
        assert_eq!(libc_unlink(&made), Ok(()));
        let by_libc = theirs(&made, CreateNew).unwrap();
        assert_eq!(ours(&made, ReadWrite), Ok(by_libc), "{}", made.len());
        assert_eq!(our_unlink(&made), Ok(()));
        assert_eq!(libc_unlink(&made), Err(libc::ENOENT));
    }
}
