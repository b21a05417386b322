// Punctuation mistakes between the arguments name the fix.
#[ipc::named_semaphore(name = "/x",, initial = 1)]
struct DoubleComma;

#[ipc::named_semaphore(, name = "/x")]
struct LeadingComma;

#[ipc::named_semaphore(name = "/x" initial = 1)]
struct MissingComma;

#[ipc::named_semaphore(name: "/x")]
struct Colon;

#[ipc::named_semaphore(name = "/x", initial = 1f32)]
struct FloatSuffix;

fn main() {}
