//! The rules for names of POSIX IPC objects, usable in `const` context.
//!
//! A valid name is `/` followed by 1 to [`max_len`] bytes, none of them `/`
//! or NUL, and is neither `/.` nor `/..`. These are the rules that are
//! portable across Linux, the BSDs and macOS: Linux would accept a name
//! without the leading slash for semaphores and shared memory but not for
//! message queues, and FreeBSD rejects it for all three, so `ipc` rejects it
//! everywhere.
//!
//! Every constructor of this crate runs [`check`] before any system call, and
//! the `#[named_semaphore]` attribute runs the very same function at compile
//! time: this file is the single source of truth for both.
//!
#![cfg_attr(
    not(proc_macro),
    doc = r#"
```
use ipc::name::{check, Kind, NameError};

const OK: () = match check("/jobs", Kind::Semaphore) {
    Ok(()) => (),
    Err(_) => panic!("not a valid name"),
};
assert_eq!(check("jobs", Kind::MessageQueue), Err(NameError::NoLeadingSlash));
```
"#
)]

// This file is also compiled into `ipc-macros` (its src/name.rs is a symbolic
// link here), so it may only use `core`; its examples use the runtime crate,
// so they are doc attributes that a proc-macro crate (cfg `proc_macro`) omits.

use core::fmt;

/// The kind of object a name is for: the length limit differs between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A named semaphore (`sem_open`).
    Semaphore,
    /// A shared-memory object (`shm_open`).
    SharedMemory,
    /// A message queue (`mq_open`).
    MessageQueue,
}

/// Why a name was rejected by [`check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameError {
    /// The name is empty, or is `/` alone.
    Empty,
    /// The name does not start with `/`.
    NoLeadingSlash,
    /// The name has a `/` after the leading one.
    InteriorSlash,
    /// The name contains a NUL byte.
    Nul,
    /// The name is `/.` or `/..`.
    Dot,
    /// The part after the leading `/` is longer than [`max_len`] bytes.
    TooLong {
        /// The length in bytes of the part after the leading `/`.
        len: usize,
        /// The longest allowed, [`max_len`] for the kind.
        max: usize,
    },
    /// A shared-memory name starting with `/sem.`, on Linux: glibc and musl
    /// keep the semaphore `/X` in the file `/dev/shm/sem.X`, which is also
    /// the shared-memory object `/sem.X`. Opening it as shared memory would
    /// let a resize destroy the semaphore (its next wait dies with `SIGBUS`).
    AliasesSemaphore,
}

impl NameError {
    /// The message as a static string, without the lengths of [`NameError::TooLong`].
    ///
    /// `ipc-macros` uses this to word its compile errors exactly like the runtime.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            NameError::Empty => "name must have at least one character after the leading '/'",
            NameError::NoLeadingSlash => "name must start with '/'",
            NameError::InteriorSlash => "name must not contain '/' after the leading one",
            NameError::Nul => "name must not contain a NUL byte",
            NameError::Dot => "name must not be \"/.\" or \"/..\"",
            NameError::TooLong { .. } => "name is too long",
            NameError::AliasesSemaphore => {
                "shared-memory names starting with \"/sem.\" alias a semaphore's backing file on Linux"
            }
        }
    }
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NameError::TooLong { len, max } => write!(
                f,
                "name is too long: {len} bytes after the leading '/', the limit is {max}"
            ),
            _ => f.write_str(self.as_str()),
        }
    }
}

impl core::error::Error for NameError {}

/// The longest name of this kind, in bytes after the leading `/`.
///
/// Linux limits names to `NAME_MAX` (255) bytes; glibc stores a semaphore as
/// the file `sem.<name>` in `/dev/shm`, which leaves 251 for semaphores.
///
#[cfg_attr(
    not(proc_macro),
    doc = r"
