// The name is wrong; the uses below still type-check against the stub
// accessors, so the name is the only error reported.
#[ipc::named_semaphore(name = "no-slash")]
struct Lock;

fn main() -> ipc::Result<()> {
    let _guard = Lock::lock()?;
    let n: i32 = ipc::critical!(Lock => { 1 })?;
    let _ = Lock::critical(|| n)?;
    Ok(())
}
