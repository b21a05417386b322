//! What unit tests share: shared-memory names unique to the test process,
//! unlinked when the guard drops — also when the test fails.

/// A shared-memory name, unlinked on drop.
pub(crate) struct Unlink(pub(crate) String);

impl Drop for Unlink {
    fn drop(&mut self) {
        let _ = crate::unlink_shared_memory(&self.0);
    }
}

/// `/ipc-test.unit.<pid>.<tag>`, unlinked when the guard drops.
pub(crate) fn name(tag: &str) -> Unlink {
    Unlink(format!("/ipc-test.unit.{}.{tag}", std::process::id()))
}
