//! The real `ipcctl` binary against objects made by `ipc`, by Python's
//! posix_ipc and by C: what `ls` and `stat` show, what `gc` removes and
//! keeps, `rm`, the small operations, `lock`, and the exit codes.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{
    Finished, Kind, Name, Planted, Prefix, bin, cmd, exists, expect, find, ipcctl, ls, run_within,
    stat, unshared_sh, wait_until,
};
use ipc::{MessageQueue, Mutex, Semaphore, Shared, SharedMemory, ShmSafe};
use ipc_tests::{c, c_peer, py, py_spawn, python};

const LONG: Duration = Duration::from_secs(30);
/// The most a run of ipcctl on a handful of objects may take.
const QUICK: Duration = Duration::from_secs(10);

/// Objects made by `ipc`: kind, owner, mode, size, value, queue depth and
/// limits, and the typed header (kind, layout fingerprint) of a `Shared`
/// and a `Mutex`, whose holder is this process while it holds it.
#[test]
fn ls_and_stat_show_ipc_objects() {
    let p = Prefix::new("ls");
    let sem_name = p.name("sem", Kind::Semaphore);
    let shm_name = p.name("shm", Kind::SharedMemory);
    let mq_name = p.name("mq", Kind::MessageQueue);
    let shared_name = p.name("shared", Kind::SharedMemory);
    let mutex_name = p.name("mutex", Kind::SharedMemory);

    let _sem = Semaphore::options()
        .create_new(true)
        .mode(0o640)
        .initial_value(3)
        .open(&sem_name)
        .unwrap();
    let _shm = SharedMemory::create_new(&shm_name, 5000).unwrap();
    let mq = MessageQueue::options()
        .create_new(true)
        .max_messages(5)
        .max_message_size(128)
        .open(&mq_name)
        .unwrap();
    mq.send(b"one", 1).unwrap();
    mq.send(b"two", 2).unwrap();
    let shared = Shared::<std::sync::atomic::AtomicU64>::create_new(&shared_name).unwrap();
    let mutex = Mutex::<[u32; 4]>::create_new(&mutex_name).unwrap();

    let (objects, _) = ls(&p.0);
    assert_eq!(objects.len(), 5, "{objects:#?}");
    let sem = find(&objects, "sem", &sem_name);
    assert_eq!(sem["value"], 3);
    assert_eq!(sem["mode"], "0640");
    assert_eq!(sem["uid"], u64::from(my_uid()));
    let shm = find(&objects, "shm", &shm_name);
    assert_eq!(shm["size"], 5000);
    assert_eq!(shm["mode"], "0600");
    assert!(shm.get("typed").is_none(), "plain shm is not typed: {shm}");
    let q = find(&objects, "mq", &mq_name);
    assert_eq!(q["depth"], 2);
    assert_eq!(q["max_messages"], 5);
    assert_eq!(q["max_message_size"], 128);
    let typed = &find(&objects, "shm", &shared_name)["typed"];
    assert_eq!(typed["kind"], "Shared");
    assert_eq!(typed["state"], "ready");
    assert_eq!(
        typed["layout"],
        format!(
            "{:#018x}",
            <std::sync::atomic::AtomicU64 as ShmSafe>::LAYOUT
        )
    );
    assert_eq!(typed["init_pid"], std::process::id());
    let typed = &find(&objects, "shm", &mutex_name)["typed"];
    assert_eq!(typed["kind"], "Mutex");
    assert_eq!(typed["lock"], "free");
    // Sorted by name.
    let names: Vec<&str> = objects.iter().filter_map(|o| o["name"].as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);

    {
        let _guard = mutex.lock().unwrap();
        let typed = &stat(&mutex_name)[0]["typed"];
        assert_eq!(typed["lock"], "held");
        assert_eq!(typed["holder_pid"], std::process::id());
        // The table says so too, in words.
        let run = expect(0, &["ls", "--prefix", &p.0]);
        let line = run
            .stdout
            .lines()
            .find(|l| l.contains(&*mutex_name))
            .unwrap();
        assert!(
            line.contains(&format!("held by pid {}", std::process::id())),
            "{line}"
        );
        assert!(run.stdout.starts_with("KIND"), "{}", run.stdout);
    }
    assert_eq!(stat(&mutex_name)[0]["typed"]["lock"], "free");
    // Inspecting changed nothing.
    assert_eq!(shared.load(std::sync::atomic::Ordering::Relaxed), 0);
    assert_eq!(mq.current_messages().unwrap(), 2);

    let run = expect(0, &["stat", &sem_name]);
    assert!(
        run.stdout.contains("value:") && run.stdout.contains('3'),
        "{}",
        run.stdout
    );
    let run = expect(0, &["stat", &mq_name]);
    assert!(run.stdout.contains("messages:"), "{}", run.stdout);
    let run = expect(0, &["stat", &mutex_name]);
    assert!(run.stdout.contains("ipc Mutex"), "{}", run.stdout);
}

