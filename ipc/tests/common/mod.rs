//! Helpers shared by the integration tests: unique names that are unlinked
//! when the test ends, pass or fail.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// `"/ipc-test.<pid>.<n>.<tag>"`: unique across processes and within one.
#[must_use]
pub fn unique(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("/ipc-test.{}.{n}.{tag}", std::process::id())
}

/// The kinds of object a [`Name`] cleans up after.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// Unlinked with `ipc::unlink_semaphore`.
    Semaphore,
    /// Unlinked with `ipc::unlink_shared_memory`.
    SharedMemory,
    /// Unlinked with `ipc::unlink_message_queue`.
    MessageQueue,
}

/// A unique name whose object is unlinked on drop (if it still exists), so a
/// failing test leaves nothing in /dev/shm.
#[derive(Debug)]
pub struct Name {
    name: String,
    kind: Kind,
}

impl Name {
    /// A unique semaphore name.
    #[must_use]
    pub fn sem(tag: &str) -> Name {
        Name {
            name: unique(tag),
            kind: Kind::Semaphore,
        }
    }

    /// A unique shared-memory name.
    #[must_use]
    pub fn shm(tag: &str) -> Name {
        Name {
            name: unique(tag),
            kind: Kind::SharedMemory,
        }
    }

    /// A unique message-queue name.
    #[must_use]
    pub fn mq(tag: &str) -> Name {
        Name {
            name: unique(tag),
            kind: Kind::MessageQueue,
        }
    }

    /// Takes over cleanup of an existing name (e.g. one from `create_unique`).
    #[must_use]
    pub fn adopt(name: &str, kind: Kind) -> Name {
        Name {
            name: name.to_owned(),
            kind,
        }
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}

impl Drop for Name {
    fn drop(&mut self) {
        let _ = match self.kind {
            Kind::Semaphore => ipc::unlink_semaphore(&self.name),
            Kind::SharedMemory => ipc::unlink_shared_memory(&self.name),
            Kind::MessageQueue => ipc::unlink_message_queue(&self.name),
        };
    }
}

/// The names in /dev/shm and, where the mqueue filesystem is mounted,
/// /dev/mqueue, as `"<dir>/<name>"`, sorted.
#[must_use]
pub fn namespace() -> Vec<String> {
    let mut names = Vec::new();
    for dir in ["/dev/shm", "/dev/mqueue"] {
        if let Ok(entries) = std::fs::read_dir(dir) {
            names.extend(
                entries
                    .flatten()
                    .map(|e| format!("{dir}/{}", e.file_name().to_string_lossy())),
            );
        }
    }
    names.sort();
    names
}

/// This test binary again, in the child role `role` (`IPC_TEST_ROLE`), with
/// `args`: a real second process for the tests with their own `main`.
///
/// # Panics
///
/// If the process cannot be started.
#[must_use]
pub fn spawn(role: &str, args: &[&str]) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .env("IPC_TEST_ROLE", role)
        .args(args)
        .spawn()
        .unwrap()
}

/// SIGKILLs `child` and reaps it, so its pid no longer exists.
///
/// # Panics
///
/// If the signal or the wait fails.
pub fn kill_and_reap(mut child: std::process::Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Runs `tests` one after another in this process, catching panics, and
/// prints libtest-like lines; for the test files with their own `main`.
pub fn run_tests(tests: &[(&str, fn())]) -> std::process::ExitCode {
    let mut failed = 0;
    for (name, test) in tests {
        if std::panic::catch_unwind(test).is_ok() {
            println!("test {name} ... ok");
        } else {
            println!("test {name} ... FAILED");
            failed += 1;
        }
    }
    println!(
        "test result: {}. {} passed; {failed} failed",
        if failed == 0 { "ok" } else { "FAILED" },
        tests.len() - failed
    );
    if failed == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// A file put in /dev/shm by hand, removed on drop (pass or fail).
pub struct Planted(pub std::path::PathBuf);

impl Planted {
    /// `/dev/shm/<file>`, not created yet.
    #[must_use]
    pub fn at(file: &str) -> Planted {
        Planted(std::path::Path::new("/dev/shm").join(file))
    }

    pub fn mkfifo(&self) {
        let made = std::process::Command::new("mkfifo").arg(&self.0).status();
        assert!(
            made.is_ok_and(|s| s.success()),
            "mkfifo {}",
            self.0.display()
        );
    }
}

impl Drop for Planted {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_dir(&self.0);
    }
}
