// Three mistakes, three errors, in one compile.
#[ipc::named_semaphore(name = "lock", mode = 644, colour = "red")]
struct Lock;

fn main() {}
