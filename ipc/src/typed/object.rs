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

/// A user's `init` closure, as the options keep it.
pub(crate) type UserInit<T> = Option<Box<dyn FnOnce(&mut T) + Send>>;

/// A typed object's mapping and name.
pub(crate) struct Opened<P> {
    pub(crate) region: Region<P>,
    pub(crate) name: Arc<str>,
}

/// Opens (or creates, as `common` says) the shared-memory object `name`
/// and establishes the typed object `spec` in it; `what` names the
/// expected type for messages (`Shared<app::Stats>`).
pub(crate) fn open<P: Payload>(
    op: &'static str,
    name: &str,
    common: Common,
    spec: Option<Spec>,
    what: &dyn Fn() -> String,
    init: &mut Init<'_, P>,
) -> Result<Opened<P>> {
    let shm = open_shm(name, common)?;
    establish_on(op, &shm, spec, what, init)
}

/// Opens (or creates, as `common` says) the shared-memory object `name`.
pub(crate) fn open_shm(name: &str, common: Common) -> Result<SharedMemory> {
    SharedMemory::options()
        .create(common.create)
        .create_new(common.create_new)
        .mode(common.mode)
        .open(name)
}

/// Establishes the typed object `spec` in `shm`, as [`open`] does.
pub(crate) fn establish_on<P: Payload>(
    op: &'static str,
    shm: &SharedMemory,
    spec: Option<Spec>,
    what: &dyn Fn() -> String,
    init: &mut Init<'_, P>,
) -> Result<Opened<P>> {
    let name: Arc<str> = Arc::from(shm.name());
    let Some(spec) = spec else {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            op,
            Some(&name),
            format!("{} is too large to map", what()),
        ));
    };
    match object::establish(shm.as_fd(), &spec, init) {
        Ok(region) => Ok(Opened { region, name }),
        Err(Fail::Os(call, errno)) => Err(Error::os(call, Some(&name), errno)),
        Err(Fail::StillInitialising(pid)) => Err(Error::new(
            ErrorKind::Busy,
            op,
            Some(&name),
            format!(
                "process {pid} has been initialising it for more than {} s; \
                 it is alive, so it was not taken over",
                object::INIT_WAIT.as_secs()
            ),
        )),
        Err(Fail::Mismatch(found)) => Err(Error::new(
            ErrorKind::InvalidData,
            op,
            Some(&name),
            format!(
                "expected {} (layout {:#018x}, {} bytes); found {}",
                what(),
                spec.layout,
                spec.len,
                describe(&found)
            ),
        )),
    }
}

/// What was found, in words.
fn describe(found: &Found) -> String {
    match found {
        Found::TooSmall(size) => {
            format!("an object of {size} bytes, too small for the header of an ipc typed object")
        }
        Found::NoMagic(first) => format!(
            "no ipc typed-object header (first bytes {first:#018x}): \
             a plain shared-memory object, or garbage"
        ),
        Found::BadState(state) => {
            format!("a header with an invalid state word {state:#x}: garbage")
        }
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
