//! errno values printed by name and number, so that program output is the
//! same on every libc and every locale: `ENOBUFS (105)`, not "No buffer space
//! available".

use std::fmt;

/// The symbolic name of the errno values netlink programs meet, or `"E?"`
/// for any other value.
///
/// The numbers are the x86_64 (asm-generic) ones that `libc` exports.
pub fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOSPC => "ENOSPC",
        libc::ERANGE => "ERANGE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ENODATA => "ENODATA",
        libc::EUSERS => "EUSERS",
        libc::ENOTSOCK => "ENOTSOCK",
        libc::EDESTADDRREQ => "EDESTADDRREQ",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::EPROTOTYPE => "EPROTOTYPE",
        libc::ENOPROTOOPT => "ENOPROTOOPT",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::ESOCKTNOSUPPORT => "ESOCKTNOSUPPORT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENETDOWN => "ENETDOWN",
        libc::ENOBUFS => "ENOBUFS",
        libc::EISCONN => "EISCONN",
        libc::ENOTCONN => "ENOTCONN",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::EALREADY => "EALREADY",
        libc::EINPROGRESS => "EINPROGRESS",
        _ => "E?",
    }
}

/// An errno value. Displays as `NAME (number)`, e.g. `ENOBUFS (105)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

impl Errno {
    /// The calling thread's `errno`, right after a failed libc call.
    pub fn last() -> Self {
        Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }

    /// The symbolic name, e.g. `"ENOBUFS"`.
    pub fn name(self) -> &'static str {
        errno_name(self.0)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

/// A failed system call: which call, and the errno it set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SysError {
    /// The call, with the arguments that matter, e.g. `socket(AF_NETLINK, SOCK_RAW, 30)`.
    pub call: String,
    /// What the kernel answered.
    pub errno: Errno,
}

impl SysError {
    /// Capture `errno` right after `call` failed.
    pub fn last(call: impl Into<String>) -> Self {
        SysError {
            call: call.into(),
            errno: Errno::last(),
        }
    }
}

impl SysError {
    /// The system call's name: `call` up to its first `(`, e.g. `bind`.
    pub fn syscall(&self) -> &str {
        self.call.split('(').next().unwrap_or_default().trim()
    }

    /// What to do about this failure, when the call and the errno say it:
    /// which capability a refusal means and how to get it, which module a
    /// missing protocol needs, that `ENOBUFS` lost data, what a receive
    /// timeout waited for. `program` is how the user ran the program, for
    /// commands to copy. `None` when there is nothing more to say than the
    /// error.
    pub fn hint(&self, program: &str) -> Option<String> {
        let call = self.call.as_str();
        match (self.syscall(), self.errno.0) {
            ("socket", libc::EPROTONOSUPPORT) => Some(no_protocol_hint(call)),
            ("unshare" | "setns", libc::EPERM) => Some(format!(
                "entering or creating a network namespace needs CAP_SYS_ADMIN: run it as root \
                 (`sudo {program}`) or in a user namespace of its own (`unshare -Urn {program}`)"
            )),
            ("bind" | "connect", libc::EPERM) if !call.contains("groups 0x0)") => {
                Some(join_hint(program))
            }
            ("setsockopt", libc::EPERM) if call.contains("MEMBERSHIP") => Some(join_hint(program)),
            ("setsockopt", libc::EPERM) if call.contains("BUFFORCE") => Some(format!(
                "SO_RCVBUFFORCE and SO_SNDBUFFORCE need CAP_NET_ADMIN in the initial user \
                 namespace (the kernel's sockopt_capable()): run it as root (`sudo {program}`); \
                 a user namespace such as `unshare -Urn` does not grant it"
            )),
            ("setsockopt", libc::EPERM) if call.contains("LISTEN_ALL_NSID") => Some(format!(
                "NETLINK_LISTEN_ALL_NSID needs CAP_NET_BROADCAST over the network namespace: \
                 run it as root (`sudo {program}`) or under `unshare -Urn {program}`"
            )),
            ("sendmsg" | "sendto", libc::EPERM) => Some(format!(
                "sending to a multicast group, or to another socket's port id, on a protocol \
                 that does not allow it to everyone (NL_CFG_F_NONROOT_SEND) needs CAP_NET_ADMIN \
                 over the socket's network namespace: run it as root (`sudo {program}`), or, \
                 for a protocol every namespace has, under `unshare -Urn {program}`"
            )),
            (_, libc::EPERM | libc::EACCES) if call.starts_with("write") => {
                Some(format!("writing there needs root: `sudo {program}`"))
            }
            ("recvmsg" | "recv" | "recvfrom", libc::ENOBUFS) => Some(
                "messages were lost: the kernel dropped them because this socket's receive \
                 buffer was full. What was queued before is intact, what came after the drop \
                 is gone. Read faster, enlarge SO_RCVBUF (SO_RCVBUFFORCE as root), and \
                 resynchronise with a dump; chapter 6 (ENOBUFS) shows how"
                    .to_owned(),
            ),
            ("recvmsg" | "recv" | "recvfrom", libc::EAGAIN) if call.contains("waiting up to") => {
                Some(
                    "timed out: nothing arrived before the receive timeout (SO_RCVTIMEO) ran out, \
                     so the peer did not answer or nothing was sent"
                        .to_owned(),
                )
            }
            (_, libc::EMFILE | libc::ENFILE) => Some(
                "too many open files: raise the limit (`ulimit -n`) or close sockets".to_owned(),
            ),
            _ => None,
        }
    }
}

