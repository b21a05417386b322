//! Arguments as posix_ipc parses them: names, flags, modes, timeouts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFloat, PyInt, PyString};

/// A constructor's `name`, borrowed from the argument: `None` asks for a
/// random one.
pub(crate) struct Name<'a, 'py> {
    pub(crate) text: &'a str,
    /// The argument itself when it is a str, kept as the `name` attribute.
    string: Option<&'a Bound<'py, PyString>>,
}

impl<'py> Name<'_, 'py> {
    /// The `name` attribute: the str given (the object was opened under
    /// exactly that name), or a new one for bytes and random names.
    pub(crate) fn attribute(name: Option<&Self>, py: Python<'py>, opened: &str) -> Py<PyString> {
        match name.and_then(|n| n.string) {
            Some(s) => s.clone().unbind(),
            None => PyString::new(py, opened).unbind(),
        }
    }
}

pub(crate) fn name<'a, 'py>(obj: &'a Bound<'py, PyAny>) -> PyResult<Option<Name<'a, 'py>>> {
    if obj.is_none() {
        return Ok(None);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        // NUL and the other rules are checked by `ipc` (ValueError); posix_ipc
        // 1.3.2 segfaults on a str with a NUL.
        let exact = obj.is_exact_instance_of::<PyString>();
        return Ok(Some(Name {
            text: s.to_str()?,
            string: exact.then_some(s),
        }));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        // posix_ipc cuts bytes at the first NUL; here the name is checked
        // whole, so b"/x\0y" is a ValueError rather than "/x".
        return match std::str::from_utf8(b.as_bytes()) {
            Ok(text) => Ok(Some(Name { text, string: None })),
            Err(_) => Err(PyValueError::new_err("The name must be valid UTF-8")),
        };
    }
    Err(PyTypeError::new_err("Name must be None or a string"))
}

/// The `O_*` bits of a constructor's `flags`, checked in posix_ipc's order.
#[derive(Clone, Copy)]
#[allow(clippy::struct_excessive_bools)] // one per O_* flag
pub(crate) struct Flags {
    pub(crate) create: bool,
    pub(crate) exclusive: bool,
    pub(crate) truncate: bool,
    pub(crate) nonblock: bool,
    pub(crate) access: i64,
}

impl Flags {
    pub(crate) fn parse(flags: i64, random_name: bool) -> PyResult<Flags> {
        let has = |bit: libc::c_int| flags & i64::from(bit) != 0;
        let f = Flags {
            create: has(libc::O_CREAT),
            exclusive: has(libc::O_EXCL),
            truncate: has(libc::O_TRUNC),
            nonblock: has(libc::O_NONBLOCK),
            access: flags & i64::from(libc::O_ACCMODE),
        };
        if f.exclusive && !f.create {
            return Err(PyValueError::new_err(
                "O_EXCL must be combined with O_CREAT",
            ));
        }
        if random_name && !f.exclusive {
            return Err(PyValueError::new_err(
                "Name can only be None if O_EXCL is set",
            ));
        }
        Ok(f)
    }
}

/// A permission mode: the bits a file mode can have. posix_ipc passes any C
/// int to the OS, which masks it (and applies the umask); `ipc` sets the
/// mode asked for exactly, so it refuses what is not a mode.
pub(crate) fn mode(mode: i64) -> PyResult<u32> {
    u32::try_from(mode)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "The mode must be between 0 and 0o777 (permission bits), not {mode:#o}"
            ))
        })
}

/// A timeout: `None` waits for ever, `Some(ZERO)` does not wait.
///
/// Like posix_ipc: None, an int (bool included) or a float; a negative
/// number or another type is a TypeError. Where posix_ipc is undefined:
/// infinity, and any number too large for a deadline, wait for ever; NaN is
/// a TypeError.
pub(crate) fn timeout(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    let bad = || PyTypeError::new_err("The timeout must be None or a non-negative number");
    if let Ok(f) = obj.cast::<PyFloat>() {
        let secs = f.value();
        if secs.is_nan() || secs < 0.0 {
            return Err(bad());
        }
        return Ok(Duration::try_from_secs_f64(secs).ok());
    }
    if obj.is_instance_of::<PyInt>() {
        return match obj.extract::<i64>() {
            Ok(secs) => u64::try_from(secs)
                .map(|s| Some(Duration::from_secs(s)))
                .map_err(|_| bad()),
            // Beyond i64: for ever if positive.
            Err(_) if obj.gt(0)? => Ok(None),
            Err(_) => Err(bad()),
        };
    }
    Err(bad())
}

/// posix_ipc's judgement of a C-int flag such as `read_only`: an int (bool
/// included), true when non-zero; anything else is a TypeError.
pub(crate) fn int_flag(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<bool> {
    if obj.is_instance_of::<PyInt>() {
        return obj.is_truthy();
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be an integer or a bool, not {}",
        obj.get_type().name()?
    )))
}

/// A random name as posix_ipc makes them: `/` and 5 to 12 lowercase letters.
pub(crate) fn random_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState's keys are random per process; the counter and the clock
    // make each name of the process differ.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    let mut bits = h.finish();
    let len = 5 + (bits % 8) as usize;
    bits /= 8;
    let mut name = String::with_capacity(len + 1);
    name.push('/');
    for _ in 0..len {
        // 12 letters take 57 of the 61 bits left.
        name.push(char::from(b'a' + (bits % 26) as u8));
        bits /= 26;
    }
    name
}

/// Creates an object under a random name, drawing another on a collision.
pub(crate) fn create_random<T>(
    mut create: impl FnMut(&str) -> ipc::Result<T>,
) -> ipc::Result<(T, String)> {
    let mut attempts = 0;
    loop {
        let name = random_name();
        match create(&name) {
            Err(e) if e.kind() == ipc::ErrorKind::AlreadyExists && attempts < 100 => {
                attempts += 1;
            }
            result => return result.map(|h| (h, name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_names_look_like_posix_ipc_s() {
        let mut lengths = [0; 13];
        for _ in 0..2000 {
            let n = random_name();
            assert!(n.starts_with('/'));
            assert!(n[1..].bytes().all(|b| b.is_ascii_lowercase()), "{n}");
            lengths[n.len() - 1] += 1;
        }
        // Lengths 6..=13 with the slash, each drawn.
        assert!(lengths[5..].iter().all(|&c| c > 0), "{lengths:?}");
        assert!(lengths[..5].iter().all(|&c| c == 0), "{lengths:?}");
    }
}
