// A wrong item handed over by a macro, with a `$v:vis`, is still named.
macro_rules! with_visibility {
    ($v:vis) => {
        #[ipc::named_semaphore(name = "/app.lock")]
        $v fn lock() {}
    };
}
with_visibility!(pub(crate));

fn main() {}
