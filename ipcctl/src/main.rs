//! `ipcctl`: see, inspect and clean up POSIX semaphores, shared memory and
//! message queues from the shell, and run commands under a crash-safe lock.
//!
//! Exit codes: 0 ok, 1 error, 2 usage, 3 timeout or busy; `lock` exits with
//! its command's status.

mod gc;
mod lock;
mod objects;
mod ops;
mod procs;
mod show;
mod units;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::objects::Kind;

const AFTER_HELP: &str = "\
Exit codes: 0 ok, 1 error, 2 usage, 3 timeout or busy (a wait timed out, a lock is held);
`ipcctl lock` exits with its command's status (126/127 when it cannot be run).
Durations: 250ms, 5s, 10m, 1h. Sizes: 4096, 4KiB, 1MiB.
Objects live in /dev/shm (semaphores as sem.NAME) and /dev/mqueue.";

/// See, inspect and clean up POSIX IPC objects (semaphores, shared memory,
/// message queues).
#[derive(Parser)]
#[command(name = "ipcctl", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List objects: kind, name, owner, mode, size, value or depth, age,
    /// and for ipc's typed objects their type and lock holder.
    Ls(LsArgs),
    /// Show everything about one name (every kind it exists as).
    Stat {
        /// The object's name, `/something`.
        name: String,
        /// Only this kind.
        #[arg(long, value_enum)]
        kind: Option<Kind>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Remove (unlink) objects by name.
    Rm {
        /// Names, `/something`.
        #[arg(required = true)]
        names: Vec<String>,
        /// The kind, when a name exists as more than one.
        #[arg(long, value_enum)]
        kind: Option<Kind>,
    },
    /// Remove stale objects: those no live process has open. A dry run
    /// unless --yes.
    Gc(gc::GcArgs),
    /// Named semaphores.
    #[command(subcommand)]
    Sem(ops::SemCommand),
    /// Message queues.
    #[command(subcommand)]
    Mq(ops::MqCommand),
    /// Shared memory.
    #[command(subcommand)]
    Shm(ops::ShmCommand),
    /// Run a command under a named crash-safe lock (an ipc::Mutex), like
    /// flock(1).
    Lock(lock::LockArgs),
}

/// Which kinds `ls` lists.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KindFilter {
    Sem,
    Shm,
    Mq,
    All,
}

#[derive(Args)]
struct LsArgs {
    /// Only this kind.
    #[arg(long, value_enum, default_value = "all")]
    kind: KindFilter,
    /// Only names starting with this, e.g. `/app`.
    #[arg(long)]
    prefix: Option<String>,
    /// JSON for scripts instead of a table.
    #[arg(long)]
    json: bool,
}

/// A command's failure: the message and the exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) const ERROR: u8 = 1;
    pub(crate) const USAGE: u8 = 2;
    pub(crate) const BUSY: u8 = 3;

    pub(crate) fn error(message: impl Into<String>) -> Failure {
        Failure {
            code: Failure::ERROR,
            message: message.into(),
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: Failure::USAGE,
            message: message.into(),
        }
    }

    pub(crate) fn busy(message: impl Into<String>) -> Failure {
        Failure {
            code: Failure::BUSY,
            message: message.into(),
        }
    }

    /// An `ipc` error on the object `name` of `kind`, with what to do.
    pub(crate) fn ipc(err: &ipc::Error, kind: Kind, name: &str) -> Failure {
        use ipc::ErrorKind as K;
        match err.kind() {
            K::PermissionDenied => Failure::error(format!(
                "{err}\n  {} belongs to {}; run as that user or root (sudo)",
                kind.path(name).display(),
                owner_of(kind, name)
            )),
            K::NotFound => Failure::error(format!(
                "{err}\n  no {} named {name}; `ipcctl ls` lists them",
                kind.long()
            )),
            K::Busy => Failure::busy(err.to_string()),
            K::InvalidName => Failure::usage(err.to_string()),
            _ => Failure::error(err.to_string()),
        }
    }
}

/// `alice (uid 1000), mode 0600`, or what is known.
pub(crate) fn owner_of(kind: Kind, name: &str) -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(kind.path(name)) {
        Ok(m) => format!(
            "{} (uid {}, mode {:04o})",
            objects::user_name(m.uid()),
            m.uid(),
            m.mode() & 0o7777
        ),
        Err(_) => "another user".into(),
    }
}

/// A duration argument: `5s`, `250ms`.
pub(crate) fn duration(s: &str) -> Result<Duration, String> {
    units::parse_duration(s)
}

/// A size argument: `4KiB`.
pub(crate) fn size(s: &str) -> Result<u64, String> {
    units::parse_size(s)
}

/// A mode argument in octal: `600`, `0o600`, `0600`.
pub(crate) fn mode(s: &str) -> Result<u32, String> {
    let digits = s.trim_start_matches("0o");
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("`{s}` is not a mode; write it in octal, like 600 or 0o640"))
}

