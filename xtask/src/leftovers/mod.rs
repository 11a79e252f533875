//! The test suite leaves the host as it found it. A snapshot taken when
//! `cargo xtask test` starts is compared with one taken when it ends:
//!
//! - the host's network namespace: links, addresses and routes, read from
//!   the kernel over rtnetlink (no iproute2 output to parse);
//! - files: the entries directly under the shared temporary folders (`/tmp`,
//!   `/var/tmp`, `/dev/shm`, `/run/lock`), the named network namespaces
//!   (`/run/netns`), the home folder and its `.cargo`, `.config`, `.cache`
//!   and `.local`. A file counts as changed when its size or modification
//!   time does, a folder only when it appears or goes (what happens
//!   inside it is its own listing's business, where it has one). In
//!   `/tmp`, `/var/tmp` and `/dev/shm` only what appears or changes counts:
//!   other programs remove their own entries there at any time. The suite
//!   may use its work tree, cargo's registry and caches and the grading lock;
//! - processes: every process alive at the end that was not at the start
//!   and that this run started: it carries the run's mark in its
//!   environment (which children inherit, whoever re-parents them), or it
//!   is graded code (whose environment the grader empties). Processes
//!   others started meanwhile, this process and its ancestors are not
//!   leftovers.

mod network;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::process;
use network::network;

/// What the suite may change: the snapshot ignores these paths.
fn allowed_paths() -> Vec<PathBuf> {
    let home = home();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".cargo"));
    let mut allowed = vec![
        crate::workspace::root(),
        crate::cache_dir(),
        crate::grade::lock_path(),
    ];
    // cargo's downloads, and the lock files and last-use database it
    // updates on every build.
    for cache in [
        "registry",
        "git",
        ".global-cache",
        ".package-cache",
        ".package-cache-mutate",
    ] {
        allowed.push(cargo_home.join(cache));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        allowed.push(PathBuf::from(target));
    }
    allowed
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

/// The folders whose direct entries are compared.
fn watched_dirs() -> Vec<PathBuf> {
    let home = home();
    let mut dirs: Vec<PathBuf> = ["/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/run/netns"]
        .iter()
        .map(PathBuf::from)
        .collect();
    dirs.push(home.clone());
    for sub in [".cargo", ".config", ".cache", ".local"] {
        dirs.push(home.join(sub));
    }
    dirs
}

/// Temporary folders every program shares: what disappears from them is
/// not compared, only what appears or changes.
const SCRATCH_DIRS: &[&str] = &["/tmp", "/var/tmp", "/dev/shm"];

/// The environment variable that marks the processes of one run.
const RUN_MARK: &str = "NETLINK_WORKBOOK_RUN";

/// Marks this process, so every process it starts from now on can be told
/// apart, and takes the snapshot to compare with at the end.
pub fn start() -> Result<Snapshot> {
    let mark = format!(
        "{}-{}",
        std::process::id(),
        std::time::UNIX_EPOCH.elapsed()?.as_nanos()
    );
    // SAFETY: called first thing in a command, before it starts any thread.
    unsafe { std::env::set_var(RUN_MARK, mark) };
    Snapshot::take()
}

/// The state of the host that the suite must not change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// One line per link, address and route.
    pub network: BTreeSet<String>,
    /// Path to a description: "folder", "file, 12 bytes, modified ...".
    pub files: BTreeMap<PathBuf, String>,
    /// (pid, start time in clock ticks) to its command line, for the
    /// processes this run started.
    pub processes: BTreeMap<(i32, u64), String>,
}

impl Snapshot {
    /// The host as it is now.
    pub fn take() -> Result<Snapshot> {
        let mut files = BTreeMap::new();
        for dir in watched_dirs() {
            list_dir(&dir, &mut files);
        }
        Ok(Snapshot {
            network: network().context("reading the host's links, addresses and routes")?,
            files,
            processes: processes(std::env::var(RUN_MARK).ok().as_deref()),
        })
    }
}

/// The direct entries of `dir` (none when it does not exist).
pub fn list_dir(dir: &Path, into: &mut BTreeMap<PathBuf, String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let what = if meta.is_dir() {
            "folder".to_string()
        } else if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).unwrap_or_default();
            format!("link to {}", target.display())
        } else if meta.is_file() {
            format!(
                "file, {} bytes, modified {}.{:09}",
                meta.len(),
                meta.mtime(),
                meta.mtime_nsec()
            )
        } else {
            "special file".to_string()
        };
        into.insert(path, what);
    }
}

