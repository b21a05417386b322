#[ipc::named_semaphore(name = "/ipc-ui.fail")]
struct Lock;

fn main() {
    let _ = ipc::critical!(Lock { 1 });
}
