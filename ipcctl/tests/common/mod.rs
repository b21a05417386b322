//! Running the real `ipcctl` binary, and unique names that clean up.
#![allow(dead_code, unreachable_pub)]

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use ipc_tests::{Kind, Name, unique};

/// What a run of `ipcctl` did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// `ipcctl` lists message queues through the mqueue filesystem at
/// `/dev/mqueue`, which many systems (containers, minimal images) leave
/// unmounted. These tests need to see queues there: as root, mount it once
/// (as `.ci/run` does; the queues are the same kernel objects either way),
/// and otherwise fail saying how, never pass without looking.
fn ensure_mqueue_mounted() {
    static MOUNTED: std::sync::Once = std::sync::Once::new();
    MOUNTED.call_once(|| {
        let mounted = || {
            std::fs::read_to_string("/proc/self/mounts").is_ok_and(|m| {
                m.lines()
                    .any(|l| l.split_whitespace().nth(1) == Some("/dev/mqueue"))
            })
        };
        if mounted() {
            return;
        }
        let mount = "mkdir -p /dev/mqueue && mount -t mqueue none /dev/mqueue";
        let ok = Command::new("sh")
            .args(["-c", mount])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok && mounted(),
            "ipcctl's tests list message queues in /dev/mqueue, which is not mounted \
             and could not be mounted here; as root, run: {mount}"
        );
        eprintln!("note: mounted the mqueue filesystem at /dev/mqueue for ipcctl's tests");
    });
}

/// `ipcctl` as a command, stdin closed.
#[must_use]
pub fn cmd(args: &[&str]) -> Command {
    ensure_mqueue_mounted();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipcctl"));
    cmd.args(args).stdin(Stdio::null()).env("NO_COLOR", "1");
    cmd
}

/// Runs `ipcctl args` to the end.
///
/// # Panics
///
/// If the binary cannot be started.
#[must_use]
pub fn ipcctl(args: &[&str]) -> Run {
    cmd(args).output().expect("ipcctl runs").into()
}

/// Runs `ipcctl args`, asserting that it exits with `code`.
///
/// # Panics
///
/// If it exits otherwise.
#[track_caller]
// Called for the exit code as often as for the output.
#[allow(clippy::must_use_candidate)]
pub fn expect(code: i32, args: &[&str]) -> Run {
    let run = ipcctl(args);
    assert_eq!(run.code, code, "ipcctl {args:?}: {run:#?}");
    run
}

/// `ipcctl stat --json NAME`'s objects.
///
/// # Panics
///
/// If stat fails or prints no JSON.
#[track_caller]
#[must_use]
pub fn stat(name: &str) -> Vec<serde_json::Value> {
    let run = expect(0, &["stat", "--json", name]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("stat prints JSON");
    doc["objects"].as_array().expect("objects").clone()
}

/// `ipcctl ls --json --prefix PREFIX`: the objects and the warnings.
///
/// # Panics
///
/// If ls fails or prints no JSON.
#[track_caller]
#[must_use]
pub fn ls(prefix: &str) -> (Vec<serde_json::Value>, Vec<String>) {
    let run = expect(0, &["ls", "--json", "--prefix", prefix]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("ls prints JSON");
    let warnings = doc["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w.as_str().unwrap_or_default().to_owned())
        .collect();
    (
        doc["objects"].as_array().expect("objects").clone(),
        warnings,
    )
}

/// The object of `kind` ("sem", "shm", "mq") named `name` in `objects`.
///
/// # Panics
///
/// If there is none.
#[track_caller]
#[must_use]
pub fn find<'a>(objects: &'a [serde_json::Value], kind: &str, name: &str) -> &'a serde_json::Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {objects:#?}"))
}

/// A prefix no other test uses, `/ipc-test.<pid>.<n>.<tag>.`, and names under
/// it that are unlinked on drop.
pub struct Prefix(pub String);

impl Prefix {
    #[must_use]
    pub fn new(tag: &str) -> Prefix {
        Prefix(format!("{}.", unique(tag)))
    }

    /// `<prefix><leaf>`, unlinked as `kind` on drop.
    #[must_use]
    pub fn name(&self, leaf: &str, kind: Kind) -> Name {
        Name::adopt(&format!("{}{leaf}", self.0), kind)
    }
}

/// Polls `f` until it is true or `limit` passes.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// Whether the file of an object exists: `/dev/shm/sem.x`, `/dev/shm/x`,
/// `/dev/mqueue/x` (queues: found by opening when the filesystem is not
/// mounted).
#[must_use]
pub fn exists(kind: &str, name: &str) -> bool {
    let leaf = &name[1..];
    match kind {
        "sem" => std::path::Path::new(&format!("/dev/shm/sem.{leaf}")).exists(),
        "shm" => std::path::Path::new(&format!("/dev/shm/{leaf}")).exists(),
        _ => ipc::MessageQueue::open(name).is_ok(),
    }
}
