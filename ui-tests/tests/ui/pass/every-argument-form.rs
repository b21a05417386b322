#![deny(warnings)]
// Each accepted form of the arguments; the defaults are initial 1, mode 0o600.

#[ipc::named_semaphore(name = "/ipc-ui.only-name")]
struct OnlyName;

#[ipc::named_semaphore(name = "/ipc-ui.all", initial = 3, mode = 0o640)]
struct All;

#[ipc::named_semaphore(mode = 0o644, initial = 0, name = "/ipc-ui.reordered")]
struct Reordered;

#[ipc::named_semaphore(name = r"/ipc-ui.raw", initial = 2u32, mode = 0o600u32)]
struct Suffixed;

#[ipc::named_semaphore(name = "/ipc-ui.max", initial = 2147483647, mode = 0o777)]
struct Max;

#[ipc::named_semaphore(name = "/ipc-ui.zero-mode", mode = 0o0)]
struct ZeroMode;

#[ipc::named_semaphore(name = "/ipc-ui.trailing-comma",)]
struct TrailingComma;

fn main() {
    assert_eq!((OnlyName::NAME, OnlyName::INITIAL, OnlyName::MODE), ("/ipc-ui.only-name", 1, 0o600));
    assert_eq!((All::INITIAL, All::MODE), (3, 0o640));
    assert_eq!((Reordered::NAME, Reordered::INITIAL, Reordered::MODE), ("/ipc-ui.reordered", 0, 0o644));
    assert_eq!((Suffixed::NAME, Suffixed::INITIAL), ("/ipc-ui.raw", 2));
    assert_eq!((Max::INITIAL, Max::MODE), (2147483647, 0o777));
    assert_eq!(ZeroMode::MODE, 0);
    assert_eq!(TrailingComma::NAME, "/ipc-ui.trailing-comma");
}
