//! `lock NAME -- CMD ARGS…`: run a command under a named lock, like flock(1).
//!
//! The lock is an `ipc::Mutex<()>` (a robust pthread mutex in the
//! shared-memory object NAME): when ipcctl dies holding it, even by
//! SIGKILL, the kernel releases it and the next `ipcctl lock` proceeds.
//! `--semaphore` uses a POSIX semaphore (initial value 1) instead, which
//! posix_ipc and C programs can take too; a semaphore has no owner, so a
//! SIGKILLed holder leaves it taken.

use std::process::{Command, ExitStatus};
use std::time::Duration;

use clap::Args;
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::SignalsInfo;
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::low_level::siginfo::Cause;

use crate::objects::Kind;
use crate::{Failure, duration, mode};

#[derive(Args)]
pub(crate) struct LockArgs {
    /// The lock's name, `/something`.
    name: String,
    /// Give up after this long if another holder keeps it (exit 3).
    #[arg(long, value_parser = duration)]
    timeout: Option<Duration>,
    /// Use a POSIX semaphore (posix_ipc-compatible) instead of a crash-safe
    /// mutex.
    #[arg(long)]
    semaphore: bool,
    /// Permission bits of a lock this call creates, octal.
    #[arg(long, value_parser = mode, default_value = "600")]
    mode: u32,
    /// The command and its arguments, after `--`.
    #[arg(required = true, last = true)]
    command: Vec<String>,
}

/// Waits for the lock, runs the command, releases the lock, and returns the
/// command's exit code.
pub(crate) fn run(args: &LockArgs) -> Result<u8, Failure> {
    crate::check_name(&args.name)?;
    if args.semaphore {
        let sem = ipc::Semaphore::options()
            .create(true)
            .initial_value(1)
            .mode(args.mode)
            .open(&args.name)
            .map_err(|e| Failure::ipc(&e, Kind::Sem, &args.name))?;
        let guard = match args.timeout {
            Some(t) => sem.lock_timeout(t),
            None => sem.lock(),
        }
        .map_err(|e| busy(&e, args, Kind::Sem))?;
        let code = run_command(&args.command);
        drop(guard);
        code
    } else {
        let mutex = ipc::Mutex::<()>::options()
            .create(true)
            .mode(args.mode)
            .open(&args.name)
            .map_err(|e| Failure::ipc(&e, Kind::Shm, &args.name))?;
        let guard = match args.timeout {
            Some(t) => mutex.lock_timeout(t),
            None => mutex.lock(),
        }
        .map_err(|e| busy(&e, args, Kind::Shm))?;
        if guard.recovered() {
            crate::show::errln!(
                "ipcctl: the previous holder of {} died holding it; the lock was recovered",
                args.name
            );
        }
        let code = run_command(&args.command);
        drop(guard);
        code
    }
}

/// The failure for a lock that could not be had: who holds it, if known.
fn busy(err: &ipc::Error, args: &LockArgs, kind: Kind) -> Failure {
    if err.kind() != ipc::ErrorKind::Busy {
        return Failure::ipc(err, kind, &args.name);
    }
    let holder = (kind == Kind::Shm)
        .then(|| crate::objects::describe(Kind::Shm, &args.name))
        .flatten()
        .and_then(|o| o.typed)
        .and_then(|t| t.holder())
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    Failure::busy(format!(
        "lock {} is busy{holder}: gave up after {:?}",
        args.name,
        args.timeout.unwrap_or_default()
    ))
}

/// Runs `command`, forwarding SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to
/// ipcctl by another process (a terminal's Ctrl-C already reaches the whole
/// foreground process group, the command included, so it is not sent twice).
fn run_command(command: &[String]) -> Result<u8, Failure> {
    let (program, rest) = command
        .split_first()
        .ok_or_else(|| Failure::usage("no command given after `--`"))?;
    let mut signals = SignalsInfo::<WithOrigin>::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
        .map_err(|e| Failure::error(format!("cannot handle signals: {e}")))?;
    let handle = signals.handle();
    let mut child = match Command::new(program).args(rest).spawn() {
        Ok(child) => child,
        Err(e) => {
            handle.close();
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            return Err(Failure {
                code,
                message: format!("cannot run `{program}`: {e}"),
            });
        }
    };
    let pid = rustix::process::Pid::from_child(&child);
    let forwarder = std::thread::spawn(move || {
        for origin in signals.forever() {
            if matches!(origin.cause, Cause::Kernel) {
                continue;
            }
            if let Some(sig) = rustix::process::Signal::from_named_raw(origin.signal) {
                let _ = rustix::process::kill_process(pid, sig);
            }
        }
    });
    // Wait for the exit without reaping, so the pid cannot be reused while
    // the forwarder may still signal it; then stop forwarding, then reap.
    let waited = loop {
        match rustix::process::waitid(
            rustix::process::WaitId::Pid(pid),
            rustix::process::WaitIdOptions::EXITED | rustix::process::WaitIdOptions::NOWAIT,
        ) {
            Err(rustix::io::Errno::INTR) => {}
            other => break other,
        }
    };
    handle.close();
    let _ = forwarder.join();
    let status = match waited {
        Ok(_) => child.wait(),
        Err(e) => Err(e.into()),
    };
    let status = status.map_err(|e| Failure::error(format!("waiting for `{program}`: {e}")))?;
    Ok(exit_code(status))
}

/// A shell's view of an exit status: the code, or 128 + the signal.
fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(sig)) => 128u8.saturating_add(sig as u8),
        _ => 1,
    }
}
