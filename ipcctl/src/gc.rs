//! `gc`: remove the objects no live process has open, after a dry run.

use std::time::Duration;

use clap::Args;

use crate::objects::{self, Kind, Object};
use crate::procs::{Hidden, Users};
use crate::show::{Style, outln, printable};
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
    /// read (other users' processes, when not root, or hidden by /proc's
    /// hidepid): by default those processes are named in a note and the
    /// others decide.
    #[arg(long)]
    strict: bool,
    /// In a child pid namespace (a container), processes outside it are
    /// invisible and objects are kept unless this says that this namespace
    /// has /dev/shm (and the queues) to itself.
    #[arg(long)]
    private_shm: bool,
}

/// Why an object is kept or removed.
enum Verdict {
    /// No live process has it open: stale.
    Stale,
    /// These processes have it open.
    InUse(Vec<u32>),
    /// Some processes could not be checked.
    Unknown(usize),
    /// Processes outside this pid namespace may use it.
    OutsideNamespace,
}

pub(crate) fn run(args: &GcArgs) -> Result<(), Failure> {
    let kinds = args.kind.map_or_else(|| Kind::ALL.to_vec(), |k| vec![k]);
    let listing = objects::list(&kinds, args.prefix.as_deref());
    let incomplete = crate::incomplete(&listing);
    let warnings = listing.warnings;
    let candidates: Vec<Object> = listing
        .objects
        .into_iter()
        .filter(|o| {
            args.older_than
                .is_none_or(|d| o.age_seconds.is_some_and(|a| a >= d.as_secs()))
        })
        .collect();
    let users = Users::scan();
    let outside = users.hidden == Some(Hidden::PidNamespace) && !args.private_shm;
    let unchecked = !users.unreadable.is_empty() || users.hidden == Some(Hidden::HidePid);
    let style = Style::stdout();
    let mut remove = 0usize;
    let mut removed = 0usize;
    let mut failed: Option<Failure> = None;
    for o in &candidates {
        let pids = users.of(o.dev, o.ino);
        let verdict = if !pids.is_empty() {
            Verdict::InUse(pids)
        } else if outside {
            Verdict::OutsideNamespace
        } else if !unchecked || !args.strict {
            Verdict::Stale
        } else {
            Verdict::Unknown(users.unreadable.len())
        };
        let age = o
            .age_seconds
            .map_or_else(|| "?".into(), |a| format_age(Duration::from_secs(a)));
        let what = format!("{} {} (age {age})", o.kind.as_str(), printable(&o.name));
        let reason = reason(&verdict, unchecked);
        let go = matches!(verdict, Verdict::Stale) || args.force;
        if !go {
            outln!(
                "{}  {what}: {reason}",
                style.green(&format!("{:<12}", "keep"))
            );
            continue;
        }
        remove += 1;
        if !args.yes {
            outln!("{}  {what}: {reason}", style.yellow("would remove"));
            continue;
        }
        // The name may have been removed and made again since the scan: a
        // new object under it (another file) was never judged, so it stays.
        // This narrows the window; no system call removes a name only if it
        // still names a given file.
        if o.ino != 0 && !still_the_same_file(o) {
            outln!(
                "{}  {what}: replaced by a new object since it was checked",
                style.green(&format!("{:<12}", "keep"))
            );
            continue;
        }
        match crate::unlink(o.kind, &o.name) {
            Ok(()) => {
                removed += 1;
                outln!(
                    "{}  {what}: {reason}",
                    style.red(&format!("{:<12}", "removed"))
                );
            }
            Err(e) if e.kind() == ipc::ErrorKind::NotFound => {
                outln!("{:<12}  {what}: removed by someone else meanwhile", "gone");
            }
            Err(e) => {
                let f = crate::rm_failure(&e, o.kind, &o.name);
                crate::show::errln!("ipcctl: {}", f.message);
                failed = Some(f);
            }
        }
    }
    if args.yes {
        outln!("{removed} removed of {} objects checked", candidates.len());
    } else if remove > 0 {
        outln!(
            "{remove} of {} objects would be removed; run again with --yes to remove them",
            candidates.len()
        );
    } else {
        outln!("nothing to remove ({} objects checked)", candidates.len());
    }
    let mut warnings = warnings;
    if !users.unreadable.is_empty() {
        warnings.push(unreadable_note(&users, args.strict));
    }
    warnings.extend(hidden_note(&users, args));
    crate::show::warn_all(&warnings);
    match failed {
        Some(f) => Err(Failure {
            code: f.code,
            message: String::new(),
        }),
        None => incomplete,
    }
}

/// Why `verdict` was reached, for its line of output.
fn reason(verdict: &Verdict, unchecked: bool) -> String {
    match verdict {
        Verdict::Stale if !unchecked => "no live process has it open".to_owned(),
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
        Verdict::Unknown(0) => {
            "cannot tell: other users' processes are hidden by /proc's hidepid (--strict)"
                .to_owned()
        }
        Verdict::Unknown(n) => {
            format!("cannot tell: {n} processes could not be checked (--strict)")
        }
        Verdict::OutsideNamespace => "cannot tell: processes outside this pid namespace \
             are not visible (--private-shm if /dev/shm is this namespace's own)"
            .to_owned(),
    }
}

/// The note on processes this process cannot see at all, if any.
fn hidden_note(users: &Users, args: &GcArgs) -> Option<String> {
    Some(match users.hidden? {
        Hidden::PidNamespace if args.private_shm => {
            "this runs in a child pid namespace; --private-shm: objects only processes \
             outside it use would look stale"
                .to_owned()
        }
        Hidden::PidNamespace => {
            "this runs in a child pid namespace (a container?): processes outside it are \
             not visible, so every object they might use was kept; if /dev/shm is this \
             namespace's own, run again with --private-shm"
                .to_owned()
        }
        Hidden::HidePid => format!(
            "/proc is mounted with hidepid: other users' processes are not visible here, \
             so an object only they use would look stale{}",
            if args.strict {
                "; --strict kept every object"
            } else {
                "; --strict keeps every object then"
            }
        ),
    })
}

/// Whether `o`'s name still names the file (device, inode) that was judged.
fn still_the_same_file(o: &Object) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(&o.path).is_ok_and(|m| (m.dev(), m.ino()) == (o.dev, o.ino))
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