```
use ipc::name::{max_len, Kind};
assert!(max_len(Kind::Semaphore) <= max_len(Kind::SharedMemory));
```
"
)]
#[must_use]
pub const fn max_len(kind: Kind) -> usize {
    match kind {
        Kind::Semaphore if cfg!(target_os = "linux") => 251,
        Kind::Semaphore | Kind::SharedMemory | Kind::MessageQueue => 255,
    }
}

/// Checks `name` against the rules for `kind`; usable in `const` context.
///
/// # Errors
///
/// The first rule the name breaks, checked in this order: [`NameError::Empty`]
/// for `""`, [`NameError::NoLeadingSlash`], [`NameError::Empty`] for `"/"`,
/// [`NameError::InteriorSlash`] or [`NameError::Nul`] (whichever byte comes
/// first), [`NameError::Dot`], [`NameError::TooLong`], and on Linux, for
/// [`Kind::SharedMemory`] only, [`NameError::AliasesSemaphore`] for a name
/// starting with `/sem.` (the file of a semaphore, see [`aliases_semaphore`]).
///
/// # Examples
///
#[cfg_attr(
    not(proc_macro),
    doc = r#"
```
use ipc::name::{check, Kind, NameError};

assert_eq!(check("/orders", Kind::SharedMemory), Ok(()));
assert_eq!(check("/a/b", Kind::SharedMemory), Err(NameError::InteriorSlash));
assert_eq!(
    check(&format!("/{}", "x".repeat(252)), Kind::Semaphore),
    Err(NameError::TooLong { len: 252, max: 251 }),
);
```
"#
)]
pub const fn check(name: &str, kind: Kind) -> Result<(), NameError> {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return Err(NameError::Empty);
    }
    if bytes[0] != b'/' {
        return Err(NameError::NoLeadingSlash);
    }
    if bytes.len() == 1 {
        return Err(NameError::Empty);
    }
    // Only a bad name pays for the ordered pass that says which byte it is.
    if has_slash_or_nul(bytes.split_at(1).1) {
        let mut i = 1;
        while i < bytes.len() {
            match bytes[i] {
                b'/' => return Err(NameError::InteriorSlash),
                0 => return Err(NameError::Nul),
                _ => i += 1,
            }
        }
    }
    let rest = bytes.len() - 1;
    if bytes[1] == b'.' && (rest == 1 || (rest == 2 && bytes[2] == b'.')) {
        return Err(NameError::Dot);
    }
    let max = max_len(kind);
    if rest > max {
        return Err(NameError::TooLong { len: rest, max });
    }
    if matches!(kind, Kind::SharedMemory) && aliases_semaphore(name) {
        return Err(NameError::AliasesSemaphore);
    }
    Ok(())
}

/// Whether `bytes` holds a `/` or a NUL, eight bytes at a time: names are
/// checked on every open, and this also runs in `const` context.
const fn has_slash_or_nul(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const SLASHES: u64 = u64::from_ne_bytes([b'/'; 8]);
    // `(w - ONES) & !w & HIGHS` is non-zero exactly when a byte of `w` is
    // zero; a byte of `w ^ SLASHES` is zero where `w` has a slash.
    const fn bad(word: [u8; 8]) -> bool {
        const fn has_zero(w: u64) -> bool {
            w.wrapping_sub(ONES) & !w & HIGHS != 0
        }
        let w = u64::from_ne_bytes(word);
        has_zero(w) || has_zero(w ^ SLASHES)
    }
    // Eight bytes or more: whole words from the front, then the last eight
    // bytes, which overlap the last word read when the length is not a
    // multiple of eight (a byte checked twice is the same answer).
    if let Some((_, last)) = bytes.split_last_chunk::<8>() {
        let mut rest = bytes;
        while let Some((word, tail)) = rest.split_first_chunk::<8>() {
            if bad(*word) {
                return true;
            }
            rest = tail;
        }
        return bad(*last);
    }
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' || bytes[i] == 0 {
            return true;
        }
        i += 1;
    }
    false
}

