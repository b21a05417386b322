// Every argument mistake is reported, each on its own tokens.
const SOME_CONST: u32 = 0o600;

#[ipc::named_semaphore(colour = 1, name = "/x", name = "/y", mode = SOME_CONST, flag, initial = 1.5)]
struct Lock;

#[ipc::named_semaphore(name = true, mode = -0o600, initial = 0x1_0000_0000_0000_0000)]
struct Negative;

#[ipc::named_mutex(name = c"/x", ipc::mode = 0o600, mode)]
struct CString;

#[ipc::named_mutex(name = r#"/sem.x"#, mode = 0b110)]
struct Binary;

fn main() {}