fn ls(args: &LsArgs) -> Result<(), Failure> {
    let kinds: Vec<Kind> = match args.kind {
        KindFilter::Sem => vec![Kind::Sem],
        KindFilter::Shm => vec![Kind::Shm],
        KindFilter::Mq => vec![Kind::Mq],
        KindFilter::All => Kind::ALL.to_vec(),
    };
    let listing = objects::list(&kinds, args.prefix.as_deref());
    if args.json {
        show::json(&listing.objects, &listing.warnings);
    } else {
        show::table(&listing.objects, &listing.warnings);
    }
    incomplete(&listing)
}

/// Fails (status 1, the reason already in the notes) when a directory of
/// objects could not be read: "(no objects)" must not pass for an answer.
pub(crate) fn incomplete(listing: &objects::Listing) -> Result<(), Failure> {
    if listing.complete {
        Ok(())
    } else {
        Err(Failure::error(String::new()))
    }
}

fn stat(name: &str, kind: Option<Kind>, json: bool) -> Result<(), Failure> {
    check_name(name)?;
    let kinds = match kind {
        Some(k) => vec![k],
        None => objects::kinds_of(name),
    };
    let found: Vec<_> = kinds
        .iter()
        .filter_map(|k| objects::describe(*k, name))
        .collect();
    if found.is_empty() {
        return Err(Failure::error(format!(
            "no object named {name}{}; `ipcctl ls` lists them",
            kind.map(|k| format!(" of kind {}", k.long()))
                .unwrap_or_default()
        )));
    }
    if json {
        let doc = serde_json::json!({ "objects": found });
        show::outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        for (i, o) in found.iter().enumerate() {
            if i > 0 {
                show::outln!();
            }
            show::stat(o);
        }
    }
    Ok(())
}

/// Rejects names that no object can have, as a usage error.
pub(crate) fn check_name(name: &str) -> Result<(), Failure> {
    ipc::name::check(name, ipc::name::Kind::SharedMemory)
        .map_err(|e| Failure::usage(format!("invalid name `{name}`: {e}")))
}

fn rm(names: &[String], kind: Option<Kind>) -> Result<(), Failure> {
    let mut worst: Option<Failure> = None;
    for name in names {
        let result = check_name(name).and_then(|()| rm_one(name, kind));
        match result {
            Ok(k) => show::outln!("removed {} {}", k.long(), show::printable(name)),
            Err(f) => {
                crate::show::errln!("ipcctl: {}", f.message);
                if worst.as_ref().is_none_or(|w| f.code > w.code) {
                    worst = Some(f);
                }
            }
        }
    }
    match worst {
        Some(f) => Err(Failure {
            code: f.code,
            message: String::new(),
        }),
        None => Ok(()),
    }
}

fn rm_one(name: &str, kind: Option<Kind>) -> Result<Kind, Failure> {
    let kind = match kind {
        Some(k) => k,
        None => match objects::kinds_of(name).as_slice() {
            [] => {
                return Err(Failure::error(format!(
                    "no object named {name}; `ipcctl ls` lists them"
                )));
            }
            [k] => *k,
            several => {
                let list: Vec<_> = several.iter().map(|k| k.long()).collect();
                return Err(Failure::usage(format!(
                    "{name} exists as {}; say which with --kind {}",
                    list.join(" and "),
                    several
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join("|")
                )));
            }
        },
    };
    unlink(kind, name).map_err(|e| rm_failure(&e, kind, name))?;
    Ok(kind)
}

/// Unlinks `name` of `kind`.
pub(crate) fn unlink(kind: Kind, name: &str) -> ipc::Result<()> {
    match kind {
        Kind::Sem => ipc::unlink_semaphore(name),
        Kind::Shm => ipc::unlink_shared_memory(name),
        Kind::Mq => ipc::unlink_message_queue(name),
    }
}

/// An unlink's failure: permission comes from /dev/shm's sticky bit.
pub(crate) fn rm_failure(err: &ipc::Error, kind: Kind, name: &str) -> Failure {
    if err.kind() == ipc::ErrorKind::PermissionDenied {
        return Failure::error(format!(
            "{err}\n  {} belongs to {}: only that user or root may remove it \
             (its directory is sticky); run as that user or with sudo",
            kind.path(name).display(),
            owner_of(kind, name)
        ));
    }
    Failure::ipc(err, kind, name)
}

fn run(cli: Cli) -> Result<u8, Failure> {
    match cli.command {
        Command::Ls(args) => ls(&args).map(|()| 0),
        Command::Stat { name, kind, json } => stat(&name, kind, json).map(|()| 0),
        Command::Rm { names, kind } => rm(&names, kind).map(|()| 0),
        Command::Gc(args) => gc::run(&args).map(|()| 0),
        Command::Sem(c) => ops::sem(c).map(|()| 0),
        Command::Mq(c) => ops::mq(c).map(|()| 0),
        Command::Shm(c) => ops::shm(c).map(|()| 0),
        Command::Lock(args) => lock::run(&args),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Usage errors exit 2, --help and --version 0.
        Err(e) => e.exit(),
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            if !f.message.is_empty() {
                let style = show::Style::stderr();
                crate::show::errln!("{} {}", style.red("ipcctl:"), f.message);
            }
            ExitCode::from(f.code)
        }
    }
}
