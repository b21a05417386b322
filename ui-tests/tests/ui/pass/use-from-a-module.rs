#![deny(warnings)]
mod locks {
    /// The lock around the jobs table.
    #[ipc::named_semaphore(name = "/ipc-ui.module")]
    pub(crate) struct Jobs;

    #[ipc::named_semaphore(name = "/ipc-ui.private")]
    struct Private;

    pub(crate) fn private_name() -> &'static str {
        Private::NAME
    }
}

use locks::Jobs;

fn main() -> ipc::Result<()> {
    let n = ipc::critical!(Jobs => { 1 })?;
    let m = ipc::critical!(locks::Jobs => { 2 })?;
    let k = ipc::critical!(crate::locks::Jobs => { 3 })?;
    assert_eq!(n + m + k, 6);
    assert_eq!(locks::private_name(), "/ipc-ui.private");
    Jobs::unlink()
}
