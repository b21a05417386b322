//! Finding POSIX IPC objects and describing them: where Linux keeps them
//! (`/dev/shm`, `/dev/shm/sem.*`, the mqueue filesystem), their owner, mode,
//! age, and what each kind can tell (value, size, depth, typed header).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use ipc::inspect::{self, InitState, LockState};
use serde::Serialize;

/// Where shared memory and semaphores live (glibc: `sem.<name>` for
/// semaphores).
pub(crate) const SHM_DIR: &str = "/dev/shm";
/// Where the mqueue filesystem is mounted by convention.
pub(crate) const MQUEUE_DIR: &str = "/dev/mqueue";

/// The three kinds of POSIX IPC object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    /// A named semaphore (`sem_open`).
    Sem,
    /// A shared-memory object (`shm_open`).
    Shm,
    /// A message queue (`mq_open`).
    Mq,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Sem => "sem",
            Kind::Shm => "shm",
            Kind::Mq => "mq",
        }
    }

    pub(crate) fn long(self) -> &'static str {
        match self {
            Kind::Sem => "semaphore",
            Kind::Shm => "shared memory",
            Kind::Mq => "message queue",
        }
    }

    /// The file behind `name` (`/x`).
    pub(crate) fn path(self, name: &str) -> PathBuf {
        let base = name.strip_prefix('/').unwrap_or(name);
        match self {
            Kind::Sem => PathBuf::from(format!("{SHM_DIR}/sem.{base}")),
            Kind::Shm => PathBuf::from(format!("{SHM_DIR}/{base}")),
            Kind::Mq => PathBuf::from(format!("{MQUEUE_DIR}/{base}")),
        }
    }

    pub(crate) const ALL: [Kind; 3] = [Kind::Sem, Kind::Shm, Kind::Mq];
}

/// One object, as `ls`, `stat` and `gc` show it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Object {
    pub(crate) kind: Kind,
    pub(crate) name: String,
    pub(crate) path: PathBuf,
    /// The owner's user name, or the uid when it has none. This and the
    /// next four are absent for a queue found without the mqueue
    /// filesystem (nothing to `stat`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) uid: Option<u32>,
    /// The permission bits, in octal: `0600`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mode: Option<String>,
    /// Seconds since the object's status last changed (its creation, for
    /// most objects): ctime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) age_seconds: Option<u64>,
    /// ctime, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ctime: Option<i64>,
    /// Shared memory: bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) size: Option<u64>,
    /// Semaphores: the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) value: Option<u32>,
    /// Queues: messages waiting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) depth: Option<u64>,
    /// Queues: the capacity in messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_messages: Option<u64>,
    /// Queues: the largest message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_message_size: Option<u64>,
    /// Shared memory made by `ipc::Shared`/`ipc::Mutex`: the header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) typed: Option<Typed>,
    /// What could not be read, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) notes: Vec<String>,
    /// Shared memory whose header could not be read (see the notes).
    #[serde(skip)]
    pub(crate) header_unknown: bool,
    /// The file's device and inode (0 when unknown).
    #[serde(skip)]
    pub(crate) dev: u64,
    #[serde(skip)]
    pub(crate) ino: u64,
}

/// The header of a typed object, for people and for JSON.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Typed {
    /// `Shared`, `Mutex`, `Channel`.
    pub(crate) kind: String,
    /// The layout fingerprint, `0x` + 16 hex digits.
    pub(crate) layout: String,
    pub(crate) format_version: u32,
    /// `ready`, `empty`, `initialising`, `invalid`.
    pub(crate) state: String,
    /// The pid that initialised (or is initialising) it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) init_pid: Option<u32>,
    /// Mutexes: `free`, `held`, `holder dead`, `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) lock: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) holder_pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) holder_tid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) holder_command: Option<String>,
}

impl Typed {
    fn new(info: &inspect::TypedInfo) -> Typed {
        let (state, init_pid) = match info.state {
            InitState::Empty => ("empty".to_owned(), None),
            InitState::Initialising { pid } => ("initialising".to_owned(), Some(pid)),
            InitState::Ready { pid } => ("ready".to_owned(), Some(pid)),
            _ => ("invalid".to_owned(), None),
        };
        let mut typed = Typed {
            kind: info.kind.to_string(),
            layout: format!("{:#018x}", info.layout),
            format_version: info.format_version,
            state,
            init_pid,
            lock: None,
            holder_pid: None,
            holder_tid: None,
            holder_command: None,
        };
        match info.lock {
            None => {}
            Some(LockState::Unlocked) => typed.lock = Some("free".into()),
            Some(LockState::Held { tid, pid, .. }) => {
                typed.lock = Some("held".into());
                typed.holder_tid = Some(tid);
                typed.holder_pid = pid;
                typed.holder_command = pid.and_then(command_of);
            }
            Some(LockState::HolderDead { tid }) => {
                typed.lock = Some("holder dead".into());
                typed.holder_tid = tid;
            }
            Some(_) => typed.lock = Some("unknown".into()),
        }
        typed
    }

