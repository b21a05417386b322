#![deny(warnings)]
// 251 bytes after the slash: the longest semaphore name on Linux.

#[ipc::named_semaphore(name = "/lllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll")]
struct Longest;

fn main() {
    assert_eq!(Longest::NAME.len(), 252);
    // The runtime accepts what the macro accepted: open, use, unlink.
    Longest::critical(|| ()).unwrap();
    Longest::unlink().unwrap();
}
