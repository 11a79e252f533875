//! The plan of one sandboxed run, made before the fork: the new root's
//! folders, links and read-only binds, its private scratch folders, and
//! every path as a C string, so that the forked processes allocate nothing.

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::NOBODY;

/// The host's folders a test sees, read-only, at their own paths.
const SYSTEM_TREES: [&str; 2] = ["/usr", "/etc"];

/// Merged-usr links (`/bin -> usr/bin`), made as the same links; where the
/// host has a real folder instead, it is bound like [`SYSTEM_TREES`].
const TOP_LINKS: [&str; 6] = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/// The devices of the sandbox's `/dev`, bound from the host's.
const DEVICES: [&str; 5] = ["null", "zero", "full", "random", "urandom"];

/// Private, sized, writable: each run starts with them empty.
const SCRATCH: [&str; 4] = ["/tmp", "/var/tmp", "/dev/shm", "/run"];

pub(super) const SCRATCH_OPTIONS: &CStr = c"size=64m";

/// Where each run's new root is mounted, inside the run's own mount
/// namespace: on the host it stays an empty folder.
fn root_mount_point() -> PathBuf {
    crate::cache_dir().join("grade/sandbox-root")
}

/// One step of making the new root, every path already below it.
pub(super) enum Make {
    Dir(CString),
    /// An empty file, to bind a file onto.
    File(CString),
    Link {
        target: CString,
        at: CString,
    },
}

/// Everything the three processes need, prepared before the fork.
pub(super) struct Plan {
    /// `nobody`'s uid and gid maps: `0 65534 1`.
    pub(super) map: CString,
    /// The host folder the new root's tmpfs is mounted on.
    pub(super) root: CString,
    /// Folders, mount-point files and links, parents first.
    pub(super) make: Vec<Make>,
    /// Read-only binds `(host path, path below the new root)`.
    pub(super) binds: Vec<(CString, CString)>,
    /// The private tmpfs folders, below the new root.
    pub(super) scratch: Vec<CString>,
    /// Where init mounts the namespace's own proc, below the new root.
    pub(super) proc_dir: CString,
    /// The working folder as the test sees it, after the pivot.
    pub(super) workdir: CString,
    /// Where this process's command line lies in memory (`arg_start`,
    /// `arg_end` of /proc/self/stat): init, a copy of the grader, blanks it,
    /// or the test would read the grader's arguments in /proc/1/cmdline
    /// (the class folder, the hidden tests' folder).
    pub(super) args: Option<(usize, usize)>,
}

impl Plan {
    pub(super) fn new(program: &Path, workdir: &Path) -> Result<Plan> {
        let root = root_mount_point();
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        let mut plan = Plan {
            map: CString::new(format!("0 {NOBODY} 1"))?,
            root: c_path(&root)?,
            make: Vec::new(),
            binds: Vec::new(),
            scratch: Vec::new(),
            proc_dir: c_path(&root.join("proc"))?,
            workdir: c_path(workdir)?,
            args: own_args(),
        };
        let below = |path: &Path| -> Result<CString> {
            let relative = path.strip_prefix("/").unwrap_or(path);
            c_path(&root.join(relative))
        };
        let mut made = std::collections::BTreeSet::new();
        let mut dir = |plan: &mut Plan, path: &Path| -> Result<()> {
            let mut parents: Vec<&Path> = path.ancestors().collect();
            parents.reverse();
            for parent in parents {
                if parent != Path::new("/") && made.insert(parent.to_path_buf()) {
                    plan.make.push(Make::Dir(below(parent)?));
                }
            }
            Ok(())
        };
        for tree in SYSTEM_TREES {
            dir(&mut plan, Path::new(tree))?;
            plan.binds
                .push((c_path(Path::new(tree))?, below(Path::new(tree))?));
        }
        for top in TOP_LINKS.map(Path::new) {
            let Ok(meta) = top.symlink_metadata() else {
                continue;
            };
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(top)?;
                plan.make.push(Make::Link {
                    target: c_path(&target)?,
                    at: below(top)?,
                });
            } else if meta.is_dir() {
                dir(&mut plan, top)?;
                plan.binds.push((c_path(top)?, below(top)?));
            }
        }
        dir(&mut plan, Path::new("/dev"))?;
        for device in DEVICES {
            let path = Path::new("/dev").join(device);
            plan.make.push(Make::File(below(&path)?));
            plan.binds.push((c_path(&path)?, below(&path)?));
        }
        for (name, target) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ] {
            plan.make.push(Make::Link {
                target: CString::new(target)?,
                at: below(&Path::new("/dev").join(name))?,
            });
        }
        dir(&mut plan, Path::new("/proc"))?;
        for scratch in SCRATCH.map(Path::new) {
            dir(&mut plan, scratch)?;
            plan.scratch.push(below(scratch)?);
        }
        // The test's own two paths, where they are not already in sight.
        if !visible(workdir)? {
            dir(&mut plan, workdir)?;
        }
        if !visible(program)? {
            if let Some(parent) = program.parent() {
                dir(&mut plan, parent)?;
            }
            plan.make.push(Make::File(below(program)?));
            plan.binds.push((c_path(program)?, below(program)?));
        }
        Ok(plan)
    }
}