/// What changed from `before` to `after`, one line each; `allowed` paths
/// and everything under them are left out, as are `exempt` processes.
pub fn differences(
    before: &Snapshot,
    after: &Snapshot,
    allowed: &[PathBuf],
    exempt: &BTreeSet<i32>,
) -> Vec<String> {
    let mut found = Vec::new();
    for line in after.network.difference(&before.network) {
        found.push(format!("network: appeared: {line}"));
    }
    for line in before.network.difference(&after.network) {
        found.push(format!("network: gone: {line}"));
    }
    let is_allowed = |path: &Path| allowed.iter().any(|a| path.starts_with(a));
    for (path, now) in &after.files {
        if is_allowed(path) {
            continue;
        }
        match before.files.get(path) {
            None => found.push(format!("file: new: {} ({now})", path.display())),
            Some(was) if was != now => found.push(format!(
                "file: changed: {} (was {was}, now {now})",
                path.display()
            )),
            Some(_) => {}
        }
    }
    for (path, was) in &before.files {
        // Shared scratch folders: other programs remove their own entries
        // there whenever they like, and a suite leaves things behind by
        // adding, not by taking away.
        let in_scratch = path
            .parent()
            .is_some_and(|dir| SCRATCH_DIRS.iter().any(|s| dir == Path::new(s)));
        if !is_allowed(path) && !in_scratch && !after.files.contains_key(path) {
            found.push(format!("file: gone: {} (was {was})", path.display()));
        }
    }
    // A pid can be reused: a process is the same only with the same start.
    for (key, cmdline) in &after.processes {
        if !exempt.contains(&key.0) && !before.processes.contains_key(key) {
            found.push(format!("process: left running: {} {cmdline}", key.0));
        }
    }
    found
}

/// Compares the host now with `before`; prints what was left behind.
/// Returns (checks passed, checks failed): one check each for the network,
/// the files and the processes.
pub fn check(before: &Snapshot) -> Result<(usize, usize)> {
    let after = Snapshot::take()?;
    let found = differences(before, &after, &allowed_paths(), &this_and_ancestors());
    let (mut passed, mut failed) = (0, 0);
    for kind in ["network:", "file:", "process:"] {
        let of_kind: Vec<&String> = found.iter().filter(|f| f.starts_with(kind)).collect();
        if of_kind.is_empty() {
            passed += 1;
        } else {
            failed += 1;
            for f in of_kind {
                eprintln!("    LEFT BEHIND {f}");
            }
        }
    }
    Ok((passed, failed))
}

/// This process and every process above it (the shell, cargo, CI's runner).
fn this_and_ancestors() -> BTreeSet<i32> {
    let mut pids = BTreeSet::new();
    let mut pid = std::process::id() as i32;
    while pid > 0 && pids.insert(pid) {
        pid = process::stat_of(pid).map_or(0, |s| s.ppid);
    }
    pids
}

const PF_KTHREAD: u64 = 0x0020_0000;

