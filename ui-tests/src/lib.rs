//! trybuild cases for `#[ipc::named_semaphore]` and `ipc::critical!`: see
//! `tests/ui/pass` (every accepted form, run) and `tests/ui/fail` (one
//! mistake per file, with the compiler's expected output).
