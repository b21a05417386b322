//! Opening typed objects: the options they share and the errors they report.

use std::os::fd::AsFd;
use std::sync::Arc;

use crate::sys::object::{self, Fail, Found, Init, ObjectKind, Payload, Region, Spec};
use crate::{Error, ErrorKind, Result, SharedMemory};

/// The options every typed object has: `create`, `create_new`, `mode`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Common {
    pub(crate) create: bool,
    pub(crate) create_new: bool,
    pub(crate) mode: u32,
}

impl Default for Common {
    fn default() -> Self {
        Common {
            create: false,
            create_new: false,
            mode: 0o600,
        }
    }
}

/// The `init` closure of the options builders.
pub(crate) type InitFn<T> = Box<dyn FnOnce(&mut T) + Send>;

/// A typed object's mapping and name.
pub(crate) struct Opened<P> {
    pub(crate) region: Region<P>,
    pub(crate) name: Arc<str>,
}

/// Opens (or creates, as `common` says) the shared-memory object `name`
/// and establishes the typed object `spec` in it; `what` names the
/// expected type for messages (`Shared<app::Stats>`).
///
/// An object this call created is unlinked again if it cannot be
/// established, so a failed create leaves no name behind.
pub(crate) fn open<P: Payload>(
    op: &'static str,
    name: &str,
    common: Common,
    spec: Option<Spec>,
    what: &dyn Fn() -> String,
    init: Init<'_, P>,
) -> Result<Opened<P>> {
    let (shm, created) = open_shm(name, common)?;
    establish_on(op, &shm, created, common, spec, what, init)
}

/// Opens (or creates, as `common` says) the shared-memory object `name`,
/// and says whether this call created it: exclusively first, then plain.
pub(crate) fn open_shm(name: &str, common: Common) -> Result<(SharedMemory, bool)> {
    let options = || SharedMemory::options().mode(common.mode);
    Ok(if common.create_new {
        (options().create_new(true).open(name)?, true)
    } else if common.create {
        match options().create_new(true).open(name) {
            Ok(shm) => (shm, true),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                (options().create(true).open(name)?, false)
            }
            Err(e) => return Err(e),
        }
    } else {
        (options().open(name)?, false)
    })
}

/// Establishes the typed object `spec` in `shm`, as [`open`] does; an
/// object this call `created` is unlinked again on failure.
pub(crate) fn establish_on<P: Payload>(
    op: &'static str,
    shm: &SharedMemory,
    created: bool,
    common: Common,
    spec: Option<Spec>,
    what: &dyn Fn() -> String,
    init: Init<'_, P>,
) -> Result<Opened<P>> {
    let name: Arc<str> = Arc::from(shm.name());
    let result = match spec {
        Some(spec) => establish(op, shm, &name, &spec, common, what, init),
        None => Err(Error::new(
            ErrorKind::InvalidInput,
            op,
            Some(&name),
            format!(
                "{} cannot be mapped: larger than isize::MAX bytes, or aligned above 4096 bytes \
                 (the page size, which is all mmap guarantees)",
                what()
            ),
        )),
    };
    if result.is_err() && created {
        let _ = shm.unlink();
    }
    result.map(|region| Opened { region, name })
}

fn establish<P: Payload>(
    op: &'static str,
    shm: &SharedMemory,
    name: &Arc<str>,
    spec: &Spec,
    common: Common,
    what: &dyn Fn() -> String,
    init: Init<'_, P>,
) -> Result<Region<P>> {
    let may_init = common.create || common.create_new;
    object::establish(shm.as_fd(), spec, may_init, init).map_err(|fail| match fail {
        Fail::Os(call, errno) => Error::os(call, Some(name), errno),
        Fail::StillInitialising(pid) => Error::new(
            ErrorKind::Busy,
            op,
            Some(name),
            format!(
                "process {pid} has been initialising it for more than {} s",
                object::INIT_WAIT.as_secs()
            ),
        ),
        Fail::NotInitialised => Error::new(
            ErrorKind::Busy,
            op,
            Some(name),
            format!(
                "it exists but has not been initialised for {} s, and nobody is initialising \
                 it (did its creator die first?): open it with create(true) to initialise it",
                object::INIT_WAIT.as_secs()
            ),
        ),
        Fail::Mismatch(found) => Error::new(
            ErrorKind::InvalidData,
            op,
            Some(name),
            format!(
                "expected {} (layout {:#018x}, {} bytes); found {}",
                what(),
                spec.layout,
                spec.len,
                describe(&found)
            ),
        ),
    })
}

/// What was found, in words.
fn describe(found: &Found) -> String {
    match found {
        Found::TooSmall(size) => {
            format!("an object of {size} bytes, too small for the header of an ipc typed object")
        }
        Found::NotRegular => "no shared-memory object: the name is not a regular file \
             (a FIFO, a directory)"
            .to_owned(),
        Found::NoMagic(first) => format!(
            "no ipc typed-object header (first bytes {first:#018x}): \
             a plain shared-memory object, or garbage"
        ),
        Found::BadState(state) => {
            format!("a header with an invalid state word {state:#x}: garbage")
        }
        Found::Initialising(pid, size) => format!(
            "an ipc typed object of {size} bytes, being initialised by process {pid}: \
             another type"
        ),
        Found::Other(view, size) => {
            let kind =
                ObjectKind::from_u32(view.kind).map_or("an unknown kind", ObjectKind::as_str);
            let capacity = if view.kind == ObjectKind::Channel as u32 {
                format!("capacity {}, ", view.extra)
            } else {
                String::new()
            };
            format!(
                "a {kind} ({capacity}layout {:#018x}, {size} bytes, format version {})",
                view.layout, view.version
            )
        }
    }
}

/// `Shared<app::Stats>`: a short type name for messages.
pub(crate) fn type_name<T>(kind: &str) -> String {
    format!("{kind}<{}>", std::any::type_name::<T>())
}
