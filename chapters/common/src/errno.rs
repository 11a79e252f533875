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
