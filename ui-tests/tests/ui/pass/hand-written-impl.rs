#![deny(warnings)]
// critical! works with a NamedSemaphore written by hand.
use ipc::{NamedSemaphore, Semaphore};
use std::sync::OnceLock;

struct Manual;

impl NamedSemaphore for Manual {
    const NAME: &'static str = "/ipc-ui.manual";
    const INITIAL: u32 = 1;
    const MODE: u32 = 0o600;

    fn semaphore() -> ipc::Result<&'static Semaphore> {
        static SEM: OnceLock<Semaphore> = OnceLock::new();
        if let Some(sem) = SEM.get() {
            return Ok(sem);
        }
        let sem = Semaphore::create(Self::NAME, Self::INITIAL)?;
        Ok(SEM.get_or_init(|| sem))
    }
}

fn main() -> ipc::Result<()> {
    assert_eq!(ipc::critical!(Manual => { 5 })?, 5);
    assert_eq!(ipc::critical!(try Manual => { 6 })?, 6);
    Manual::unlink()
}
