//! The three identities of the permission matrix, each taken on in a child
//! process of its own: dropping privileges cannot be undone, and the
//! caller must stay root to start the next one.
//!
//! - root: uid 0 in the initial user namespace;
//! - a plain user: uid and gid 65534 (`nobody`), no supplementary groups,
//!   hence no capabilities;
//! - that plain user after `unshare(CLONE_NEWUSER | CLONE_NEWNET)`, mapped
//!   to uid 0 inside, as `unshare -Urn` does: root of a user namespace of
//!   its own, which owns a network namespace of its own.
//!
//! Every child works in a fresh network namespace, so that nothing it sends
//! reaches a listener of the machine's. For root and the plain user, root
//! creates it before any privilege is dropped: it belongs to the initial
//! user namespace, exactly like the machine's own, so the kernel's
//! permission checks answer as they would there.

use std::fmt;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};

use nlbook_common::{Errno, SysError};

/// uid and gid of `nobody`.
pub const NOBODY: u32 = 65534;

/// `CAP_NET_ADMIN` (`include/uapi/linux/capability.h`): the capability
/// netlink checks before letting a socket join or send to a group.
pub const CAP_NET_ADMIN: u32 = 12;

/// Who runs the probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// uid 0 in the initial user namespace.
    Root,
    /// uid 65534, no capabilities.
    PlainUser,
    /// uid 65534 after `unshare(CLONE_NEWUSER | CLONE_NEWNET)`.
    PlainUserUnshared,
}

impl Identity {
    /// In the order the matrix shows them.
    pub const ALL: [Identity; 3] = [
        Identity::Root,
        Identity::PlainUser,
        Identity::PlainUserUnshared,
    ];

    /// The name the matrix prints.
    pub fn label(self) -> &'static str {
        match self {
            Identity::Root => "root",
            Identity::PlainUser => "plain user",
            Identity::PlainUserUnshared => "unshare -Urn",
        }
    }
}

/// Why a probe could not run as an identity.
#[derive(Debug)]
pub enum IdentityError {
    /// The program did not start as root, so it cannot show all three.
    NotRoot(u32),
    /// `fork`, `pipe` or `waitpid` failed.
    Sys(SysError),
    /// The child could not take on the identity.
    Child(String),
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityError::NotRoot(uid) => write!(
                f,
                "running as uid {uid}: the matrix starts as root (uid 0) and drops to uid \
                 {NOBODY} itself; it depends on the kernel, so run it in the VM lab: \
                 `cargo xtask lab --chapter ch03 --test matrix`"
            ),
            IdentityError::Sys(e) => write!(f, "{e}"),
            IdentityError::Child(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for IdentityError {}

fn check(rc: libc::c_int, call: &str) -> Result<(), SysError> {
    if rc < 0 {
        return Err(SysError::last(call));
    }
    Ok(())
}

fn write_proc_file(path: &str, text: &str) -> Result<(), SysError> {
    std::fs::write(path, text).map_err(|e| SysError {
        call: format!("write {text:?} to {path}"),
        errno: Errno(e.raw_os_error().unwrap_or(0)),
    })
}

// ANCHOR: drop_privileges
/// Turn this process into a plain user: no supplementary groups, then gid,
/// then uid (in that order: once the uid is not 0, the others cannot be
/// changed any more). Changing the uid from 0 clears every capability.
fn become_plain_user() -> Result<(), SysError> {
    // SAFETY: setgroups with a count of 0 reads no memory.
    check(
        unsafe { libc::setgroups(0, std::ptr::null()) },
        "setgroups([])",
    )?;
    // SAFETY: a plain system call on an integer.
    check(unsafe { libc::setgid(NOBODY) }, "setgid(65534)")?;
    // SAFETY: likewise.
    check(unsafe { libc::setuid(NOBODY) }, "setuid(65534)")?;
    // After a uid change the process is no longer "dumpable", which makes
    // its /proc/self files root's: opening uid_map below would fail with
    // EACCES.
    // SAFETY: prctl with integer arguments only.
    check(
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) },
        "prctl(PR_SET_DUMPABLE, 1)",
    )
}

/// What `unshare -Urn` does: a new user namespace and a new network
/// namespace it owns, with our uid and gid mapped to 0 inside.
fn unshare_user_and_net() -> Result<(), SysError> {
    // SAFETY: unshare takes flags only; this child is single-threaded, as
    // CLONE_NEWUSER requires.
    check(
        unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) },
        "unshare(CLONE_NEWUSER | CLONE_NEWNET)",
    )?;
    // An unprivileged process may map only its own ids, and its gid only
    // after giving up setgroups() in the namespace.
    write_proc_file("/proc/self/setgroups", "deny")?;
    write_proc_file("/proc/self/uid_map", &format!("0 {NOBODY} 1"))?;
    write_proc_file("/proc/self/gid_map", &format!("0 {NOBODY} 1"))
}
// ANCHOR_END: drop_privileges

