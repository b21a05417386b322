#![deny(unused_must_use)]

#[ipc::named_semaphore(name = "/ipc-ui.fail")]
struct Lock;

fn main() {
    // The block's value is an ipc::Result: dropping it unchecked is an error
    // under deny(unused_must_use).
    ipc::critical!(Lock => { 1 });
}
