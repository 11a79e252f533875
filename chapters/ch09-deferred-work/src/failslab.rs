//! Making one kernel thread's allocations fail on demand, with the kernel's
//! fault injection (`Documentation/fault-injection/fault-injection.rst`).
//!
//! `failslab` makes slab allocations fail: `kmalloc()`, and the `sk_buff`
//! that `alloc_skb()` takes from its cache first. Its knobs live in debugfs
//! (`/sys/kernel/debug/failslab/`); with `task-filter` set, only tasks whose
//! `/proc/<pid>/make-it-fail` is 1 are affected, so one module's kernel
//! thread can be made to fail while the rest of the kernel carries on.
//! It needs `CONFIG_FAILSLAB` and `CONFIG_FAULT_INJECTION_DEBUG_FS`: the
//! lab's debug kernel has both, Debian's kernels neither.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nlbook_common::{Errno, SysError};

/// Where debugfs is mounted by convention.
pub const DEBUGFS: &str = "/sys/kernel/debug";

/// The failslab knobs of one kernel.
pub struct Failslab {
    dir: PathBuf,
}

impl Failslab {
    /// Finds failslab's knobs, mounting debugfs first if it is not mounted.
    pub fn open() -> Result<Self> {
        let dir = Path::new(DEBUGFS).join("failslab");
        if !dir.is_dir() {
            mount_debugfs()?;
        }
        if !dir.is_dir() {
            bail!(
                "{} does not exist: this kernel has no failslab (it needs CONFIG_FAILSLAB and CONFIG_FAULT_INJECTION_DEBUG_FS); run this on the lab's debug kernel: cargo xtask lab --chapter ch09-deferred-work --kernel debug",
                dir.display()
            );
        }
        Ok(Failslab { dir })
    }

    // ANCHOR: arm
    /// Makes the next slab allocation of task `pid`, and only that one, fail.
    pub fn fail_next_allocation_of(&self, pid: u32) -> Result<()> {
        // Only tasks marked make-it-fail are affected...
        self.set("task-filter", "Y")?;
        write(&make_it_fail(pid), "1")?;
        // ...including allocations that may sleep (GFP_KERNEL), which
        // failslab leaves alone by default...
        self.set("ignore-gfp-wait", "N")?;
        // ...every one of them is a candidate, at once...
        self.set("interval", "1")?;
        self.set("space", "0")?;
        // ...and one failure is injected, then no more.
        self.set("times", "1")?;
        // The kernel log says so, with the stack of the failed allocation.
        self.set("verbose", "2")?;
        self.set("probability", "100")
    }
    // ANCHOR_END: arm

    /// How many more failures failslab would inject (`times` counts down).
    pub fn failures_left(&self) -> Result<i64> {
        let path = self.dir.join("times");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        text.trim()
            .parse()
            .with_context(|| format!("{}: not a number: {text:?}", path.display()))
    }

    /// Stops injecting failures and unmarks task `pid` if it still exists.
    pub fn disarm(&self, pid: u32) -> Result<()> {
        self.set("probability", "0")?;
        match write(&make_it_fail(pid), "0") {
            Err(_) if !Path::new(&format!("/proc/{pid}")).exists() => Ok(()),
            other => other,
        }
    }

    fn set(&self, knob: &str, value: &str) -> Result<()> {
        write(&self.dir.join(knob), value)
    }
}

fn make_it_fail(pid: u32) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/make-it-fail"))
}

fn write(path: &Path, value: &str) -> Result<()> {
    std::fs::write(path, value).map_err(|e| match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => anyhow::anyhow!(
            "writing {value} to {}: {e}: fault injection needs root (CAP_SYS_ADMIN in the initial namespaces)",
            path.display()
        ),
        _ => anyhow::anyhow!("writing {value} to {}: {e}", path.display()),
    })
}

fn mount_debugfs() -> Result<()> {
    let source = CString::new("debugfs").context("debugfs")?;
    let target = CString::new(DEBUGFS).context("debugfs path")?;
    // SAFETY: three NUL-terminated strings that outlive the call; no data.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            source.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = SysError::last("mount(debugfs, /sys/kernel/debug)");
    if err.errno == Errno(libc::EBUSY) {
        return Ok(()); // Already mounted.
    }
    if err.errno == Errno(libc::EPERM) {
        bail!("{err}: mounting debugfs needs CAP_SYS_ADMIN (run as root in the lab)");
    }
    if err.errno == Errno(libc::ENODEV) {
        bail!("{err}: this kernel has no debugfs (CONFIG_DEBUG_FS)");
    }
    Err(err.into())
}

/// The pid of the process named `name` (a kernel thread is a process of its
/// own), from `<proc_root>/<pid>/comm`; `None` if there is none.
pub fn pid_of(proc_root: &Path, name: &str) -> Result<Option<u32>> {
    let entries =
        std::fs::read_dir(proc_root).with_context(|| format!("listing {}", proc_root.display()))?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        // A process may exit between the listing and the read: skip it.
        if let Ok(comm) = std::fs::read_to_string(entry.path().join("comm"))
            && comm.trim_end_matches('\n') == name
        {
            found.push(pid);
        }
    }
    found.sort_unstable();
    match found.as_slice() {
        [] => Ok(None),
        [pid] => Ok(Some(*pid)),
        many => bail!("{} processes are named {name}: {many:?}", many.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_process_by_its_comm() {
        let scratch = tempfile::tempdir().unwrap();
        let root = scratch.path();
        for (pid, comm) in [("1", "init\n"), ("42", "nlbook_deferred\n"), ("7", "sh\n")] {
            std::fs::create_dir_all(root.join(pid)).unwrap();
            std::fs::write(root.join(pid).join("comm"), comm).unwrap();
        }
        std::fs::create_dir_all(root.join("self")).unwrap();
        assert_eq!(pid_of(root, "nlbook_deferred").unwrap(), Some(42));
        assert_eq!(pid_of(root, "nlbook_gone").unwrap(), None);
        std::fs::create_dir_all(root.join("43")).unwrap();
        std::fs::write(root.join("43").join("comm"), "sh\n").unwrap();
        assert!(pid_of(root, "sh").is_err(), "two matches are an error");
    }
}
