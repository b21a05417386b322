//! Running the real `ipcctl` binary, and unique names that clean up.
#![allow(dead_code, unreachable_pub)]

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
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

/// The `ipcctl` binary under test.
#[must_use]
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ipcctl")
}

/// `ipcctl` as a command, stdin closed.
#[must_use]
pub fn cmd(args: &[&str]) -> Command {
    ensure_mqueue_mounted();
    let mut cmd = Command::new(bin());
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

/// How a child run with [`run_within`] ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// The exit code; `None` when a signal ended it.
    #[must_use]
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The signal that ended it, if one did.
    #[must_use]
    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }
}

/// Runs `cmd` (stdin closed unless set, stdout and stderr captured) in a
/// process group of its own, and waits at most `limit` for it.
///
/// # Panics
///
/// If it cannot be started, or is still running after `limit`: the whole
/// group (it and whatever it started) is then killed, and the panic shows
/// what it printed so far.
#[track_caller]
pub fn run_within(mut cmd: Command, limit: Duration) -> Finished {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let err = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("child status") {
            break Some(status);
        }
        if started.elapsed() > limit {
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let Some(status) = status else {
        kill_group(child.id());
        let _ = child.kill();
        let _ = child.wait();
        let (stdout, stderr) = (
            out.join().unwrap_or_default(),
            err.join().unwrap_or_default(),
        );
        panic!(
            "{cmd:?} was still running after {limit:?} and was killed\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
    };
    // Whatever it left behind in its group goes too, so the pipes close.
    kill_group(child.id());
    Finished {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// SIGKILL to the process group `pgid` (one [`run_within`] made).
pub fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// `sh -c script ipcctl args...` under `unshare unshare_args` (as root: a
/// private mount namespace and the like), at most `limit`: `$0` in the
/// script is the ipcctl binary, `$1`... are `args`.
///
/// # Panics
///
/// If `unshare` is not installed or may not make the namespaces (not root,
/// or a container without `CAP_SYS_ADMIN`): the test fails saying so, it
/// never passes without running.
#[track_caller]
pub fn unshared_sh(
    unshare_args: &[&str],
    script: &str,
    args: &[&str],
    limit: Duration,
) -> Finished {
    assert!(
        Command::new("unshare")
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok(),
        "this test needs `unshare` (util-linux) and root to make namespaces; \
         it is not installed"
    );
    let mut cmd = Command::new("unshare");
    cmd.args(unshare_args)
        .args(["sh", "-c", script, bin()])
        .args(args)
        .stdin(Stdio::null())
        .env("NO_COLOR", "1");
    let run = run_within(cmd, limit);
    assert!(
        !(run.stderr.contains("unshare failed") || run.stderr.starts_with("unshare:")),
        "this test needs root (CAP_SYS_ADMIN) to run `unshare {unshare_args:?}`, which failed:\n{}",
        run.stderr
    );
    run
}

/// A path planted by a test (a FIFO, a symbolic link, a directory, a file
/// with an odd name), removed on drop, pass or fail.
pub struct Planted(pub PathBuf);

impl Planted {
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Planted {
        Planted(path.into())
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Planted {
    fn drop(&mut self) {
        let is_dir = std::fs::symlink_metadata(&self.0).is_ok_and(|m| m.is_dir());
        // Never recursive: a directory planted empty that is not empty now
        // (a bind mount left over?) is left alone.
        let _ = if is_dir {
            std::fs::remove_dir(&self.0)
        } else {
            std::fs::remove_file(&self.0)
        };
    }
}

/// A child process killed and reaped on drop if it still runs, so a failing
/// test leaves none behind.
pub struct Reaped(pub std::process::Child);

impl std::ops::Deref for Reaped {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for Reaped {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
