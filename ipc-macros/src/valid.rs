//! The rules for the arguments: each check returns the value, or the
//! message (stating the fix) that the caller reports on the literal.

use crate::args::{Args, Value};
use crate::lit::{Int, Lit};
use crate::name::{self, Kind, NameError};
use crate::tokens::{Error, Errors};

/// `SEMAPHORE_VALUE_MAX` on Linux and the BSDs; ipc also checks the
/// target's own value in the generated code.
pub(crate) const SEMAPHORE_VALUE_MAX: u32 = i32::MAX as u32;

/// What the attribute declares: decides the name rules and the wording.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Object {
    Semaphore,
    Mutex,
    SharedMemory,
}

impl Object {
    /// The kind whose name rules apply: a mutex lives in shared memory.
    pub(crate) fn kind(self) -> Kind {
        match self {
            Object::Semaphore => Kind::Semaphore,
            Object::Mutex | Object::SharedMemory => Kind::SharedMemory,
        }
    }

    /// How messages call it.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Object::Semaphore => "semaphore",
            Object::Mutex => "mutex",
            Object::SharedMemory => "shared-memory",
        }
    }
}

/// The checked values of the arguments.
pub(crate) struct Checked {
    pub(crate) name: String,
    pub(crate) initial: u32,
    pub(crate) mode: u32,
}

/// Checks every argument, reporting all errors; `None` if any failed.
pub(crate) fn check(args: &Args, object: Object, errors: &mut Errors) -> Option<Checked> {
    let name = match &args.name {
        // `name` written without a usable value was reported by the parser.
        None if args.name_given => None,
        None => {
            errors.push(Error::new(
                proc_macro::Span::call_site(),
                "missing argument `name`; add `name = \"/your.name\"`",
            ));
            None
        }
        Some(value) => record(errors, value, |lit| name_value(lit, object)),
    };
    let initial = match &args.initial {
        None => Some(1),
        Some(value) => record(errors, value, initial_value),
    };
    let mode = match &args.mode {
        None => Some(0o600),
        Some(value) => record(errors, value, mode_value),
    };
    Some(Checked {
        name: name?,
        initial: initial?,
        mode: mode?,
    })
}

fn record<T>(
    errors: &mut Errors,
    value: &Value,
    check: impl FnOnce(&Lit) -> Result<T, String>,
) -> Option<T> {
    check(&value.lit)
        .map_err(|message| errors.push(Error::new(value.span, message)))
        .ok()
}

/// A string literal that is a valid name for `object`.
pub(crate) fn name_value(lit: &Lit, object: Object) -> Result<String, String> {
    let Lit::Str(value) = lit else {
        return Err("`name` must be a string literal such as \"/app.lock\"".to_owned());
    };
    match name::check(value, object.kind()) {
        Ok(()) => Ok(value.clone()),
        Err(e) => Err(name_message(value, e, object)),
    }
}

/// The runtime's message, prefixed with what is named and followed by the fix.
pub(crate) fn name_message(value: &str, e: NameError, object: Object) -> String {
    let fix = match e {
        NameError::Empty => "write a name such as \"/app.lock\"".to_owned(),
        NameError::NoLeadingSlash => format!("write \"/{value}\""),
        NameError::InteriorSlash => {
            "use another separator, such as '.' or '-', after the leading '/'".to_owned()
        }
        NameError::Nul => "remove the NUL byte".to_owned(),
        NameError::Dot => "use a name other than \"/.\" and \"/..\"".to_owned(),
        NameError::TooLong { max, .. } => format!("shorten it to at most {max} bytes after '/'"),
        NameError::AliasesSemaphore => "use a name that does not start with \"/sem.\"".to_owned(),
    };
    format!("{} {e}; {fix}", object.noun())
}

fn integer<'a>(lit: &'a Lit, key: &str, example: &str) -> Result<&'a Int, String> {
    let Lit::Int(int) = lit else {
        return Err(format!(
            "`{key}` must be an integer literal such as `{example}`"
        ));
    };
    if !matches!(int.suffix.as_str(), "" | "u32") {
        return Err(format!(
            "`{key}` is a u32: drop the `{}` suffix",
            int.suffix
        ));
    }
    Ok(int)
}

/// A u32 literal at most SEMAPHORE_VALUE_MAX.
pub(crate) fn initial_value(lit: &Lit) -> Result<u32, String> {
    let int = integer(lit, "initial", "1")?;
    match int.value().and_then(|v| u32::try_from(v).ok()) {
        Some(v) if v <= SEMAPHORE_VALUE_MAX => Ok(v),
        _ => Err(format!(
            "`initial` is {}, above SEMAPHORE_VALUE_MAX ({SEMAPHORE_VALUE_MAX}); use a smaller value",
            int.base10_digits()
        )),
    }
}

