//! Which live processes have an object open: every `/proc/<pid>/fd/*` and
//! every `/proc/<pid>/maps` line, both by the device and inode of the file
//! they refer to, where this user may read them; and which processes this
//! process cannot see at all.

use std::collections::HashMap;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;

/// The inode of the initial pid namespace (`PROC_PID_INIT_INO` in Linux's
/// `include/linux/proc_ns.h`, fixed since namespaces have inodes).
const INITIAL_PID_NAMESPACE: u64 = 0xEFFF_FFFC;

/// Why some processes are missing from `/proc` altogether.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hidden {
    /// This process runs in a child pid namespace (a container, `unshare
    /// -p`): processes outside it are not in its `/proc`, yet may share
    /// `/dev/shm` with it.
    PidNamespace,
    /// `/proc` is mounted with `hidepid` and this process is not root:
    /// other users' processes are not listed.
    HidePid,
}

/// The processes that hold each file open or mapped.
#[derive(Debug, Default)]
pub(crate) struct Users {
    /// Open descriptors, by (`st_dev`, inode).
    by_file: HashMap<(u64, u64), Vec<u32>>,
    /// Mappings, by (major, minor, inode) as maps lines write them.
    by_map: HashMap<(u64, u64, u64), Vec<u32>>,
    /// Processes whose descriptors or maps this user may not read.
    pub(crate) unreadable: Vec<u32>,
    /// Whether, and why, some processes are not visible here at all.
    pub(crate) hidden: Option<Hidden>,
}

impl Users {
    /// Scans `/proc`, skipping this process.
    pub(crate) fn scan() -> Users {
        let mut users = Users {
            hidden: hidden(),
            ..Users::default()
        };
        let me = std::process::id();
        let Ok(entries) = fs::read_dir("/proc") else {
            users.unreadable.push(0);
            return users;
        };
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if pid == me {
                continue;
            }
            let mut denied = false;
            match fs::read_dir(format!("/proc/{pid}/fd")) {
                Ok(fds) => {
                    for fd in fds.flatten() {
                        // metadata follows the magic link to the open file itself.
                        if let Ok(m) = fs::metadata(fd.path()) {
                            add(&mut users.by_file, (m.dev(), m.ino()), pid);
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::PermissionDenied => denied = true,
                Err(_) => {} // exited meanwhile
            }
            match fs::read_to_string(format!("/proc/{pid}/maps")) {
                Ok(maps) => {
                    for file in maps.lines().filter_map(mapped_file) {
                        add(&mut users.by_map, file, pid);
                    }
                }
                Err(e) if e.kind() == ErrorKind::PermissionDenied => denied = true,
                Err(_) => {}
            }
            if denied {
                users.unreadable.push(pid);
            }
        }
        users
    }

    /// The processes that have the file (`dev`, `ino`) open or mapped.
    pub(crate) fn of(&self, dev: u64, ino: u64) -> Vec<u32> {
        let mut pids = self.by_file.get(&(dev, ino)).cloned().unwrap_or_default();
        let (major, minor) = major_minor(dev);
        for pid in self.by_map.get(&(major, minor, ino)).into_iter().flatten() {
            if !pids.contains(pid) {
                pids.push(*pid);
            }
        }
        pids.sort_unstable();
        pids
    }
}

fn add<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Vec<u32>>, key: K, pid: u32) {
    let v = map.entry(key).or_default();
    if !v.contains(&pid) {
        v.push(pid);
    }
}

/// The file of a maps line (`start-end perms offset major:minor inode
/// path`), by device and inode: the path text would miss an object mapped
/// through a bind mount, or named by a path that does not start with
/// `/dev/shm`. `None` for anonymous mappings (inode 0).
fn mapped_file(line: &str) -> Option<(u64, u64, u64)> {
    let mut fields = line.split_ascii_whitespace();
    let (major, minor) = fields.nth(3)?.split_once(':')?;
    let ino: u64 = fields.next()?.parse().ok()?;
    (ino != 0).then_some(())?;
    Some((
        u64::from_str_radix(major, 16).ok()?,
        u64::from_str_radix(minor, 16).ok()?,
        ino,
    ))
}

/// `st_dev` as the major and minor numbers maps lines show.
fn major_minor(dev: u64) -> (u64, u64) {
    (u64::from(libc::major(dev)), u64::from(libc::minor(dev)))
}

/// Whether some processes are missing from this `/proc` (see [`Hidden`]).
fn hidden() -> Option<Hidden> {
    let ns = fs::metadata("/proc/self/ns/pid").ok()?.ino();
    if ns != INITIAL_PID_NAMESPACE {
        return Some(Hidden::PidNamespace);
    }
    (!rustix::process::geteuid().is_root() && proc_hides_pids()).then_some(Hidden::HidePid)
}

/// Whether `/proc` is mounted with `hidepid` other than 0/`off`.
fn proc_hides_pids() -> bool {
    let Ok(mounts) = fs::read_to_string("/proc/self/mounts") else {
        return false;
    };
    mounts.lines().any(|line| {
        let mut f = line.split_whitespace();
        let (_, point, fstype, options) = (f.next(), f.next(), f.next(), f.next());
        point == Some("/proc")
            && fstype == Some("proc")
            && options.is_some_and(|o| {
                o.split(',').any(|opt| {
                    opt.strip_prefix("hidepid=")
                        .is_some_and(|v| v != "0" && v != "off")
                })
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_lines() {
        assert_eq!(
            mapped_file("7f0a-7f0b rw-s 00000000 00:1a 123 /dev/shm/x"),
            Some((0, 0x1a, 123))
        );
        assert_eq!(
            mapped_file("7f0a-7f0b rw-s 00000000 fd:01 77 /mnt/bind/x (deleted)"),
            Some((0xfd, 1, 77))
        );
        assert_eq!(mapped_file("7f0a-7f0b rw-p 00000000 00:00 0 "), None);
        assert_eq!(mapped_file("garbage"), None);
    }
}