/// The processes this run started (see the module's documentation), with
/// their command lines.
fn processes(mark: Option<&str>) -> BTreeMap<(i32, u64), String> {
    let mark = mark.map(|m| format!("{RUN_MARK}={m}"));
    let graded: BTreeSet<i32> = crate::grade::sandbox_processes().into_iter().collect();
    let is_ours = |pid: i32| {
        graded.contains(&pid)
            || mark.as_ref().is_some_and(|mark| {
                std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                    environ.split(|b| *b == 0).any(|var| var == mark.as_bytes())
                })
            })
    };
    let mut all = BTreeMap::new();
    for pid in process::pids() {
        let Some(stat) = process::stat_of(pid) else {
            continue; // gone meanwhile
        };
        if stat.flags & PF_KTHREAD != 0 || !is_ours(pid) {
            continue;
        }
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let mut cmdline = String::from_utf8_lossy(&raw)
            .trim_end_matches('\0')
            .replace('\0', " ");
        if cmdline.is_empty() {
            // A zombie has no command line; its name says what it was.
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            cmdline = format!("[{}] (exited, not reaped)", comm.trim());
        }
        all.insert((pid, stat.start), cmdline);
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(
        network: &[&str],
        files: &[(&str, &str)],
        processes: &[(i32, u64, &str)],
    ) -> Snapshot {
        Snapshot {
            network: network.iter().map(|s| s.to_string()).collect(),
            files: files
                .iter()
                .map(|(p, d)| (PathBuf::from(p), d.to_string()))
                .collect(),
            processes: processes
                .iter()
                .map(|(pid, start, cmd)| ((*pid, *start), cmd.to_string()))
                .collect(),
        }
    }

    #[test]
    fn the_same_host_shows_no_difference() {
        let s = snapshot(
            &["link 1 lo up"],
            &[("/tmp/a", "folder")],
            &[(1, 5, "init")],
        );
        assert!(differences(&s, &s.clone(), &[], &BTreeSet::new()).is_empty());
    }

    #[test]
    fn names_every_kind_of_leftover() {
        let before = snapshot(
            &["link 1 lo up", "link 2 eth0 up"],
            &[
                ("/tmp/kept", "file, 1 bytes"),
                ("/tmp/removed-by-its-owner", "folder"),
                ("/run/netns/deleted", "file, 0 bytes"),
            ],
            &[(1, 5, "init"), (40, 7, "old")],
        );
        let after = snapshot(
            &["link 1 lo up", "link 2 eth0 down"],
            &[("/tmp/kept", "file, 2 bytes"), ("/tmp/new", "folder")],
            // pid 40 was reused by a new process: a different start time.
            &[
                (1, 5, "init"),
                (40, 99, "qemu-system-x86_64 -m 256"),
                (41, 100, "self"),
            ],
        );
        let found = differences(&before, &after, &[], &BTreeSet::from([41]));
        assert_eq!(
            found,
            [
                "network: appeared: link 2 eth0 down",
                "network: gone: link 2 eth0 up",
                "file: changed: /tmp/kept (was file, 1 bytes, now file, 2 bytes)",
                "file: new: /tmp/new (folder)",
                "file: gone: /run/netns/deleted (was file, 0 bytes)",
                "process: left running: 40 qemu-system-x86_64 -m 256",
            ]
        );
    }

    #[test]
    fn allowed_paths_and_what_is_under_them_are_ignored() {
        let before = snapshot(&[], &[], &[]);
        let after = snapshot(
            &[],
            &[
                ("/root/.cargo/registry", "folder"),
                ("/root/.cargo/bin", "folder"),
            ],
            &[],
        );
        let found = differences(
            &before,
            &after,
            &[PathBuf::from("/root/.cargo/registry")],
            &BTreeSet::new(),
        );
        assert_eq!(found, ["file: new: /root/.cargo/bin (folder)"]);
    }

    #[test]
    fn a_file_left_in_a_watched_folder_is_caught() {
        let root = crate::cache_dir().join(format!("tmp/leftovers-test-{}", std::process::id()));
        std::fs::create_dir_all(root.join("existing")).unwrap();
        std::fs::write(root.join("touched"), "1").unwrap();
        let mut before = Snapshot::default();
        list_dir(&root, &mut before.files);
        std::fs::write(root.join("left-behind"), "x").unwrap();
        std::fs::write(root.join("touched"), "12").unwrap();
        // Inside a folder: that folder's own listing would see it, not this one.
        std::fs::write(root.join("existing/inner"), "x").unwrap();
        let mut after = Snapshot::default();
        list_dir(&root, &mut after.files);
        let found = differences(&before, &after, &[], &BTreeSet::new());
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with(&format!(
            "file: new: {}",
            root.join("left-behind").display()
        )));
        assert!(found[1].starts_with(&format!(
            "file: changed: {}",
            root.join("touched").display()
        )));
    }

    #[test]
    fn reads_the_hosts_network_and_this_runs_processes() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .env(RUN_MARK, "test-mark")
            .spawn()
            .unwrap();
        let network = network();
        let marked = processes(Some("test-mark"));
        let _ = child.kill();
        let _ = child.wait();
        let network = network.unwrap();
        assert!(
            network.iter().any(|l| l.starts_with("link 1 lo ")),
            "{network:?}"
        );
        // The marked child, not this unmarked test.
        let pids: Vec<i32> = marked.keys().map(|(pid, _)| *pid).collect();
        assert!(pids.contains(&(child.id() as i32)), "{marked:?}");
        assert!(!pids.contains(&(std::process::id() as i32)), "{marked:?}");
        assert!(this_and_ancestors().contains(&(std::process::id() as i32)));
    }
}
