//! Two real processes sharing named semaphores: this binary re-runs itself in
//! a child role (chosen by `IPC_TEST_ROLE`), so parent and child are separate
//! processes with separate handles, as in production.

mod common;

use std::process::{Child, Command, ExitCode};
use std::time::Duration;

use common::Name;
use ipc::{ErrorKind, Semaphore};

const ROUNDS: u32 = 2_000;

fn main() -> ExitCode {
    if let Ok(role) = std::env::var("IPC_TEST_ROLE") {
        let args: Vec<String> = std::env::args().skip(1).collect();
        match role.as_str() {
            "ping-pong" => child_ping_pong(&args[0], &args[1]),
            "holder" => child_holder(&args[0], &args[1]),
            other => panic!("unknown role {other}"),
        }
        return ExitCode::SUCCESS;
    }
    let tests: [(&str, fn()); 2] = [
        ("ping_pong_between_processes", ping_pong_between_processes),
        ("lock_held_by_another_process", lock_held_by_another_process),
    ];
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
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn spawn(role: &str, args: &[&str]) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .env("IPC_TEST_ROLE", role)
        .args(args)
        .spawn()
        .unwrap()
}

fn wait_ok(mut child: Child) {
    let status = child.wait().unwrap();
    assert!(status.success(), "child failed: {status}");
}

/// The token goes parent → child → parent ROUNDS times through two
/// semaphores; both end at 0 and the child exits cleanly.
fn ping_pong_between_processes() {
    let (ping_name, pong_name) = (Name::sem("ping"), Name::sem("pong"));
    let ping = Semaphore::create_new(&ping_name, 0).unwrap();
    let pong = Semaphore::create_new(&pong_name, 0).unwrap();
    let child = spawn("ping-pong", &[&ping_name, &pong_name]);
    for _ in 0..ROUNDS {
        ping.release().unwrap();
        pong.acquire_timeout(Duration::from_secs(30)).unwrap();
    }
    wait_ok(child);
    assert_eq!(ping.value().unwrap(), 0);
    assert_eq!(pong.value().unwrap(), 0);
}

fn child_ping_pong(ping: &str, pong: &str) {
    let ping = Semaphore::open(ping).unwrap();
    let pong = Semaphore::open(pong).unwrap();
    for _ in 0..ROUNDS {
        ping.acquire_timeout(Duration::from_secs(30)).unwrap();
        pong.release().unwrap();
    }
}

/// A lock taken by the child is Busy for the parent until the child lets go;
/// then the parent's blocked acquire returns.
fn lock_held_by_another_process() {
    let (lock_name, ready_name) = (Name::sem("lock"), Name::sem("ready"));
    let lock = Semaphore::create_new(&lock_name, 1).unwrap();
    let ready = Semaphore::create_new(&ready_name, 0).unwrap();
    let child = spawn("holder", &[&lock_name, &ready_name]);
    ready.acquire_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(lock.try_lock().unwrap_err().kind(), ErrorKind::Busy);
    let err = lock.lock_timeout(Duration::from_millis(50)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    // The child releases after 200 ms; this wait outlasts it.
    let guard = lock.lock_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(lock.value().unwrap(), 0);
    drop(guard);
    wait_ok(child);
    assert_eq!(lock.value().unwrap(), 1);
}

fn child_holder(lock: &str, ready: &str) {
    let lock = Semaphore::open(lock).unwrap();
    let ready = Semaphore::open(ready).unwrap();
    let guard = lock.lock().unwrap();
    ready.release().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    drop(guard);
}
