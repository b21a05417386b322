//! Helpers for the cross-process and cross-language tests in `tests/`:
//! unique names that clean up after themselves, the Python interpreter with
//! posix_ipc, and the C peer program.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

#[path = "../../ipc/tests/common/mod.rs"]
mod common;

pub use common::{Kind, Name, unique};

/// Whether this run is CI (`CI=true`), where a missing peer is a failure.
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A missing tool: a failure under CI, a printed skip elsewhere.
fn missing(what: &str) -> Option<PathBuf> {
    assert!(!under_ci(), "CI=true but {what}");
    eprintln!("skipping: {what}");
    None
}

/// A Python interpreter that imports posix_ipc: `$IPC_TEST_PYTHON` (set by
/// `.ci/run` to its venv), else `python3` if it has posix_ipc.
///
/// Returns `None` (after printing why) when there is none, except under CI,
/// where that fails the test.
///
/// # Panics
///
/// Under CI without such an interpreter, or when `$IPC_TEST_PYTHON` names
/// one that cannot import posix_ipc.
pub fn python() -> Option<&'static Path> {
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let imports = |python: &Path| {
                Command::new(python)
                    .args(["-c", "import posix_ipc"])
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if let Some(python) = std::env::var_os("IPC_TEST_PYTHON") {
                let python = PathBuf::from(python);
                assert!(
                    imports(&python),
                    "IPC_TEST_PYTHON={} cannot import posix_ipc",
                    python.display()
                );
                return Some(python);
            }
            let python = PathBuf::from("python3");
            if imports(&python) {
                return Some(python);
            }
            missing(
                "no Python with posix_ipc (set IPC_TEST_PYTHON, or run .ci/run, which makes a venv)",
            )
        })
        .as_deref()
}

/// The prelude of every Python snippet: posix_ipc, and the arguments.
const PY_PRELUDE: &str = "import sys, mmap, struct, time, posix_ipc as p\nargs = sys.argv[1:]\n";

/// Runs a Python snippet with `args` (as `args` in the snippet) and returns
/// its stdout, trimmed.
///
/// # Panics
///
/// If the snippet fails; the message has its stderr.
// Run for its effects as often as for its output.
#[allow(clippy::must_use_candidate)]
pub fn py(python: &Path, code: &str, args: &[&str]) -> String {
    let out = Command::new(python)
        .arg("-c")
        .arg(format!("{PY_PRELUDE}{code}"))
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Starts a Python snippet with piped stdin and stdout.
///
/// # Panics
///
/// If the interpreter cannot be started.
#[must_use]
pub fn py_spawn(python: &Path, code: &str, args: &[&str]) -> Peer {
    let mut cmd = Command::new(python);
    cmd.arg("-u")
        .arg("-c")
        .arg(format!("{PY_PRELUDE}{code}"))
        .args(args);
    Peer::spawn(cmd)
}

/// The C peer (`tests/c/peer.c`), compiled once with the machine's `cc`
/// into `dir`.
///
/// Returns `None` (after printing why) when there is no C compiler, except
/// under CI, where that fails the test.
///
/// # Panics
///
/// If the compiler rejects the program.
pub fn c_peer(dir: &str) -> Option<&'static Path> {
    static PEER: OnceLock<Option<PathBuf>> = OnceLock::new();
    PEER.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("c/peer.c");
        let out = Path::new(dir).join("c-peer");
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
        let status = Command::new(&cc)
            .args(["-Wall", "-Wextra", "-Werror", "-O2", "-o"])
            .arg(&out)
            .arg(&src)
            .args(["-pthread", "-lrt"])
            .status();
        match status {
            Ok(s) if s.success() => Some(out),
            Ok(s) => panic!("{cc} failed to compile {}: {s}", src.display()),
            Err(e) => missing(&format!("no C compiler ({cc}: {e})")),
        }
    })
    .as_deref()
}

/// Runs the C peer with `args` and returns its stdout, trimmed, and whether
/// it succeeded.
///
/// # Panics
///
/// If the program cannot be started.
// Run for its effects as often as for its output.
#[allow(clippy::must_use_candidate)]
pub fn c(peer: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(peer).args(args).output().expect("c peer runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
    )
}

/// A running peer process whose stdout is read line by line.
pub struct Peer {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    /// Starts `cmd` with piped stdin and stdout.
    ///
    /// # Panics
    ///
    /// If it cannot be started.
    #[must_use]
    pub fn spawn(mut cmd: Command) -> Peer {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("peer starts");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Peer { child, stdout }
    }

    /// The next line the peer prints, trimmed.
    ///
    /// # Panics
    ///
    /// If the peer closed its stdout first.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).expect("read from peer");
        assert!(n > 0, "the peer exited without a line");
        line.trim().to_owned()
    }

    /// Closes the peer's stdin (its cue to finish) and waits for it.
    ///
    /// # Panics
    ///
    /// If the peer failed.
    pub fn finish(mut self) {
        drop(self.child.stdin.take());
        let status = self.child.wait().expect("wait for peer");
        assert!(status.success(), "peer failed: {status}");
    }

    /// Whether the peer is still running.
    ///
    /// # Panics
    ///
    /// If its status cannot be read.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().expect("peer status").is_none()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // A failing test must not leave a peer behind.
        if self.running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
