#![deny(warnings)]
// A block that always leaves early (return, break, panic) raises no
// unreachable-code warning from the expansion.

#[ipc::named_semaphore(name = "/ipc-ui.diverging")]
struct Lock;

fn always_returns() -> ipc::Result<u8> {
    ipc::critical!(Lock => { return Ok(1) })
}

fn main() -> ipc::Result<()> {
    assert_eq!(always_returns()?, 1);
    let mut n = 0;
    loop {
        n += 1;
        ipc::critical!(Lock => { break })?;
    }
    assert_eq!(n, 1);
    let caught = std::panic::catch_unwind(|| -> ipc::Result<()> {
        ipc::critical!(Lock => { panic!("always") })
    });
    assert!(caught.is_err());
    assert_eq!(Lock::semaphore()?.value()?, 1);
    Lock::unlink()
}
