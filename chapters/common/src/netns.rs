//! Run code in a fresh network namespace without touching the host's.
//!
//! `unshare(CLONE_NEWNET)` moves only the calling *thread* into a new
//! namespace. [`in_fresh_netns`] therefore spawns a thread, unshares there,
//! runs the closure and joins: sockets the closure opens live in the new
//! namespace, every other thread (and the host) stays where it was. The
//! namespace disappears when the thread has exited and its last socket is
//! closed.

use std::fmt;

use crate::errno::Errno;

/// Why a fresh network namespace could not be made.
#[derive(Debug)]
pub enum NetnsError {
    /// `unshare` answered `EPERM`.
    NeedCapSysAdmin,
    /// `unshare` failed otherwise.
    Unshare(Errno),
    /// The thread could not be started.
    Spawn(std::io::Error),
}

impl fmt::Display for NetnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetnsError::NeedCapSysAdmin => f.write_str(
                "creating a network namespace needs CAP_SYS_ADMIN: run as root, \
                 or under `unshare -Urn`, or use `cargo xtask test`, which does that for you",
            ),
            NetnsError::Unshare(e) if e.0 == libc::EINVAL => write!(
                f,
                "unshare(CLONE_NEWNET) failed: {e}: this kernel has no network namespaces \
                 (CONFIG_NET_NS)"
            ),
            NetnsError::Unshare(e) if e.0 == libc::ENOSPC => write!(
                f,
                "unshare(CLONE_NEWNET) failed: {e}: the limit on network namespaces is reached \
                 (/proc/sys/user/max_net_namespaces)"
            ),
            NetnsError::Unshare(e) => write!(f, "unshare(CLONE_NEWNET) failed: {e}"),
            NetnsError::Spawn(e) => write!(f, "could not start a thread for the namespace: {e}"),
        }
    }
}

impl std::error::Error for NetnsError {}

// ANCHOR: in_fresh_netns
/// Run `f` on a new thread that lives in a new network namespace, and return
/// what it returns. The namespace starts with `lo`, down (and, on kernels
/// with tunnel drivers built in, their fallback devices such as `sit0`).
///
/// A panic in `f` is passed on to the caller, so tests fail as usual.
pub fn in_fresh_netns<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T, NetnsError> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("fresh-netns".into())
            .spawn_scoped(scope, || {
                // SAFETY: unshare takes no pointers; CLONE_NEWNET changes the
                // network namespace of this thread only.
                if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                    return Err(match Errno::last() {
                        Errno(libc::EPERM) => NetnsError::NeedCapSysAdmin,
                        e => NetnsError::Unshare(e),
                    });
                }
                Ok(f())
            })
            .map_err(NetnsError::Spawn)?;
        match thread.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}
// ANCHOR_END: in_fresh_netns

#[cfg(test)]
mod tests {
    use super::*;

    fn current_netns() -> String {
        // thread-self, not self: /proc/self/ns/net is the main thread's.
        let link = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
        link.to_string_lossy().into_owned()
    }

    #[test]
    fn runs_in_another_namespace_and_leaves_ours_alone() {
        let before = current_netns();
        let inside = in_fresh_netns(current_netns).unwrap();
        assert_ne!(inside, before);
        assert_eq!(current_netns(), before);
        // Two calls, two namespaces.
        let again = in_fresh_netns(current_netns).unwrap();
        assert_ne!(again, inside);
    }

    #[test]
    fn a_fresh_namespace_holds_only_lo() {
        let devs = in_fresh_netns(|| std::fs::read_to_string("/proc/thread-self/net/dev"))
            .unwrap()
            .unwrap();
        let names: Vec<&str> = devs
            .lines()
            .skip(2)
            .filter_map(|l| l.split(':').next())
            .map(str::trim)
            .collect();
        assert!(names.contains(&"lo"), "{names:?}");
    }

    #[test]
    fn closures_may_borrow() {
        let word = String::from("borrowed");
        let len = in_fresh_netns(|| word.len()).unwrap();
        assert_eq!(len, 8);
    }

    #[test]
    #[should_panic(expected = "boom")]
    fn panics_propagate() {
        let _ = in_fresh_netns(|| panic!("boom"));
    }

    #[test]
    fn eperm_message_says_how_to_get_the_capability() {
        let msg = NetnsError::NeedCapSysAdmin.to_string();
        assert!(msg.contains("CAP_SYS_ADMIN"));
        assert!(msg.contains("unshare -Urn"));
        assert!(msg.contains("cargo xtask test"));
    }
}