/// The current user's uid, from `/proc/self/status`.
fn my_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// Objects made by Python's posix_ipc and by C show their real values.
#[test]
fn ls_shows_python_and_c_objects() {
    let Some(python) = python() else { return };
    let Some(peer) = c_peer(env!("CARGO_TARGET_TMPDIR")) else {
        return;
    };
    let p = Prefix::new("ls-foreign");
    let py_sem = p.name("py-sem", Kind::Semaphore);
    let py_shm = p.name("py-shm", Kind::SharedMemory);
    let py_mq = p.name("py-mq", Kind::MessageQueue);
    let c_sem = p.name("c-sem", Kind::Semaphore);
    let c_shm = p.name("c-shm", Kind::SharedMemory);
    let c_mq = p.name("c-mq", Kind::MessageQueue);
    py(
        python,
        "p.Semaphore(args[0], p.O_CREX, mode=0o604, initial_value=2)
p.SharedMemory(args[1], p.O_CREX, size=8192).close_fd()
q = p.MessageQueue(args[2], p.O_CREX, max_messages=4, max_message_size=64)
q.send('a'); q.send('b', priority=3); q.send('c')",
        &[&py_sem, &py_shm, &py_mq],
    );
    assert!(c(peer, &["sem-create", &c_sem, "5"]).0);
    assert!(c(peer, &["shm-create", &c_shm, "5000", "from c"]).0);
    assert!(c(peer, &["mq-create", &c_mq, "3", "32"]).0);
    assert!(c(peer, &["mq-send", &c_mq, "1", "hello"]).0);

    let (objects, _) = ls(&p.0);
    assert_eq!(objects.len(), 6, "{objects:#?}");
    let sem = find(&objects, "sem", &py_sem);
    assert_eq!(sem["value"], 2);
    assert_eq!(sem["mode"], "0604");
    assert_eq!(find(&objects, "shm", &py_shm)["size"], 8192);
    let q = find(&objects, "mq", &py_mq);
    assert_eq!(
        (&q["depth"], &q["max_messages"], &q["max_message_size"]),
        (&3.into(), &4.into(), &64.into())
    );
    assert_eq!(find(&objects, "sem", &c_sem)["value"], 5);
    let shm = find(&objects, "shm", &c_shm);
    assert_eq!(shm["size"], 5000);
    assert!(shm.get("typed").is_none());
    let q = find(&objects, "mq", &c_mq);
    assert_eq!(
        (&q["depth"], &q["max_messages"], &q["max_message_size"]),
        (&1.into(), &3.into(), &32.into())
    );

    // ipcctl's operations reach Python's objects, and Python sees ipcctl's.
    expect(0, &["sem", "post", &py_sem]);
    assert_eq!(
        py(python, "print(p.Semaphore(args[0]).value)", &[&py_sem]),
        "3"
    );
    assert_eq!(expect(0, &["sem", "value", &py_sem]).stdout.trim(), "3");
    let run = expect(0, &["mq", "recv", "--priority", &py_mq]);
    assert_eq!(run.stdout, "3 b");
    expect(0, &["mq", "send", "--priority", "9", &py_mq, "from ipcctl"]);
    assert_eq!(
        py(
            python,
            "m, prio = p.MessageQueue(args[0]).receive(); print(m.decode(), prio)",
            &[&py_mq]
        ),
        "from ipcctl 9"
    );
    assert_eq!(
        expect(0, &["shm", "cat", "--length", "6", &c_shm]).stdout,
        "from c"
    );
}

/// gc: the dry run removes nothing; `--yes` removes exactly the objects no
/// live process has open (made by ipc, Python and C, then closed) and keeps
/// those that this process, a Python process and a C waiter have open;
/// `--older-than` keeps young objects; `--force` removes the rest.
#[test]
#[allow(clippy::too_many_lines)] // one scenario: twelve objects, four gc runs
fn gc_removes_only_stale_objects() {
    let Some(python) = python() else { return };
    let Some(peer) = c_peer(env!("CARGO_TARGET_TMPDIR")) else {
        return;
    };
    let p = Prefix::new("gc");
    // Stale: made and closed.
    let stale_sem = p.name("stale-sem", Kind::Semaphore);
    let stale_shm = p.name("stale-shm", Kind::SharedMemory);
    let stale_mq = p.name("stale-mq", Kind::MessageQueue);
    let stale_py = p.name("stale-py", Kind::SharedMemory);
    let stale_c = p.name("stale-c", Kind::Semaphore);
    let stale_mutex = p.name("stale-mutex", Kind::SharedMemory);
    Semaphore::create_new(&stale_sem, 1)
        .unwrap()
        .close()
        .unwrap();
    SharedMemory::create_new(&stale_shm, 100)
        .unwrap()
        .close()
        .unwrap();
    MessageQueue::create_new(&stale_mq)
        .unwrap()
        .close()
        .unwrap();
    drop(Mutex::<u64>::create_new(&stale_mutex).unwrap());
    py(
        python,
        "p.SharedMemory(args[0], p.O_CREX, size=64).close_fd()",
        &[&stale_py],
    );
    assert!(c(peer, &["sem-create", &stale_c, "0"]).0);
    // In use: open in this process (shm by descriptor, semaphore and mutex
    // by mapping), in Python (queue, semaphore) and in C (a waiter).
    let used_shm = p.name("used-shm", Kind::SharedMemory);
    let used_sem = p.name("used-sem", Kind::Semaphore);
    let used_mutex = p.name("used-mutex", Kind::SharedMemory);
    let used_py_mq = p.name("used-py-mq", Kind::MessageQueue);
    let used_py_sem = p.name("used-py-sem", Kind::Semaphore);
    let used_c = p.name("used-c", Kind::Semaphore);
    let shm = SharedMemory::create_new(&used_shm, 100).unwrap();
    let sem = Semaphore::create_new(&used_sem, 0).unwrap();
    let mutex = Mutex::<()>::create_new(&used_mutex).unwrap();
    let mut py_peer = py_spawn(
        python,
        "q = p.MessageQueue(args[0], p.O_CREX); s = p.Semaphore(args[1], p.O_CREX)
print('ready'); sys.stdin.read()",
        &[&used_py_mq, &used_py_sem],
    );
    assert_eq!(py_peer.line(), "ready");
    assert!(c(peer, &["sem-create", &used_c, "0"]).0);
    let mut c_waiter = ipc_tests::Peer::spawn({
        let mut cmd = std::process::Command::new(peer);
        cmd.args(["sem-wait", &used_c, "30"]);
        cmd
    });
    assert_eq!(c_waiter.line(), "waiting");

    let stale = [
        ("sem", &stale_sem),
        ("shm", &stale_shm),
        ("mq", &stale_mq),
        ("shm", &stale_py),
        ("sem", &stale_c),
        ("shm", &stale_mutex),
    ];
    let used = [
        ("shm", &used_shm),
        ("sem", &used_sem),
        ("shm", &used_mutex),
        ("mq", &used_py_mq),
        ("sem", &used_py_sem),
        ("sem", &used_c),
    ];
    let all_exist = |set: &[(&str, &Name)]| set.iter().all(|(k, n)| exists(k, n));

    let run = expect(0, &["gc", "--prefix", &p.0]);
    assert!(
        all_exist(&stale) && all_exist(&used),
        "the dry run removed something"
    );
    for (_, n) in stale {
        let line = run.stdout.lines().find(|l| l.contains(&**n)).unwrap();
        assert!(line.starts_with("would remove"), "{line}");
    }
    for (_, n) in used {
        let line = run.stdout.lines().find(|l| l.contains(&**n)).unwrap();
        assert!(
            line.starts_with("keep") && line.contains("open by pid"),
            "{line}"
        );
    }
    assert!(
        run.stdout.contains("6 of 12 objects would be removed"),
        "{}",
        run.stdout
    );

    expect(0, &["gc", "--prefix", &p.0, "--older-than", "1h", "--yes"]);
    assert!(
        all_exist(&stale) && all_exist(&used),
        "--older-than 1h removed a young object"
    );

    let run = expect(0, &["gc", "--prefix", &p.0, "--yes"]);
    for (k, n) in stale {
        assert!(
            !exists(k, n),
            "stale {k} {} was kept:\n{}",
            &**n,
            run.stdout
        );
    }
    assert!(
        all_exist(&used),
        "an object in use was removed:\n{}",
        run.stdout
    );
    // The holders still work.
    sem.release().unwrap();
    drop(mutex.lock().unwrap());
    assert_eq!(shm.size().unwrap(), 100);

    expect(0, &["gc", "--prefix", &p.0, "--yes", "--force"]);
    for (k, n) in used {
        assert!(!exists(k, n), "--force kept {k} {}", &**n);
    }
    drop(py_peer);
    drop(c_waiter);
}

