//! `gc`: remove the objects no live process has open, after a dry run.

use std::time::Duration;

use clap::Args;

use crate::objects::{self, Kind, Object};
use crate::procs::Users;
use crate::show::Style;
use crate::units::format_age;
use crate::{Failure, duration};

#[derive(Args)]
pub(crate) struct GcArgs {
    /// Only names starting with this, e.g. `/app`.
    #[arg(long)]
    prefix: Option<String>,
    /// Only objects whose ctime is at least this old (1h, 30m).
    #[arg(long, value_parser = duration)]
    older_than: Option<Duration>,
    /// Only this kind.
    #[arg(long, value_enum)]
    kind: Option<Kind>,
    /// Remove them; without it, only say what would be removed.
    #[arg(long)]
    yes: bool,
    /// Also remove objects that live processes have open, or that cannot be
    /// checked. Those processes keep using the old object; a process that
    /// opens the name later gets a new one.
    #[arg(long)]
    force: bool,
    /// Keep every object when some process's descriptors or maps cannot be
    /// read (other users' processes, when not root): by default those
    /// processes are named in a note and the others decide.
    #[arg(long)]
    strict: bool,
}

/// Why an object is kept or removed.
enum Verdict {
    /// No live process has it open: stale.
    Stale,
    /// These processes have it open.
    InUse(Vec<u32>),
    /// Some processes could not be checked.
    Unknown(usize),
}

pub(crate) fn run(args: &GcArgs) -> Result<(), Failure> {
    let kinds = args.kind.map_or_else(|| Kind::ALL.to_vec(), |k| vec![k]);
    let (list, warnings) = objects::list(&kinds, args.prefix.as_deref());
    let candidates: Vec<Object> = list
        .into_iter()
        .filter(|o| args.older_than.is_none_or(|d| o.age_seconds >= d.as_secs()))
        .collect();
    let users = Users::scan();
    let style = Style::stdout();
    let mut remove = 0usize;
    let mut removed = 0usize;
    let mut failed: Option<Failure> = None;
    for o in &candidates {
        let pids = users.of(o.dev, o.ino, o.kind != Kind::Mq);
        let verdict = if !pids.is_empty() {
            Verdict::InUse(pids)
        } else if users.unreadable.is_empty() || !args.strict {
            Verdict::Stale
        } else {
            Verdict::Unknown(users.unreadable.len())
        };
        let age = format_age(Duration::from_secs(o.age_seconds));
        let what = format!("{} {} (age {age})", o.kind.as_str(), o.name);
        let reason = match &verdict {
            Verdict::Stale if users.unreadable.is_empty() => {
                "no live process has it open".to_owned()
            }
            Verdict::Stale => "no live process that could be checked has it open".to_owned(),
            Verdict::InUse(pids) => format!(
                "open by {}",
                pids.iter()
                    .map(|p| match objects::command_of(*p) {
                        Some(c) => format!("pid {p} ({c})"),
                        None => format!("pid {p}"),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Verdict::Unknown(n) => {
                format!("cannot tell: {n} processes could not be checked (--strict)")
            }
        };
        let go = matches!(verdict, Verdict::Stale) || args.force;
        if !go {
            println!(
                "{}  {what}: {reason}",
                style.green(&format!("{:<12}", "keep"))
            );
            continue;
        }
        remove += 1;
        if !args.yes {
            println!("{}  {what}: {reason}", style.yellow("would remove"));
            continue;
        }
        match crate::unlink(o.kind, &o.name) {
            Ok(()) => {
                removed += 1;
                println!(
                    "{}  {what}: {reason}",
                    style.red(&format!("{:<12}", "removed"))
                );
            }
            Err(e) if e.kind() == ipc::ErrorKind::NotFound => {
                println!("{:<12}  {what}: removed by someone else meanwhile", "gone");
            }
            Err(e) => {
                let f = crate::rm_failure(&e, o.kind, &o.name);
                eprintln!("ipcctl: {}", f.message);
                failed = Some(f);
            }
        }
    }
    if args.yes {
        println!("{removed} removed of {} objects checked", candidates.len());
    } else if remove > 0 {
        println!(
            "{remove} of {} objects would be removed; run again with --yes to remove them",
            candidates.len()
        );
    } else {
        println!("nothing to remove ({} objects checked)", candidates.len());
    }
    let mut warnings = warnings;
    if !users.unreadable.is_empty() {
        warnings.push(unreadable_note(&users, args.strict));
    }
    crate::show::warn_all(&warnings);
    match failed {
        Some(f) => Err(Failure {
            code: f.code,
            message: String::new(),
        }),
        None => Ok(()),
    }
}

/// The note on the processes whose descriptors or maps could not be read.
fn unreadable_note(users: &Users, strict: bool) -> String {
    let n = users.unreadable.len();
    let named: Vec<String> = users
        .unreadable
        .iter()
        .take(5)
        .map(|p| match objects::command_of(*p) {
            Some(c) => format!("pid {p} ({c})"),
            None => format!("pid {p}"),
        })
        .collect();
    format!(
        "cannot tell what {n} process{} ha{} open: {}{}; their descriptors or maps \
         cannot be read here (other users' processes, unless root), so an object only they use \
         would look stale{}",
        if n == 1 { "" } else { "es" },
        if n == 1 { "s" } else { "ve" },
        named.join(", "),
        if n > 5 { ", ..." } else { "" },
        if strict {
            "; --strict kept every object"
        } else {
            "; --strict keeps every object then"
        }
    )
}
