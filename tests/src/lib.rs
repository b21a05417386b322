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

/// The venv the tests make for themselves when no Python with posix_ipc is
/// given: `target/test-venv`, with posix-ipc 1.3.2 from PyPI.
fn own_venv() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("test-venv")
}

fn imports_posix_ipc(python: &Path) -> bool {
    Command::new(python)
        .args([
            "-c",
            "import posix_ipc, sys; sys.exit(posix_ipc.VERSION != '1.3.2')",
        ])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Makes `own_venv()` (once; test binaries that race wait on a lock
/// directory) and returns its interpreter.
///
/// # Panics
///
/// With the commands' output when the venv cannot be made (no `python3`
/// with `venv`, or PyPI unreachable): the interoperability tests then fail
/// rather than pass without running.
fn make_venv() -> PathBuf {
    let venv = own_venv();
    let python = venv.join("bin/python");
    if imports_posix_ipc(&python) {
        return python;
    }
    let lock = venv.with_extension("lock");
    let _ = std::fs::create_dir_all(venv.parent().unwrap_or(Path::new(".")));
    let started = std::time::Instant::now();
    while std::fs::create_dir(&lock).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(300),
            "another test process has held {} for 5 minutes; remove it if stale",
            lock.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
        if imports_posix_ipc(&python) {
            return python;
        }
    }
    let run = |cmd: &mut Command| {
        let out = cmd.output();
        let ok = out.as_ref().is_ok_and(|o| o.status.success());
        if !ok {
            let _ = std::fs::remove_dir(&lock);
        }
        let out = out.unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        assert!(
            out.status.success(),
            "{cmd:?} failed; the Python interoperability tests need python3 with venv and \
             network access to PyPI (or set IPC_TEST_PYTHON to a python with posix_ipc 1.3.2):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    eprintln!("making {} with posix-ipc 1.3.2 from PyPI", venv.display());
    run(Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv));
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "posix-ipc==1.3.2",
    ]));
    let _ = std::fs::remove_dir(&lock);
    assert!(
        imports_posix_ipc(&python),
        "{} was made but cannot import posix_ipc 1.3.2",
        python.display()
    );
    python
}

/// A Python interpreter that imports posix_ipc 1.3.2: `$IPC_TEST_PYTHON`
/// (`.ci/run` sets it to its venv), else a venv the tests make for
/// themselves under `target/` on first use.
///
/// # Panics
///
/// When `$IPC_TEST_PYTHON` names an interpreter that cannot import
/// posix_ipc, or when the venv cannot be made: a test that cannot run
/// fails, it never reports a skip as a pass.
#[must_use]
pub fn python() -> Option<&'static Path> {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    let python = PYTHON.get_or_init(|| {
        if let Some(python) = std::env::var_os("IPC_TEST_PYTHON") {
            let python = PathBuf::from(python);
            assert!(
                imports_posix_ipc(&python),
                "IPC_TEST_PYTHON={} cannot import posix_ipc 1.3.2",
                python.display()
            );
            return python;
        }
        make_venv()
    });
    Some(python)
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
            // A test that cannot run fails: it never passes without running.
            Err(e) => {
                panic!("no C compiler to build the C peer ({cc}: {e}); install one or set CC")
            }
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

/// A small deterministic generator, for the async tests' cancellation
/// storms.
pub struct XorShift(pub u64);

impl XorShift {
    /// The next number in `0..n` (`n` > 0).
    pub fn next_below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A timer for a cancellation storm: half the time one that has already
/// expired (the operation is dropped at its first poll or soon after, as
/// `select!` polls its branches in random order), else 0 to 1.5 ms (tokio's
/// timers tick in milliseconds), long enough to fire while the operation
/// waits.
pub fn storm_timer(rng: &mut XorShift) -> std::time::Duration {
    if rng.next_below(2) == 0 {
        std::time::Duration::ZERO
    } else {
        std::time::Duration::from_micros(rng.next_below(1_500))
    }
}

/// A waker that panics when woken, as a buggy foreign executor's might:
/// what the helper threads of the async handles must survive.
#[must_use]
pub fn panicking_waker() -> std::task::Waker {
    struct Panics;
    impl std::task::Wake for Panics {
        fn wake(self: std::sync::Arc<Self>) {
            panic!("this waker panics (expected by the test)");
        }
    }
    std::task::Waker::from(std::sync::Arc::new(Panics))
}