    /// `pid 123 (python3)`, `holder dead`, `free`; `None` for non-mutexes.
    pub(crate) fn holder(&self) -> Option<String> {
        let lock = self.lock.as_deref()?;
        Some(match (lock, self.holder_pid, self.holder_tid) {
            ("held", Some(pid), _) => match &self.holder_command {
                Some(cmd) => format!("held by pid {pid} ({cmd})"),
                None => format!("held by pid {pid}"),
            },
            ("held", None, Some(tid)) => {
                format!("held by tid {tid} (not visible here: dead, or another pid namespace)")
            }
            (other, _, _) => other.to_owned(),
        })
    }
}

/// A process's command name (`/proc/<pid>/comm`).
pub(crate) fn command_of(pid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_owned())
}

/// The user name of `uid` from `/etc/passwd`, or the number.
pub(crate) fn user_name(uid: u32) -> String {
    fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                let id: u32 = fields.nth(1)?.parse().ok()?;
                (id == uid).then(|| name.to_owned())
            })
        })
        .unwrap_or_else(|| uid.to_string())
}

/// Whether the mqueue filesystem is mounted at [`MQUEUE_DIR`].
pub(crate) fn mqueue_mounted() -> bool {
    fs::read_to_string("/proc/self/mounts").is_ok_and(|mounts| {
        mounts.lines().any(|l| {
            let mut f = l.split_whitespace();
            let _dev = f.next();
            f.next() == Some(MQUEUE_DIR) && f.next() == Some("mqueue")
        })
    })
}

/// The message shown when queues cannot be listed.
pub(crate) fn mqueue_not_mounted() -> String {
    format!(
        "message queues cannot be listed: the mqueue filesystem is not mounted at {MQUEUE_DIR} \
         (queues still work); to list them, as root: \
         mkdir -p {MQUEUE_DIR} && mount -t mqueue none {MQUEUE_DIR}"
    )
}

/// What [`list`] found.
pub(crate) struct Listing {
    /// Sorted by name, then kind.
    pub(crate) objects: Vec<Object>,
    /// What could not be listed or described, for people.
    pub(crate) warnings: Vec<String>,
    /// False when a directory that holds objects could not be read: the
    /// listing is missing objects, and the command should fail.
    pub(crate) complete: bool,
}

/// Every object of the given kinds whose name starts with `prefix`.
pub(crate) fn list(kinds: &[Kind], prefix: Option<&str>) -> Listing {
    let mut objects = Vec::new();
    let mut warnings = Vec::new();
    let mut complete = true;
    let wanted = |name: &str| prefix.is_none_or(|p| name.starts_with(p));
    if kinds.contains(&Kind::Sem) || kinds.contains(&Kind::Shm) {
        match fs::read_dir(SHM_DIR) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    let Ok(file) = entry.file_name().into_string() else {
                        // Named in a note if it could match the prefix.
                        let lossy = entry.file_name().to_string_lossy().into_owned();
                        let base = lossy.strip_prefix("sem.").unwrap_or(&lossy);
                        if wanted(&format!("/{base}")) {
                            warnings
                                .push(format!("{}: not UTF-8, skipped", entry.path().display()));
                        }
                        continue;
                    };
                    let (kind, name) = match file.strip_prefix("sem.") {
                        Some(rest) => (Kind::Sem, format!("/{rest}")),
                        None => (Kind::Shm, format!("/{file}")),
                    };
                    if !kinds.contains(&kind) || !wanted(&name) {
                        continue;
                    }
                    if let Err(e) = check_kind_name(kind, &name) {
                        // `sem.`, `sem..`: no name opens or removes them.
                        warnings.push(format!(
                            "{}: not a {} any program can name ({e}), skipped",
                            entry.path().display(),
                            kind.long()
                        ));
                        continue;
                    }
                    if entry.file_type().is_ok_and(|t| t.is_file()) {
                        if let Some(o) = describe(kind, &name) {
                            objects.push(o);
                        }
                    }
                }
            }
            Err(e) => {
                complete = false;
                warnings.push(format!("cannot list {SHM_DIR}: {e}"));
            }
        }
    }
    if kinds.contains(&Kind::Mq) {
        if mqueue_mounted() {
            match fs::read_dir(MQUEUE_DIR) {
                Ok(entries) => {
                    for entry in entries.flatten() {
                        let Ok(file) = entry.file_name().into_string() else {
                            continue;
                        };
                        let name = format!("/{file}");
                        if wanted(&name) {
                            if let Some(o) = describe(Kind::Mq, &name) {
                                objects.push(o);
                            }
                        }
                    }
                }
                Err(e) => {
                    complete = false;
                    warnings.push(format!("cannot list {MQUEUE_DIR}: {e}"));
                }
            }
        } else {
            warnings.push(mqueue_not_mounted());
        }
    }
    objects.sort_by(|a, b| a.name.cmp(&b.name).then(a.kind.cmp(&b.kind)));
    Listing {
        objects,
        warnings,
        complete,
    }
}

/// `ipc::name::check` for the kind of `name`.
fn check_kind_name(kind: Kind, name: &str) -> Result<(), ipc::name::NameError> {
    let kind = match kind {
        Kind::Sem => ipc::name::Kind::Semaphore,
        // Files in /dev/shm called `sem.*` are semaphores, so shared
        // memory is checked by the rules common to all kinds.
        Kind::Shm | Kind::Mq => ipc::name::Kind::MessageQueue,
    };
    ipc::name::check(name, kind)
}

