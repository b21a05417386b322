//! [`namespace`]: a prefix for every declared name, from the environment.

use std::sync::OnceLock;

/// The namespace of the declared objects of this process: the value of the
/// environment variable `IPC_NAMESPACE`, read once, on first use.
///
/// When it is set (say to `staging`), every object declared with
/// `#[named_semaphore]`, `#[named_mutex]` or `#[named_shared_memory]` is
/// opened and unlinked under `/staging.<name>` instead of `/<name>`:
/// `"/my-app.db"` becomes `"/staging.my-app.db"`. Several deployments of one
/// application can then share a host, and tests can run side by side without
/// touching each other's objects. `NAME` stays the declared name; objects
/// opened at run time by name (`Semaphore::open(..)`) are not affected.
///
/// A value that would make an invalid name (a `/`, a NUL, too long) makes
/// the first open of a declared object fail with
/// [`ErrorKind::InvalidName`](crate::ErrorKind::InvalidName); an empty value
/// is no namespace.
///
/// # Examples
///
/// ```
/// // IPC_NAMESPACE is not set for doc tests.
/// assert_eq!(ipc::namespace(), None);
/// ```
#[must_use]
pub fn namespace() -> Option<&'static str> {
    static NAMESPACE: OnceLock<Option<String>> = OnceLock::new();
    NAMESPACE
        .get_or_init(|| {
            std::env::var("IPC_NAMESPACE")
                .ok()
                .filter(|ns| !ns.is_empty())
        })
        .as_deref()
}
