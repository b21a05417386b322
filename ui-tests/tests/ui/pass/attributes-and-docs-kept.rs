#![deny(warnings, missing_docs)]
//! A crate whose public lock has docs and derives.

/// The lock, documented.
#[ipc::named_semaphore(name = "/ipc-ui.attrs")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Documented;

fn main() {
    let a = Documented;
    assert_eq!(a, Documented::default());
    assert_eq!(format!("{a:?}"), "Documented");
}