/// The kinds under which `name` exists. Queues are found by opening them
/// when the mqueue filesystem is not mounted.
pub(crate) fn kinds_of(name: &str) -> Vec<Kind> {
    let mut kinds: Vec<Kind> = [Kind::Sem, Kind::Shm]
        .into_iter()
        .filter(|k| fs::symlink_metadata(k.path(name)).is_ok())
        .collect();
    let mq_exists = if mqueue_mounted() {
        fs::symlink_metadata(Kind::Mq.path(name)).is_ok()
    } else {
        match mq_open_readonly(name) {
            Ok(_) => true,
            Err(e) => !matches!(
                e.kind(),
                ipc::ErrorKind::NotFound | ipc::ErrorKind::InvalidName
            ),
        }
    };
    if mq_exists {
        kinds.push(Kind::Mq);
    }
    kinds
}

fn mq_open_readonly(name: &str) -> ipc::Result<ipc::MessageQueue> {
    ipc::MessageQueue::options()
        .read(true)
        .write(false)
        .blocking(false)
        .open(name)
}

/// Describes the object `name` of `kind`; `None` if it does not exist.
pub(crate) fn describe(kind: Kind, name: &str) -> Option<Object> {
    let path = kind.path(name);
    // The entry itself: a symbolic link is described, not followed.
    let meta = match fs::symlink_metadata(&path) {
        Ok(m) => Some(m),
        Err(_) if kind == Kind::Mq && !mqueue_mounted() => None,
        Err(_) => return None,
    };
    let mut o = Object {
        kind,
        name: name.to_owned(),
        path,
        owner: None,
        uid: None,
        mode: None,
        age_seconds: None,
        ctime: None,
        size: None,
        value: None,
        depth: None,
        max_messages: None,
        max_message_size: None,
        typed: None,
        notes: Vec::new(),
        header_unknown: false,
        dev: 0,
        ino: 0,
    };
    if let Some(meta) = &meta {
        o.uid = Some(meta.uid());
        o.owner = Some(user_name(meta.uid()));
        o.mode = Some(format!("{:04o}", meta.mode() & 0o7777));
        o.ctime = Some(meta.ctime());
        let changed =
            SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(meta.ctime()).unwrap_or(0));
        o.age_seconds = Some(
            SystemTime::now()
                .duration_since(changed)
                .unwrap_or_default()
                .as_secs(),
        );
        o.dev = meta.dev();
        o.ino = meta.ino();
        if !meta.file_type().is_file() {
            o.notes.push(format!(
                "not a {}: the entry is {}; left alone",
                kind.long(),
                inspect::file_type(meta)
            ));
            return Some(o);
        }
    } else {
        o.notes.push(format!(
            "owner, mode and age unknown: the mqueue filesystem is not mounted at {MQUEUE_DIR}"
        ));
    }
    match kind {
        Kind::Sem => match inspect::semaphore(name) {
            Ok(info) => o.value = Some(info.value),
            // Elsewhere than 64-bit glibc the file's layout is not known:
            // open it as a semaphore (a file shorter than a sem_t would
            // fault in sem_getvalue, so it is not opened).
            Err(e) if e.kind() == ipc::ErrorKind::Unsupported => {
                if meta.as_ref().is_some_and(|m| m.len() < 32) {
                    o.notes
                        .push("not a semaphore: the file is shorter than a sem_t".into());
                } else {
                    match ipc::Semaphore::open(name).and_then(|s| s.value()) {
                        Ok(v) => o.value = Some(v),
                        Err(e) => o.notes.push(format!("value unknown: {}", short(&e))),
                    }
                }
            }
            Err(e) => o.notes.push(format!("value unknown: {}", short(&e))),
        },
        Kind::Shm => {
            o.size = meta.as_ref().map(fs::Metadata::len);
            match inspect::shared_memory(name) {
                Ok(info) => o.typed = info.typed.as_ref().map(Typed::new),
                Err(e) => {
                    o.header_unknown = true;
                    o.notes.push(format!("header unknown: {}", short(&e)));
                }
            }
        }
        Kind::Mq => match mq_open_readonly(name) {
            Ok(q) => {
                o.depth = q.current_messages().ok().map(|n| n as u64);
                o.max_messages = Some(q.max_messages() as u64);
                o.max_message_size = Some(q.max_message_size() as u64);
            }
            Err(e) if meta.is_none() => {
                if e.kind() == ipc::ErrorKind::NotFound {
                    return None;
                }
                o.notes.push(format!("limits unknown: {}", short(&e)));
            }
            Err(e) => o.notes.push(format!("limits unknown: {}", short(&e))),
        },
    }
    Some(o)
}

/// An error's kind in a few words: `permission denied`.
fn short(e: &ipc::Error) -> String {
    match e.kind() {
        ipc::ErrorKind::PermissionDenied => "permission denied (run as its owner or root)".into(),
        _ => e.to_string(),
    }
}