/// The kernel modules of this workbook that register a netlink protocol
/// number, by number: the modules, and the chapter whose lab runs load them.
const WORKBOOK_PROTOCOLS: [(i32, &str, &str); 8] = [
    (23, "burst_sender.ko", "ch06-enobufs"),
    (25, "kthread_ported.ko", "ch10-porting-legacy"),
    (
        26,
        "a chapter-9 module (deferred_reply.ko, ...)",
        "ch09-deferred-work",
    ),
    (27, "netdev_events.ko", "ch05-events"),
    (28, "group_listeners.ko", "ch04-nl-table"),
    (29, "whoami.ko or registered_port.ko", "ch02-addresses"),
    (30, "the echo module, echo.ko", "ch01-hello-netlink"),
    (
        31,
        "max_links.ko (or the exercise's claim.ko)",
        "ch08-protocol-numbers",
    ),
];

/// `EPROTONOSUPPORT` from `socket(AF_NETLINK, SOCK_RAW, N)`.
fn no_protocol_hint(call: &str) -> String {
    let protocol = call
        .trim_end_matches(')')
        .rsplit([',', ' '])
        .next()
        .and_then(|p| p.parse::<i32>().ok());
    let workbook = WORKBOOK_PROTOCOLS
        .iter()
        .find(|(number, ..)| Some(*number) == protocol);
    match (protocol, workbook) {
        (Some(number), Some((_, module, chapter))) => format!(
            "no kernel socket serves netlink protocol {number}: {module} is not loaded. \
             The workbook's modules run in the VM lab, which loads them: \
             `cargo xtask lab --chapter {chapter}`"
        ),
        (Some(number), None) => format!(
            "no kernel socket serves netlink protocol {number}: this kernel was built without \
             it, or the module that registers it is not loaded (`modprobe`, as root)"
        ),
        (None, _) => "no kernel socket serves this netlink protocol: the module that registers \
                      it is not loaded"
            .to_owned(),
    }
}

/// `EPERM` from joining a multicast group (`bind` with groups,
/// `NETLINK_ADD_MEMBERSHIP`): the kernel's `netlink_bind()` and
/// `netlink_setsockopt()` ask for CAP_NET_ADMIN unless the protocol lets
/// everyone receive (`NL_CFG_F_NONROOT_RECV`).
fn join_hint(program: &str) -> String {
    format!(
        "joining a multicast group of this protocol needs CAP_NET_ADMIN over the socket's \
         network namespace: run it as root (`sudo {program}`), or, for a protocol every \
         namespace has (NETLINK_USERSOCK, NETLINK_ROUTE), under `unshare -Urn {program}`"
    )
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.call, self.errno)
    }
}

impl std::error::Error for SysError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(Errno(libc::ENOBUFS).to_string(), "ENOBUFS (105)");
        assert_eq!(
            Errno(libc::EPROTONOSUPPORT).to_string(),
            "EPROTONOSUPPORT (93)"
        );
        assert_eq!(Errno(libc::ECONNREFUSED).to_string(), "ECONNREFUSED (111)");
        assert_eq!(errno_name(libc::EWOULDBLOCK), "EAGAIN");
        assert_eq!(Errno(4242).to_string(), "E? (4242)");
    }

    #[test]
    fn sys_error_reads_well() {
        let e = SysError {
            call: "bind(AF_NETLINK, portid 7)".into(),
            errno: Errno(libc::EADDRINUSE),
        };
        assert_eq!(
            e.to_string(),
            "bind(AF_NETLINK, portid 7) failed: EADDRINUSE (98)"
        );
    }
}