/// An octal literal at most 0o777.
pub(crate) fn mode_value(lit: &Lit) -> Result<u32, String> {
    let int = integer(lit, "mode", "0o600")?;
    let text = &int.text;
    let value = int
        .value()
        .ok_or_else(|| "`mode` is out of range; at most 0o777".to_owned())?;
    if int.base != 8 {
        let base = match int.base {
            16 => "hexadecimal",
            2 => "binary",
            _ => "decimal",
        };
        return Err(format!(
            "mode must be an octal literal such as `0o600`; `{text}` is {base}, which is {value:#o}"
        ));
    }
    if value > 0o777 {
        return Err(format!(
            "mode {value:#o} is out of range; permission bits go up to 0o777"
        ));
    }
    Ok(value as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lit::classify;

    fn str_lit(s: &str) -> Lit {
        Lit::Str(s.to_owned())
    }

    fn int_lit(s: &str) -> Lit {
        classify(s)
    }

    /// The macro's rules and the runtime's (`ipc::name::check`) agree on the
    /// same table, and the macro's message starts from the runtime's.
    #[test]
    fn macro_and_runtime_agree_on_names() {
        let long = format!("/{}", "n".repeat(251));
        let too_long = format!("/{}", "n".repeat(252));
        let table = [
            "",
            "/",
            "x",
            "x/",
            "//x",
            "/a/b",
            "/a\0b",
            "/.",
            "/..",
            "/...",
            "/.x",
            "/ünï",
            "/app.db",
            "/with space",
            &long,
            &too_long,
        ];
        for name in table {
            let runtime = name::check(name, Kind::Semaphore);
            let compile = name_value(&str_lit(name), Object::Semaphore);
            assert_eq!(runtime.is_ok(), compile.is_ok(), "{name:?}");
            if let (Err(rt), Err(ct)) = (runtime, compile) {
                let msg = ct;
                assert!(msg.starts_with(&format!("semaphore {rt}")), "{msg}");
            }
        }
    }

    proptest::proptest! {
        /// On random strings too: the macro accepts exactly what the
        /// runtime accepts, with the runtime's message.
        #[test]
        fn macro_and_runtime_agree_on_random_names(
            name in proptest::prop_oneof![".{0,300}", "/[a-z./\\x00ü]{0,10}", "/n{245,255}"],
        ) {
            let runtime = name::check(&name, Kind::Semaphore);
            let compile = name_value(&str_lit(&name), Object::Semaphore);
            proptest::prop_assert_eq!(runtime.is_ok(), compile.is_ok());
            if let (Err(rt), Err(ct)) = (runtime, compile) {
                let want = format!("semaphore {rt}");
                proptest::prop_assert!(ct.starts_with(&want));
            }
        }
    }

    #[test]
    fn modes() {
        assert_eq!(mode_value(&int_lit("0o600")).unwrap(), 0o600);
        assert_eq!(mode_value(&int_lit("0o777u32")).unwrap(), 0o777);
        assert_eq!(mode_value(&int_lit("0o0")).unwrap(), 0);
        let e = mode_value(&int_lit("600")).unwrap_err();
        assert_eq!(
            e,
            "mode must be an octal literal such as `0o600`; `600` is decimal, which is 0o1130"
        );
        let e = mode_value(&int_lit("0o1777")).unwrap_err();
        assert!(e.contains("0o777"), "{e}");
        let e = mode_value(&int_lit("0x1ff")).unwrap_err();
        assert!(e.contains("octal"), "{e}");
        let e = mode_value(&str_lit("0o600")).unwrap_err();
        assert!(e.contains("integer literal"), "{e}");
        let e = mode_value(&int_lit("0o600u8")).unwrap_err();
        assert!(e.contains("suffix"), "{e}");
    }

    #[test]
    fn initial_values() {
        assert_eq!(initial_value(&int_lit("0")).unwrap(), 0);
        assert_eq!(
            initial_value(&int_lit("2147483647")).unwrap(),
            i32::MAX as u32
        );
        for bad in ["2147483648", "4294967296", "99999999999999999999999"] {
            let e = initial_value(&int_lit(bad)).unwrap_err();
            assert!(e.contains("SEMAPHORE_VALUE_MAX"), "{e}");
        }
        let e = initial_value(&str_lit("1")).unwrap_err();
        assert!(e.contains("integer literal"), "{e}");
        assert_eq!(SEMAPHORE_VALUE_MAX, 2_147_483_647);
    }
}