/// A fresh network namespace, created while still root: it belongs to the
/// initial user namespace.
fn unshare_net_as_root() -> Result<(), SysError> {
    // SAFETY: unshare takes flags only.
    check(
        unsafe { libc::unshare(libc::CLONE_NEWNET) },
        "unshare(CLONE_NEWNET)",
    )
}

fn become_identity(identity: Identity) -> Result<(), SysError> {
    match identity {
        Identity::Root => unshare_net_as_root(),
        Identity::PlainUser => {
            unshare_net_as_root()?;
            become_plain_user()
        }
        Identity::PlainUserUnshared => {
            become_plain_user()?;
            unshare_user_and_net()
        }
    }
}

/// The calling process's uid, as its own user namespace sees it.
pub fn uid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

/// Whether `CAP_NET_ADMIN` is in the effective set (`CapEff` in
/// `/proc/self/status`). In a user namespace of one's own it is, but only
/// over what that namespace owns.
pub fn has_cap_net_admin() -> Result<bool, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("reading /proc/self/status: {e}"))?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(str::trim)
        .ok_or("no CapEff line in /proc/self/status")?;
    let caps = u64::from_str_radix(hex, 16).map_err(|e| format!("CapEff {hex:?}: {e}"))?;
    Ok(caps & (1 << CAP_NET_ADMIN) != 0)
}

/// Run `work` as `identity` in a forked child and return the text it
/// produced, or its error. The caller must be root and single-threaded
/// (`fork` copies only the calling thread).
pub fn run_as(
    identity: Identity,
    work: impl FnOnce() -> Result<String, String>,
) -> Result<String, IdentityError> {
    let me = uid();
    if me != 0 {
        return Err(IdentityError::NotRoot(me));
    }
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    check(
        unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) },
        "pipe2",
    )
    .map_err(IdentityError::Sys)?;
    // SAFETY: pipe2 succeeded: both descriptors are new and ours alone.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // Nothing buffered may be written twice, by parent and child.
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();

    // SAFETY: the process is single-threaded (documented above), so the
    // child may go on running ordinary code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(IdentityError::Sys(SysError::last("fork")));
    }
    if pid == 0 {
        drop(read_end);
        let report = match become_identity(identity).map(|()| work()) {
            Ok(Ok(text)) => format!("O{text}"),
            Ok(Err(why)) => format!("E{why}"),
            Err(e) => format!("Ecould not become {}: {e}", identity.label()),
        };
        let mut pipe = std::fs::File::from(write_end);
        let _ = pipe.write_all(report.as_bytes());
        drop(pipe);
        // SAFETY: leave without running the parent's exit handlers twice.
        unsafe { libc::_exit(0) };
    }

    drop(write_end);
    let mut report = String::new();
    let read = std::fs::File::from(read_end).read_to_string(&mut report);
    let mut status = 0;
    loop {
        // SAFETY: status is a valid int for waitpid to write.
        if unsafe { libc::waitpid(pid, &raw mut status, 0) } >= 0 {
            break;
        }
        let e = SysError::last("waitpid");
        if e.errno != Errno(libc::EINTR) {
            return Err(IdentityError::Sys(e));
        }
    }
    read.map_err(|e| IdentityError::Child(format!("reading the child's report: {e}")))?;
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(IdentityError::Child(format!(
            "the child running as {} did not finish (wait status {status:#x})",
            identity.label()
        )));
    }
    match report.split_at_checked(1) {
        Some(("O", text)) => Ok(text.to_owned()),
        Some(("E", why)) => Err(IdentityError::Child(why.to_owned())),
        _ => Err(IdentityError::Child(format!(
            "the child running as {} sent no report",
            identity.label()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        let labels: Vec<&str> = Identity::ALL.iter().map(|i| i.label()).collect();
        assert_eq!(labels, ["root", "plain user", "unshare -Urn"]);
    }

    #[test]
    fn not_root_says_where_to_run() {
        let text = IdentityError::NotRoot(1000).to_string();
        assert!(
            text.contains("uid 1000") && text.contains("cargo xtask lab"),
            "{text}"
        );
    }

    #[test]
    fn reads_the_capability_set() {
        // Whatever this process holds, the line parses.
        assert!(has_cap_net_admin().is_ok());
    }
}
