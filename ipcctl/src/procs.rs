//! Which live processes have an object open: every `/proc/<pid>/fd/*` (by
//! the device and inode it refers to) and every `/proc/<pid>/maps` line of
//! a file in `/dev/shm` (by inode), where this user may read them.

use std::collections::HashMap;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;

use crate::objects::SHM_DIR;

/// The processes that hold each (device, inode) open or mapped.
#[derive(Debug, Default)]
pub(crate) struct Users {
    by_file: HashMap<(u64, u64), Vec<u32>>,
    /// Inodes of `/dev/shm` files seen in maps (the line does not carry
    /// the device in `stat`'s encoding).
    by_shm_inode: HashMap<u64, Vec<u32>>,
    /// Processes whose descriptors or maps this user may not read.
    pub(crate) unreadable: Vec<u32>,
}

impl Users {
    /// Scans `/proc`, skipping this process.
    pub(crate) fn scan() -> Users {
        let mut users = Users::default();
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
                            users.add((m.dev(), m.ino()), pid);
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::PermissionDenied => denied = true,
                Err(_) => {} // exited meanwhile
            }
            match fs::read_to_string(format!("/proc/{pid}/maps")) {
                Ok(maps) => {
                    for line in maps.lines() {
                        let mut f = line.split_whitespace();
                        let (Some(inode), Some(path)) = (f.nth(4), f.next()) else {
                            continue;
                        };
                        if path.starts_with(SHM_DIR) {
                            if let Ok(inode) = inode.parse::<u64>() {
                                let v = users.by_shm_inode.entry(inode).or_default();
                                if !v.contains(&pid) {
                                    v.push(pid);
                                }
                            }
                        }
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

    fn add(&mut self, key: (u64, u64), pid: u32) {
        let v = self.by_file.entry(key).or_default();
        if !v.contains(&pid) {
            v.push(pid);
        }
    }

    /// The processes that have the file (`dev`, `ino`) open or mapped;
    /// `in_shm` says whether it lives in `/dev/shm`.
    pub(crate) fn of(&self, dev: u64, ino: u64, in_shm: bool) -> Vec<u32> {
        let mut pids = self.by_file.get(&(dev, ino)).cloned().unwrap_or_default();
        if in_shm {
            for pid in self.by_shm_inode.get(&ino).into_iter().flatten() {
                if !pids.contains(pid) {
                    pids.push(*pid);
                }
            }
        }
        pids.sort_unstable();
        pids
    }
}