/// rm with the kind inferred, and `--kind` when a name is two objects;
/// exit codes 0, 1 (not found), 2 (usage: ambiguous, invalid name, bad
/// arguments) and 3 (timeouts).
#[test]
fn rm_operations_and_exit_codes() {
    let p = Prefix::new("rm");
    let both = p.name("both", Kind::Semaphore);
    let _both_shm = Name::adopt(&both, Kind::SharedMemory);
    let q = p.name("q", Kind::MessageQueue);
    let s = p.name("s", Kind::Semaphore);
    let m = p.name("m", Kind::SharedMemory);

    expect(0, &["sem", "create", "--value", "0", &s]);
    expect(0, &["sem", "create", &both]);
    expect(
        0,
        &["shm", "write", "--create", "4KiB", "--data", "hi", &both],
    );
    expect(
        0,
        &[
            "mq",
            "create",
            "--max-messages",
            "2",
            "--max-message-size",
            "16",
            &q,
        ],
    );
    expect(
        0,
        &[
            "shm", "write", "--create", "1KiB", "--offset", "10", "--data", "payload", &m,
        ],
    );
    assert_eq!(
        expect(0, &["shm", "cat", "--offset", "10", "--length", "7", &m]).stdout,
        "payload"
    );
    assert_eq!(SharedMemory::open(&m).unwrap().size().unwrap(), 1024);

    // Timeouts are 3, and say what timed out.
    let started = Instant::now();
    let run = expect(3, &["sem", "wait", "--timeout", "200ms", &s]);
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(run.stderr.contains(&*s), "{}", run.stderr);
    expect(3, &["mq", "recv", "--timeout", "0", &q]);
    expect(0, &["mq", "send", &q, "1"]);
    expect(0, &["mq", "send", &q, "2"]);
    expect(3, &["mq", "send", "--timeout", "50ms", &q, "3"]);
    expect(0, &["sem", "post", &s]);
    expect(0, &["sem", "wait", "--timeout", "1s", &s]);
    assert_eq!(expect(0, &["sem", "value", &s]).stdout.trim(), "0");

    // Usage errors are 2.
    expect(2, &["sem", "wait", "--timeout", "soon", &s]);
    expect(2, &["frobnicate"]);
    expect(2, &["rm"]);
    expect(2, &["stat", "no-slash"]);
    expect(
        2,
        &[
            "shm",
            "write",
            "--data",
            "too long for it",
            "--offset",
            "1020",
            &m,
        ],
    );
    expect(0, &["--help"]);

    // rm: ambiguous, then by kind; missing is 1.
    let run = expect(2, &["rm", &both]);
    assert!(run.stderr.contains("--kind"), "{}", run.stderr);
    assert!(exists("sem", &both) && exists("shm", &both));
    expect(0, &["rm", "--kind", "sem", &both]);
    assert!(!exists("sem", &both) && exists("shm", &both));
    let run = expect(0, &["rm", &both, &q, &s, &m]);
    assert_eq!(run.stdout.lines().count(), 4, "{}", run.stdout);
    for (k, n) in [("shm", &both), ("mq", &q), ("sem", &s), ("shm", &m)] {
        assert!(!exists(k, n), "{k} {} survived rm", &**n);
    }
    let run = expect(1, &["rm", &s]);
    assert!(run.stderr.contains("ipcctl ls"), "{}", run.stderr);
    expect(1, &["sem", "value", &s]);
}

/// Permission denied says who owns the object and what to do.
#[test]
fn permission_denied_names_the_owner() {
    // Loudly, never a silent pass: the suite runs as root (it also drops
    // to `nobody` in ipc's reliability tests).
    assert!(
        my_uid() == 0 && std::path::Path::new("/usr/bin/setpriv").exists(),
        "this test needs root and setpriv (util-linux) to run ipcctl as another user"
    );
    let name = Name::sem("perm");
    let _sem = Semaphore::create_new(&name, 1).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_ipcctl"))
        .args(["sem", "value", &name])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("permission denied"), "{stderr}");
    assert!(stderr.contains("belongs to root"), "{stderr}");
}

/// Where the mqueue filesystem is not mounted, `ls` says so instead of
/// showing no queues (in a private mount namespace, so nothing else sees the
/// unmount).
#[test]
fn ls_says_when_queues_cannot_be_listed() {
    let mounted = std::fs::read_to_string("/proc/self/mounts")
        .unwrap()
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some("/dev/mqueue"));
    let run = if mounted {
        assert!(
            my_uid() == 0 && std::path::Path::new("/usr/bin/unshare").exists(),
            "this test needs root and unshare (util-linux) to hide /dev/mqueue"
        );
        let out = std::process::Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg("umount /dev/mqueue && exec \"$0\" ls --kind mq")
            .arg(env!("CARGO_BIN_EXE_ipcctl"))
            .output()
            .unwrap();
        common::Run::from(out)
    } else {
        ipcctl(&["ls", "--kind", "mq"])
    };
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("not mounted"), "{run:#?}");
    assert!(run.stderr.contains("mount -t mqueue"), "{run:#?}");
}