/// Whether the shared-memory object `name` is the file of a named
/// semaphore on this platform: on Linux, glibc and musl keep the semaphore
/// `/X` in `/dev/shm/sem.X`, where `shm_open("/sem.X")` finds it too.
/// Elsewhere semaphores and shared memory have separate namespaces.
///
#[cfg_attr(
    not(proc_macro),
    doc = r#"
```
use ipc::name::{aliases_semaphore, check, Kind, NameError};

if cfg!(target_os = "linux") {
    assert!(aliases_semaphore("/sem.jobs"));
    assert_eq!(check("/sem.jobs", Kind::SharedMemory), Err(NameError::AliasesSemaphore));
    assert_eq!(check("/sem.jobs", Kind::Semaphore), Ok(()));
}
assert!(!aliases_semaphore("/semaphores"));
```
"#
)]
#[must_use]
pub const fn aliases_semaphore(name: &str) -> bool {
    let b = name.as_bytes();
    cfg!(target_os = "linux")
        && b.len() >= 5
        && b[0] == b'/'
        && b[1] == b's'
        && b[2] == b'e'
        && b[3] == b'm'
        && b[4] == b'.'
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [Kind; 3] = [Kind::Semaphore, Kind::SharedMemory, Kind::MessageQueue];

    #[test]
    fn table() {
        let cases: &[(&str, Result<(), NameError>)] = &[
            ("", Err(NameError::Empty)),
            ("/", Err(NameError::Empty)),
            ("jobs", Err(NameError::NoLeadingSlash)),
            ("jobs/", Err(NameError::NoLeadingSlash)),
            ("//jobs", Err(NameError::InteriorSlash)),
            ("/a/b", Err(NameError::InteriorSlash)),
            ("/a/", Err(NameError::InteriorSlash)),
            ("/a\0b", Err(NameError::Nul)),
            ("/\0", Err(NameError::Nul)),
            ("/.", Err(NameError::Dot)),
            ("/..", Err(NameError::Dot)),
            ("/...", Ok(())),
            ("/.hidden", Ok(())),
            ("/a.", Ok(())),
            ("/x", Ok(())),
            ("/app.db-lock_2", Ok(())),
            ("/ünï", Ok(())),
            ("/日本", Ok(())),
            ("/with space", Ok(())),
        ];
        for kind in KINDS {
            for (name, want) in cases {
                assert_eq!(check(name, kind), *want, "{name:?} as {kind:?}");
            }
        }
    }

    /// The word-at-a-time scan against the byte loop it replaces: every
    /// length up to three words, a `/` or a NUL at every position, among
    /// bytes next to them in value (0x01, 0x2e, 0x30, 0x7f, 0x80, 0xff,
    /// which a wrong bit trick would mistake for them).
    #[test]
    fn word_scan_finds_every_slash_and_nul() {
        let naive = |b: &[u8]| b.iter().any(|&c| c == b'/' || c == 0);
        for len in 0..=24 {
            for filler in [b'a', 0x01, 0x2e, 0x30, 0x7f, 0x80, 0xff] {
                let clean = vec![filler; len];
                assert!(!has_slash_or_nul(&clean), "{clean:?}");
                for at in 0..len {
                    for bad in [b'/', 0] {
                        let mut b = clean.clone();
                        b[at] = bad;
                        assert_eq!(has_slash_or_nul(&b), naive(&b), "{b:?}");
                        assert!(has_slash_or_nul(&b), "{b:?}");
                    }
                }
            }
        }
        // Every byte value at every position of names of one word and a bit,
        // two words, and almost three (the last word read overlaps the one
        // before it unless the length is a multiple of eight).
        for len in [9, 13, 16, 23] {
            for at in 0..len {
                for byte in 0..=255u8 {
                    let mut b = vec![b'x'; len];
                    b[at] = byte;
                    assert_eq!(
                        has_slash_or_nul(&b),
                        naive(&b),
                        "byte {byte:#x} at {at} of {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_first_bad_byte_is_reported() {
        assert_eq!(
            check("/abcdefghij/\0", Kind::Semaphore),
            Err(NameError::InteriorSlash)
        );
        assert_eq!(
            check("/abcdefghij\0/", Kind::Semaphore),
            Err(NameError::Nul)
        );
        assert_eq!(
            check("/abcdefghijklmnopq\0", Kind::Semaphore),
            Err(NameError::Nul)
        );
    }

    #[test]
    fn lengths_per_kind() {
        for kind in KINDS {
            let max = max_len(kind);
            let longest = format!("/{}", "n".repeat(max));
            assert_eq!(check(&longest, kind), Ok(()), "{kind:?}");
            let too_long = format!("/{}", "n".repeat(max + 1));
            assert_eq!(
                check(&too_long, kind),
                Err(NameError::TooLong { len: max + 1, max }),
                "{kind:?}"
            );
        }
        if cfg!(target_os = "linux") {
            assert_eq!(max_len(Kind::Semaphore), 251);
        }
        assert_eq!(max_len(Kind::SharedMemory), 255);
        assert_eq!(max_len(Kind::MessageQueue), 255);
    }

    #[test]
    fn length_counts_bytes_not_chars() {
        // 'ü' is two bytes in UTF-8.
        let name = format!("/{}", "ü".repeat(128));
        assert_eq!(
            check(&name, Kind::SharedMemory),
            Err(NameError::TooLong { len: 256, max: 255 })
        );
    }

    const CONST_ALIAS: Result<(), NameError> = check("/sem.const", Kind::SharedMemory);

    #[test]
    fn shared_memory_may_not_alias_a_semaphore_file() {
        let linux = cfg!(target_os = "linux");
        for name in ["/sem.x", "/sem.", "/sem.ipc-test.1"] {
            let want = if linux {
                Err(NameError::AliasesSemaphore)
            } else {
                Ok(())
            };
            assert_eq!(check(name, Kind::SharedMemory), want, "{name:?}");
            assert_eq!(check(name, Kind::Semaphore), Ok(()), "{name:?}");
            assert_eq!(check(name, Kind::MessageQueue), Ok(()), "{name:?}");
        }
        for name in ["/sem", "/semx", "/Sem.x", "/x.sem.y", "/sem-x"] {
            assert_eq!(check(name, Kind::SharedMemory), Ok(()), "{name:?}");
        }
        // The other rules come first.
        assert_eq!(
            check("/sem.a/b", Kind::SharedMemory),
            Err(NameError::InteriorSlash)
        );
        assert_eq!(CONST_ALIAS.is_err(), linux);
        assert_eq!(
            NameError::AliasesSemaphore.to_string(),
            "shared-memory names starting with \"/sem.\" alias a semaphore's backing file on Linux"
        );
    }

    #[test]
    fn usable_in_const_context() {
        const R: Result<(), NameError> = check("/const", Kind::Semaphore);
        const MAX: usize = max_len(Kind::MessageQueue);
        assert_eq!(R, Ok(()));
        assert_eq!(MAX, 255);
    }

    #[test]
    fn messages_read_well() {
        assert_eq!(
            NameError::NoLeadingSlash.to_string(),
            "name must start with '/'"
        );
        assert_eq!(
            NameError::TooLong { len: 300, max: 251 }.to_string(),
            "name is too long: 300 bytes after the leading '/', the limit is 251"
        );
        for e in [
            NameError::Empty,
            NameError::InteriorSlash,
            NameError::Nul,
            NameError::Dot,
        ] {
            let msg = e.to_string();
            assert!(msg.starts_with("name must"), "{msg}");
            assert!(!msg.ends_with('.'), "{msg}");
        }
    }
}
