#![deny(warnings)]
// A private unit struct never constructed, used only through its
// associated items and the trait: no dead_code warning.

#[ipc::named_semaphore(name = "/ipc-ui.type-only")]
struct TypeOnly;

fn name_of<S: ipc::NamedSemaphore>() -> &'static str {
    S::NAME
}

fn main() {
    assert_eq!(name_of::<TypeOnly>(), "/ipc-ui.type-only");
}