/// Two concurrent `ipcctl lock` runs never overlap: 4 shells each run 5
/// locked read-increment-write steps on one file, with a pause between the
/// read and the write; no update is lost and no section interleaves.
#[test]
fn lock_serialises_concurrent_shells() {
    let name = Name::shm("lock-shells");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("lock-shells.{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let counter = dir.join("counter");
    let log = dir.join("log");
    std::fs::write(&counter, "0").unwrap();
    std::fs::write(&log, "").unwrap();
    let script = r#"
for i in 1 2 3 4 5; do
  "$IPCCTL" lock "$NAME" --timeout 60s -- sh -c '
    echo "in $$" >> "$LOG"; n=$(cat "$COUNTER"); sleep 0.02
    echo $((n + 1)) > "$COUNTER"; echo "out $$" >> "$LOG"' || exit 1
done"#;
    let shells: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new("sh")
                .args(["-c", script])
                .env("IPCCTL", env!("CARGO_BIN_EXE_ipcctl"))
                .env("NAME", &*name)
                .env("COUNTER", &counter)
                .env("LOG", &log)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut shell in shells {
        assert!(shell.wait().unwrap().success());
    }
    assert_eq!(std::fs::read_to_string(&counter).unwrap().trim(), "20");
    let log = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 40);
    for pair in lines.chunks(2) {
        let (a, b) = (pair[0], pair[1]);
        assert!(
            a.starts_with("in ") && b == a.replace("in ", "out "),
            "sections interleaved:\n{log}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A SIGKILLed `ipcctl lock` holder does not wedge the lock: `stat` says the
/// holder is dead, and the next `ipcctl lock` proceeds at once.
#[test]
fn lock_after_a_killed_holder_proceeds() {
    let name = Name::shm("lock-killed");
    let mut holder = cmd(&["lock", &name, "--", "sh", "-c", "echo $$; exec sleep 60"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let sleeper = line.trim().to_owned();
    let typed = &stat(&name)[0]["typed"];
    assert_eq!(typed["lock"], "held");
    assert_eq!(typed["holder_pid"], holder.id());
    expect(3, &["lock", "--timeout", "100ms", &name, "--", "true"]);

    holder.kill().unwrap(); // SIGKILL: no chance to unlock
    holder.wait().unwrap();
    let _ = std::process::Command::new("kill").arg(&sleeper).status();
    assert!(
        wait_until(LONG, || stat(&name)[0]["typed"]["lock"] == "holder dead"),
        "{:#?}",
        stat(&name)
    );
    let started = Instant::now();
    let run = expect(0, &["lock", "--timeout", "5s", &name, "--", "echo", "next"]);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(run.stdout, "next\n");
    assert!(run.stderr.contains("died holding it"), "{}", run.stderr);
    assert_eq!(stat(&name)[0]["typed"]["lock"], "free");
}

/// `lock` exits with its command's status (127 when it does not exist),
/// forwards SIGTERM to the command and then releases the lock.
#[test]
fn lock_passes_status_and_forwards_signals() {
    let name = Name::shm("lock-status");
    expect(7, &["lock", &name, "--", "sh", "-c", "exit 7"]);
    expect(
        127,
        &["lock", &name, "--", "/nonexistent/ipcctl-test-command"],
    );
    expect(2, &["lock", &name]);

    let mut run = cmd(&[
        "lock",
        &name,
        "--",
        "sh",
        "-c",
        "trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.05; done",
    ])
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut out = BufReader::new(run.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = run.wait().unwrap().code();
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "got TERM\n");
    assert_eq!(code, Some(42));
    assert_eq!(stat(&name)[0]["typed"]["lock"], "free");
}

/// `--semaphore` takes a POSIX semaphore that posix_ipc takes too: while
/// Python holds it, `ipcctl lock --semaphore` times out with 3; once
/// released, it runs.
#[test]
fn lock_with_a_posix_ipc_semaphore() {
    let Some(python) = python() else { return };
    let name = Name::sem("lock-sem");
    let mut holder = py_spawn(
        python,
        "s = p.Semaphore(args[0], p.O_CREAT, initial_value=1); s.acquire()
print('held'); sys.stdin.read(); s.release()",
        &[&name],
    );
    assert_eq!(holder.line(), "held");
    let run = expect(
        3,
        &[
            "lock",
            "--semaphore",
            "--timeout",
            "200ms",
            &name,
            "--",
            "true",
        ],
    );
    assert!(run.stderr.contains("busy"), "{}", run.stderr);
    holder.finish();
    let run = expect(
        0,
        &[
            "lock",
            "--semaphore",
            "--timeout",
            "5s",
            &name,
            "--",
            "echo",
            "ok",
        ],
    );
    assert_eq!(run.stdout, "ok\n");
    assert_eq!(expect(0, &["sem", "value", &name]).stdout.trim(), "1");
}

/// Colours only on a terminal: none through a pipe, some under a pseudo
/// terminal (`script`), none there either with `NO_COLOR`.
#[test]
fn colours_only_on_a_terminal() {
    let name = Name::sem("colour");
    let _sem = Semaphore::create_new(&name, 1).unwrap();
    let bin = env!("CARGO_BIN_EXE_ipcctl");
    let piped = std::process::Command::new(bin)
        .args(["ls", "--prefix", &name])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let piped = String::from_utf8_lossy(&piped.stdout);
    assert!(
        piped.contains(&*name) && !piped.contains('\x1b'),
        "{piped:?}"
    );
    assert!(
        std::path::Path::new("/usr/bin/script").exists(),
        "this test needs script(1) (util-linux) to make a pseudo terminal"
    );
    let on_tty = |no_color: bool| {
        let mut cmd = std::process::Command::new("script");
        cmd.args([
            "-qec",
            &format!("{bin} ls --prefix {}", &*name),
            "/dev/null",
        ])
        .stdin(Stdio::null())
        .env_remove("NO_COLOR");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_tty(false);
    assert!(
        coloured.contains(&*name) && coloured.contains("\x1b[1m"),
        "{coloured:?}"
    );
    let plain = on_tty(true);
    assert!(
        plain.contains(&*name) && !plain.contains('\x1b'),
        "{plain:?}"
    );
}

/// `/dev/shm/<leaf>` of the name `/leaf`.
fn shm_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new("/dev/shm").join(&name[1..])
}

/// `/dev/shm/sem.<leaf>` of the name `/leaf`.
fn sem_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new("/dev/shm").join(format!("sem.{}", &name[1..]))
}

/// `ipcctl args`, at most [`QUICK`].
#[track_caller]
fn quick(args: &[&str]) -> Finished {
    run_within(cmd(args), QUICK)
}

/// A thread that truncates files to 0 and back to full size (writing a
/// few header bytes) until dropped, pass or fail.
struct Flipper {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flipper {
    fn start(files: Vec<(std::fs::File, u64)>) -> Flipper {
        use std::os::unix::fs::FileExt;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                for (file, size) in &files {
                    let _ = file.set_len(*size);
                    let _ = file.write_at(&[0x11; 64], 0);
                    let _ = file.set_len(0);
                }
            }
        });
        Flipper {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Flipper {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Audit: `ls` and `stat` mapped the files they read, and one that shrank
/// meanwhile killed them with SIGBUS. While a thread keeps truncating a
/// shared-memory file and a semaphore file between 0 and full size, 100
/// runs of each end by exiting, never by a signal.
#[test]
fn ls_and_stat_survive_files_that_shrink() {
    let p = Prefix::new("shrink");
    let name = p.name("x", Kind::SharedMemory);
    let _sem_name = Name::adopt(&name, Kind::Semaphore);
    drop(SharedMemory::create_new(&name, 8192).unwrap());
    let open = |path: std::path::PathBuf| {
        std::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .unwrap()
    };
    let _flipper = Flipper::start(vec![
        (open(shm_path(&name)), 8192),
        (open(sem_path(&name)), 4096),
    ]);
    for i in 0..100 {
        for args in [&["ls", "--prefix", &p.0][..], &["stat", &name][..]] {
            let run = quick(args);
            assert_eq!(
                run.signal(),
                None,
                "run {i}: ipcctl {args:?} was killed by signal {:?} while the files shrank: {run:#?}",
                run.signal()
            );
            assert_eq!(run.code(), Some(0), "run {i}: ipcctl {args:?}: {run:#?}");
        }
    }
}

/// Audit: a FIFO where an object's file goes hung `stat` and `shm cat` in
/// open(2). With one at `/dev/shm/<name>` and one at
/// `/dev/shm/sem.<name>`, `stat` says neither is an object and `shm cat`
/// fails (status 1), each within seconds; `ls` does not hang either.
#[test]
fn a_fifo_in_dev_shm_hangs_nothing() {
    let p = Prefix::new("fifo");
    let name = format!("{}f", p.0);
    let fifos = [Planted::new(shm_path(&name)), Planted::new(sem_path(&name))];
    for f in &fifos {
        let made = std::process::Command::new("mkfifo")
            .arg(f.path())
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo {}", f.path().display());
    }
    let limit = Duration::from_secs(5);
    let run = run_within(cmd(&["stat", &name]), limit);
    assert_eq!(run.code(), Some(0), "{run:#?}");
    assert!(
        run.stdout
            .contains("not a shared memory: the entry is a FIFO; left alone")
            && run
                .stdout
                .contains("not a semaphore: the entry is a FIFO; left alone"),
        "{run:#?}"
    );
    let run = run_within(cmd(&["shm", "cat", &name]), limit);
    assert_eq!(run.code(), Some(1), "{run:#?}");
    assert!(
        run.stderr
            .contains("not shared memory (not a regular file)"),
        "{run:#?}"
    );
    let run = run_within(cmd(&["ls", "--prefix", &p.0]), limit);
    assert_eq!(run.code(), Some(0), "{run:#?}");
}

/// Audit: `shm cat` read the whole object into one buffer, and a large
/// sparse one (1 TiB) aborted it ("memory allocation ... failed"); stdout
/// writes panicked when the reader had gone. `shm cat` of 1 TiB into a
/// reader that stops after 1000 bytes, and `ls` of 400 objects (more than
/// a pipe holds) into one that stops after 1000 bytes, both end with status
/// 141 (the broken pipe) and nothing on stderr.
#[test]
fn huge_objects_and_readers_that_go_away() {
    let p = Prefix::new("epipe");
    let huge = p.name("huge", Kind::SharedMemory);
    let shm = SharedMemory::create_new(&huge, 4096).unwrap();
    shm.resize(1 << 40).unwrap();
    drop(shm);
    let read_1000_then_close = |args: &[&str]| {
        let mut child = common::Reaped(
            cmd(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let mut first = vec![0u8; 1000];
        let got = std::io::Read::read_exact(&mut child.stdout.take().unwrap(), &mut first);
        // The reader goes away here: the read end is closed.
        let mut stderr = String::new();
        let err = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut err = err;
            let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
            stderr
        });
        let started = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                started.elapsed() < QUICK,
                "ipcctl {args:?} still runs {QUICK:?} after its reader went away"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        let stderr = reader.join().unwrap();
        assert!(
            got.is_ok(),
            "ipcctl {args:?} wrote under 1000 bytes: {status:?} {stderr}"
        );
        (status, stderr)
    };
    let args = ["shm", "cat", &*huge];
    let (status, stderr) = read_1000_then_close(&args);
    assert!(
        status.signal().is_none() && !stderr.contains("memory allocation"),
        "ipcctl {args:?}: {status:?}\n{stderr}"
    );
    assert_eq!(
        status.code(),
        Some(141),
        "ipcctl {args:?}: {status:?}\n{stderr}"
    );
    assert_eq!(stderr, "", "ipcctl {args:?}");

    // 400 lines of some 250 bytes: 100 KB, more than a pipe buffers.
    let leaf = "x".repeat(150);
    let many: Vec<Name> = (0..400)
        .map(|i| p.name(&format!("{leaf}{i:03}"), Kind::SharedMemory))
        .collect();
    for n in &many {
        drop(SharedMemory::create_new(n, 64).unwrap());
    }
    let args = ["ls", "--prefix", &p.0];
    let (status, stderr) = read_1000_then_close(&args);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "ipcctl {args:?}: {status:?}\n{stderr}"
    );
    assert_eq!(
        status.code(),
        Some(141),
        "ipcctl {args:?}: {status:?}\n{stderr}"
    );
}

/// Audit: `gc` in a child pid namespace (a container sharing /dev/shm)
/// saw none of the processes outside it and removed objects they had open.
/// With an object this process holds open: `unshare --pid --fork
/// --mount-proc ipcctl gc --yes` keeps it, saying processes outside the
/// namespace are not visible; `--private-shm` says the namespace has
/// /dev/shm to itself, and then a stale object is removed.
#[test]
fn gc_in_a_child_pid_namespace_keeps_objects() {
    let p = Prefix::new("pidns");
    let used = p.name("used", Kind::SharedMemory);
    let unused = p.name("unused", Kind::SharedMemory);
    let _held = SharedMemory::create_new(&used, 4096).unwrap();
    drop(SharedMemory::create_new(&unused, 4096).unwrap());
    let in_child_ns = |args: &[&str]| {
        unshared_sh(
            &["--pid", "--fork", "--mount-proc"],
            r#"exec "$0" "$@""#,
            args,
            QUICK,
        )
    };

    let run = in_child_ns(&["gc", "--prefix", &p.0, "--yes"]);
    assert_eq!(run.code(), Some(0), "{run:#?}");
    assert!(
        exists("shm", &used) && exists("shm", &unused),
        "gc in a child pid namespace removed an object:\n{run:#?}"
    );
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains(&*used))
        .unwrap_or("");
    assert!(
        line.starts_with("keep") && line.contains("outside this pid namespace"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("--private-shm"), "{run:#?}");

    // --private-shm: everything here looks stale, the held object too
    // (dry run) ...
    let run = in_child_ns(&["gc", "--prefix", &p.0, "--private-shm"]);
    assert_eq!(run.code(), Some(0), "{run:#?}");
    for n in [&used, &unused] {
        let line = run.stdout.lines().find(|l| l.contains(&**n)).unwrap_or("");
        assert!(line.starts_with("would remove"), "{}: {run:#?}", &**n);
    }
    // ... and is removed (only the unused one is offered).
    let run = in_child_ns(&["gc", "--prefix", &unused, "--private-shm", "--yes"]);
    assert_eq!(run.code(), Some(0), "{run:#?}");
    assert!(!exists("shm", &unused), "{run:#?}");
    assert!(exists("shm", &used), "{run:#?}");
}

/// Audit: maps lines were matched by the path text `/dev/shm/...`, so a
/// process that mapped an object through another path to the same tmpfs
/// (a bind mount) and closed the descriptor looked like no user at all.
/// In a private mount namespace with /dev/shm bound onto a temporary
/// directory, a Python process maps the object through that directory
/// (mmap(2) through ctypes: Python's mmap module keeps a duplicate
/// descriptor) and closes the descriptor: `gc --yes` keeps the object, open by that pid.
#[test]
fn gc_keeps_objects_mapped_through_a_bind_mount() {
    let p = Prefix::new("bind");
    let name = p.name("mapped", Kind::SharedMemory);
    drop(SharedMemory::create_new(&name, 4096).unwrap());
    let dir = Planted::new(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "bind-shm.{}.{}",
            std::process::id(),
            &p.0[1..p.0.len() - 1]
        )),
    );
    std::fs::create_dir_all(dir.path()).unwrap();
    let script = r#"
prefix=$1 dir=$2 leaf=$3
mount --bind /dev/shm "$dir" || exit 97
python3 -c '
import ctypes, mmap, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
fd = os.open(sys.argv[1], os.O_RDWR)
addr = libc.mmap(None, 4096, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
if addr in (None, ctypes.c_void_p(-1).value):
    sys.exit("mmap failed")
os.close(fd)
time.sleep(30)' "$dir/$leaf" &
m=$!
i=0
until grep -q "$dir/$leaf" /proc/$m/maps 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 300 ] && { echo "python never mapped $dir/$leaf" >&2; exit 98; }
  sleep 0.02
done
if ls -l /proc/$m/fd | grep -q "$leaf"; then echo "python kept a descriptor" >&2; exit 99; fi
"$0" gc --prefix "$prefix" --yes
rc=$?
kill $m; wait $m
umount "$dir"
exit $rc
"#;
    let run = unshared_sh(
        &["--mount", "--propagation", "private"],
        script,
        &[&p.0, &dir.path().to_string_lossy(), &name[1..]],
        Duration::from_secs(20),
    );
    assert_eq!(run.code(), Some(0), "{run:#?}");
    assert!(
        exists("shm", &name),
        "gc removed an object a live process maps through a bind mount:\n{run:#?}"
    );
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains(&*name))
        .unwrap_or("");
    assert!(
        line.starts_with("keep") && line.contains("open by pid"),
        "{run:#?}"
    );
}

/// Audit: `gc --yes` judged an object, then unlinked its *name*: one
/// removed and made again meanwhile (in use, never judged) went too. The
/// window is held open with strace: the first unlink (of `a`, stale) is
/// delayed on its way out; meanwhile `b`, judged stale too, is removed and
/// made again, and held open. gc keeps the new `b`, saying it was replaced.
#[test]
fn gc_keeps_an_object_replaced_after_it_was_judged() {
    let p = Prefix::new("replaced");
    let a = p.name("a", Kind::SharedMemory);
    let b = p.name("b", Kind::SharedMemory);
    drop(SharedMemory::create_new(&a, 4096).unwrap());
    drop(SharedMemory::create_new(&b, 4096).unwrap());
    let strace = std::process::Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .status();
    assert!(
        strace.is_ok_and(|s| s.success()),
        "this test needs strace (to hold gc between judging and unlinking); install it"
    );
    let mut gc = std::process::Command::new("strace");
    gc.args([
        "-f",
        "-qq",
        "-o",
        "/dev/null",
        "-e",
        "trace=unlink,unlinkat",
        "-e",
        "inject=unlink,unlinkat:delay_exit=1500000:when=1",
        bin(),
        "gc",
        "--prefix",
        &p.0,
        "--yes",
    ])
    .stdin(Stdio::null())
    .env("NO_COLOR", "1");
    let gc = std::thread::spawn(move || run_within(gc, Duration::from_secs(20)));
    // `a` gone: gc is in the delayed unlink, `b` judged and not yet removed.
    let a_gone = wait_until(Duration::from_secs(15), || !exists("shm", &a));
    let new_b = a_gone.then(|| {
        ipc::unlink_shared_memory(&b).unwrap();
        SharedMemory::create_new(&b, 4096).unwrap()
    });
    let run = gc.join().unwrap();
    assert!(a_gone, "gc never removed the stale object: {run:#?}");
    assert_eq!(run.code(), Some(0), "{run:#?}");
    assert!(
        exists("shm", &b),
        "gc removed an object made after it was judged:\n{run:#?}"
    );
    let line = run.stdout.lines().find(|l| l.contains(&*b)).unwrap_or("");
    assert!(
        line.starts_with("keep") && line.contains("replaced by a new object"),
        "{run:#?}"
    );
    assert_eq!(new_b.unwrap().size().unwrap(), 4096);
}

/// Audit: names were printed as they are, so one holding a newline could
/// fake a line of output (`keep ...`) and one holding ESC could send the
/// terminal escape sequences. Files made directly in /dev/shm with such
/// names: `ls` and `gc` print them escaped (`\n`, `\u{1b}`), and no control
/// character but the line ends reaches stdout or stderr.
#[test]
fn control_characters_in_names_are_escaped() {
    let p = Prefix::new("ctl");
    let fake = format!("{}nl\nkeep          shm fake (age 9d): open by pid 1", p.0);
    let esc = format!("{}esc\x1b[31mRED\x1b[0m", p.0);
    let _files: Vec<Planted> = [&fake, &esc]
        .into_iter()
        .map(|n| {
            let f = Planted::new(shm_path(n));
            std::fs::write(f.path(), b"x").unwrap();
            f
        })
        .collect();
    let clean = |text: &str| !text.chars().any(|c| c.is_control() && c != '\n');
    for args in [&["ls", "--prefix", &p.0][..], &["gc", "--prefix", &p.0][..]] {
        let run = quick(args);
        assert_eq!(run.code(), Some(0), "ipcctl {args:?}: {run:#?}");
        assert!(
            run.stdout.contains("nl\\nkeep          shm fake"),
            "ipcctl {args:?}: {run:#?}"
        );
        assert!(
            run.stdout.contains("esc\\u{1b}[31mRED\\u{1b}[0m"),
            "ipcctl {args:?}: {run:#?}"
        );
        assert!(
            !run.stdout
                .lines()
                .any(|l| l.starts_with("keep          shm fake")),
            "ipcctl {args:?} printed a faked line: {run:#?}"
        );
        assert!(
            clean(&run.stdout) && clean(&run.stderr),
            "ipcctl {args:?} printed a control character: {run:#?}"
        );
    }
}

/// Audit: without the mqueue filesystem a queue's owner, mode and age
/// cannot be known, yet `stat --json` gave uid 0, mode "" and ctime 0 (the
/// epoch: an age of decades). With /dev/mqueue unmounted (in a private
/// mount namespace), the queue's JSON has none of those fields, and says
/// why in a note.
#[test]
fn stat_of_a_queue_without_dev_mqueue_has_no_made_up_metadata() {
    let name = Name::mq("unmounted");
    let q = MessageQueue::create_new(&name).unwrap();
    q.send(b"one", 0).unwrap();
    let mounted = std::fs::read_to_string("/proc/self/mounts")
        .unwrap()
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some("/dev/mqueue"));
    let run = if mounted {
        unshared_sh(
            &["--mount", "--propagation", "private"],
            r#"umount /dev/mqueue || exit 97; exec "$0" stat --json "$1""#,
            &[&name],
            QUICK,
        )
    } else {
        quick(&["stat", "--json", &name])
    };
    assert_eq!(run.code(), Some(0), "{run:#?}");
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("stat prints JSON");
    let objects = doc["objects"].as_array().expect("objects");
    let q = find(objects, "mq", &name);
    for field in ["uid", "owner", "mode", "ctime", "age_seconds"] {
        assert!(q.get(field).is_none(), "{field} made up: {q:#}");
    }
    assert_eq!(q["depth"], 1, "{q:#}");
    assert!(q["notes"].to_string().contains("not mounted"), "{q:#}");
}

/// Audit: `ls` exited 0 with "(no objects)" when /dev/shm could not be
/// read, and `sem.`, `sem..` (files no name opens or removes) made
/// `gc --yes` fail with status 2. As nobody, with /dev/shm a private tmpfs
/// of mode 0700: `ls` exits 1, saying it cannot list /dev/shm. In a
/// private tmpfs holding `sem.`, `sem..` and one stale semaphore: `ls`
/// skips the two with a note, and `gc --yes` removes the semaphore, leaves
/// the two alone and exits 0.
#[test]
fn ls_fails_when_dev_shm_is_unreadable_and_odd_files_are_skipped() {
    let as_nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups";
    for json in [false, true] {
        let script = format!(
            r#"mount -t tmpfs -o mode=0700 none /dev/shm || exit 97
exec {as_nobody} "$0" ls {} --prefix "$1""#,
            if json { "--json" } else { "" }
        );
        let p = Prefix::new("unreadable");
        let run = unshared_sh(
            &["--mount", "--propagation", "private"],
            &script,
            &[&p.0],
            QUICK,
        );
        assert_eq!(
            run.code(),
            Some(1),
            "ls (json: {json}) of an unreadable /dev/shm: {run:#?}"
        );
        // The reason: a note on stderr, or a warning in the JSON.
        let said = if json { &run.stdout } else { &run.stderr };
        assert!(said.contains("cannot list /dev/shm"), "{run:#?}");
    }

    let stale = format!("ipcctl-test.{}.stale", std::process::id());
    let setup = format!(
        r#"mount -t tmpfs none /dev/shm || exit 97
cd /dev/shm || exit 97
for f in sem. sem.. sem.{stale}; do head -c 32 /dev/zero > "$f"; done
"#
    );
    let private = ["--mount", "--propagation", "private"];
    let run = unshared_sh(
        &private,
        &format!(r#"{setup}exec "$0" ls --kind sem"#),
        &[],
        QUICK,
    );
    assert_eq!(run.code(), Some(0), "{run:#?}");
    for f in ["/dev/shm/sem.:", "/dev/shm/sem..:"] {
        assert!(
            run.stderr.lines().any(|l| l.contains(f)
                && l.contains("not a semaphore any program can name")
                && l.ends_with("skipped")),
            "no note on {f}: {run:#?}"
        );
    }
    assert!(run.stdout.contains(&format!("/{stale}")), "{run:#?}");
    // Only semaphores: the queues are not this private tmpfs's.
    let run = unshared_sh(
        &private,
        &format!(
            r#"{setup}"$0" gc --kind sem --yes
rc=$?
echo "left: $(ls -A /dev/shm | tr '\n' ' ')" >&2
exit $rc"#
        ),
        &[],
        QUICK,
    );
    assert_eq!(run.code(), Some(0), "{run:#?}");
    assert!(
        run.stdout.contains("1 removed of 1 objects checked"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("left: sem. sem.. \n"), "{run:#?}");
}

/// Audit: `stat` followed a symbolic link at an object's path (showing
/// the target's mode and size) and read a directory as shared memory. With
/// a link to a 100-byte file and a directory planted in /dev/shm, `stat`
/// says each is not shared memory and is left alone, and shows the link's
/// own mode (0777) and no size.
#[test]
fn stat_of_a_symlink_or_directory_says_it_is_not_an_object() {
    let p = Prefix::new("notobj");
    let target = Planted::new(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("symlink-target.{}", &p.0[1..p.0.len() - 1])),
    );
    std::fs::write(target.path(), [7u8; 100]).unwrap();
    let link_name = format!("{}link", p.0);
    let link = Planted::new(shm_path(&link_name));
    std::os::unix::fs::symlink(target.path(), link.path()).unwrap();
    let dir_name = format!("{}dir", p.0);
    let dir = Planted::new(shm_path(&dir_name));
    std::fs::create_dir(dir.path()).unwrap();

    for (name, what) in [(&link_name, "a symbolic link"), (&dir_name, "a directory")] {
        let run = quick(&["stat", "--json", name]);
        assert_eq!(run.code(), Some(0), "{run:#?}");
        let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
        let objects = doc["objects"].as_array().expect("objects");
        assert_eq!(objects.len(), 1, "{objects:#?}");
        let o = find(objects, "shm", name);
        assert_eq!(
            o["notes"],
            serde_json::json!([format!(
                "not a shared memory: the entry is {what}; left alone"
            )]),
            "{o:#}"
        );
        assert!(o.get("size").is_none(), "{o:#}");
        let run = quick(&["stat", name]);
        assert!(
            run.stdout.contains(&format!(
                "note:             not a shared memory: the entry is {what}"
            )),
            "{run:#?}"
        );
    }
    let o = &stat(&link_name)[0];
    assert_eq!(o["mode"], "0777", "the link was followed: {o:#}");
    assert_eq!(std::fs::read(target.path()).unwrap(), [7u8; 100]);
}

/// Audit: with /proc mounted `hidepid=invisible`, other users' processes
/// are not listed at all, and `gc --strict` as an unprivileged user
/// removed a semaphore a root process was waiting on ("no live process has
/// it open"). In a private mount namespace (private tmpfs on /dev/shm, a
/// hidepid proc on /proc), root waits on a mode-666 semaphore; as nobody,
/// `gc --strict --yes` keeps it, saying hidepid hides processes.
#[test]
fn gc_strict_under_hidepid_keeps_objects() {
    let p = Prefix::new("hidepid");
    let name = format!("{}s", p.0);
    let script = r#"
prefix=$1 name=$2 leaf=$3
nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
mount -t tmpfs -o mode=1777 none /dev/shm || exit 97
$nobody "$0" sem create --value 0 --mode 666 "$name" || exit 97
"$0" sem wait --timeout 20s "$name" &
w=$!
i=0
until grep -q "sem.$leaf" /proc/$w/maps 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 300 ] && { echo "the waiter never opened $name" >&2; exit 98; }
  sleep 0.02
done
mount -t proc -o hidepid=invisible proc /proc || exit 97
$nobody "$0" gc --prefix "$prefix" --strict --yes
rc=$?
[ -e "/dev/shm/sem.$leaf" ] && echo "still there" >&2
kill $w
exit $rc
"#;
    let run = unshared_sh(
        &["--mount", "--propagation", "private"],
        script,
        &[&p.0, &name, &name[1..]],
        QUICK,
    );
    assert_eq!(run.code(), Some(0), "{run:#?}");
    assert!(
        run.stderr.contains("still there"),
        "gc --strict under hidepid removed a semaphore root waits on:\n{run:#?}"
    );
    let line = run.stdout.lines().find(|l| l.contains(&name)).unwrap_or("");
    assert!(
        line.starts_with("keep") && line.contains("hidden by /proc's hidepid"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("hidepid"), "{run:#?}");
}

/// A reader of stderr that went away: the message is lost, the exit status
/// stays the command's (`eprintln!` used to panic: status 101).
#[test]
fn a_closed_stderr_changes_no_exit_status() {
    let missing = format!("/ipc-test.{}.no-such-object", std::process::id());
    for _ in 0..5 {
        let mut child = cmd(&["rm", &missing])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the only read end before ipcctl gets to write its error.
        drop(child.stderr.take());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(1), "{status:?}");
    }
}