/// `(arg_start, arg_end)` of this process: fields 48 and 49 of
/// /proc/self/stat, counting from 1 (the 45th and 46th after the `)` that
/// ends the command's name).
fn own_args() -> Option<(usize, usize)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let (_, fields) = stat.rsplit_once(')')?;
    let mut fields = fields.split_whitespace().skip(45);
    let start = fields.next()?.parse().ok()?;
    let end = fields.next()?.parse().ok()?;
    (start < end).then_some((start, end))
}

/// Whether `path` is in sight in the sandbox already (the root, or below a
/// system folder); an error when the sandbox would hide it under one of its
/// own folders.
pub(super) fn visible(path: &Path) -> Result<bool> {
    if !path.is_absolute() {
        bail!("the sandbox needs absolute paths, not {}", path.display());
    }
    if path == Path::new("/") {
        return Ok(true);
    }
    let shown = SYSTEM_TREES.iter().chain(&TOP_LINKS);
    if shown.into_iter().any(|tree| path.starts_with(tree)) {
        return Ok(true);
    }
    let own = SCRATCH.iter().chain(&["/dev", "/proc"]);
    if let Some(folder) = own.into_iter().find(|folder| path.starts_with(folder)) {
        bail!(
            "the sandbox has a {folder} of its own, which would hide {}: move the workbook elsewhere to grade",
            path.display()
        );
    }
    Ok(false)
}

pub(super) fn c_path(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .with_context(|| format!("a path with a NUL byte: {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_parents_first_and_binds_the_program_alone() {
        let plan = Plan::new(
            Path::new("/srv/wb/target/grade/target/x/debug/deps/layout-0123"),
            Path::new("/srv/wb/target/grade/build/x"),
        )
        .unwrap();
        let root = root_mount_point();
        let dirs: Vec<PathBuf> = plan
            .make
            .iter()
            .filter_map(|m| match m {
                Make::Dir(p) => Some(PathBuf::from(p.to_str().unwrap())),
                _ => None,
            })
            .collect();
        for (i, d) in dirs.iter().enumerate() {
            let parent = d.parent().unwrap();
            assert!(
                parent == root || dirs[..i].iter().any(|p| p == parent),
                "{} before its parent",
                d.display()
            );
        }
        assert!(dirs.contains(&root.join("srv/wb/target/grade/build/x")));
        assert!(!dirs.contains(&root.join("srv/wb/target/grade/target/x/debug/deps/layout-0123")));
        let bound: Vec<&str> = plan
            .binds
            .iter()
            .map(|(from, _)| from.to_str().unwrap())
            .collect();
        assert!(bound.contains(&"/srv/wb/target/grade/target/x/debug/deps/layout-0123"));
        assert!(
            !bound
                .iter()
                .any(|b| b.starts_with("/srv/wb/target/grade/build"))
        );
        assert!(bound.contains(&"/usr") && bound.contains(&"/etc"));
    }

    #[test]
    fn finds_its_own_command_line_in_memory() {
        let (start, end) = own_args().unwrap();
        let len = std::fs::read("/proc/self/cmdline").unwrap().len();
        assert_eq!(end - start, len);
    }

    #[test]
    fn refuses_paths_its_own_folders_would_hide() {
        assert!(visible(Path::new("/usr/bin/sh")).unwrap());
        assert!(visible(Path::new("/bin/sh")).unwrap());
        assert!(!visible(Path::new("/home/t/wb")).unwrap());
        assert!(visible(Path::new("/tmp/wb")).is_err());
        assert!(visible(Path::new("/run/user/0/wb")).is_err());
        assert!(visible(Path::new("relative")).is_err());
    }
}
