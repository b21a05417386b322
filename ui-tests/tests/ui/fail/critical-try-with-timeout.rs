#[ipc::named_semaphore(name = "/lock")]
struct Lock;

fn main() {
    let _ = ipc::critical!(try Lock, timeout = std::time::Duration::from_secs(1) => { 1 });
}
