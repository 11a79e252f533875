//! The receive buffer as the kernel applies it.
//!
//! `setsockopt(SO_RCVBUF, v)` stores `max(2 * min(v, rmem_max),
//! SOCK_MIN_RCVBUF)` in `sk_rcvbuf` (`__sock_set_rcvbuf()` in
//! `net/core/sock.c`); `getsockopt(SO_RCVBUF)` reads that back.
//! `SO_RCVBUFFORCE` skips the `rmem_max` cap and needs `CAP_NET_ADMIN` in
//! the initial user namespace.

use std::mem;
use std::os::fd::AsRawFd;

use nlbook_common::SysError;
use nlbook_common::socket::{int_option, set_int_option};
use nlbook_common::uapi::SOL_NETLINK;

// include/uapi/linux/netlink.h: options at SOL_NETLINK
/// Do not report `ENOBUFS` after the kernel dropped messages for this socket.
pub const NETLINK_NO_ENOBUFS: i32 = 5;
/// Report a full listener's drop to the *sender* of a broadcast as well.
pub const NETLINK_BROADCAST_ERROR: i32 = 4;

// include/uapi/linux/sock_diag.h: the words SO_MEMINFO returns
/// `sk_rmem_alloc`: bytes of queued skbs, counted by their truesize.
pub const SK_MEMINFO_RMEM_ALLOC: usize = 0;
/// `sk_rcvbuf`.
pub const SK_MEMINFO_RCVBUF: usize = 1;
/// `sk_drops`: messages dropped for this socket.
pub const SK_MEMINFO_DROPS: usize = 8;
/// `SK_MEMINFO_VARS`: how many words `SO_MEMINFO` fills.
pub const SK_MEMINFO_VARS: usize = 9;

/// Where the kernel's limits on `SO_RCVBUF` can be read.
pub const RMEM_MAX_PATH: &str = "/proc/sys/net/core/rmem_max";
/// Where the default size of a new socket's receive buffer can be read.
pub const RMEM_DEFAULT_PATH: &str = "/proc/sys/net/core/rmem_default";

/// `getsockopt(SO_RCVBUF)`: the socket's `sk_rcvbuf`.
pub fn rcvbuf(sock: &impl AsRawFd) -> Result<u32, SysError> {
    let v = int_option(sock, libc::SOL_SOCKET, libc::SO_RCVBUF).map_err(|errno| SysError {
        call: "getsockopt(SO_RCVBUF)".into(),
        errno,
    })?;
    Ok(u32::try_from(v).unwrap_or(0))
}

// ANCHOR: set_rcvbuf
/// `setsockopt(SO_RCVBUF, requested)`, then what the kernel made of it.
pub fn set_rcvbuf(sock: &impl AsRawFd, requested: i32) -> Result<u32, SysError> {
    set_int_option(sock, libc::SOL_SOCKET, libc::SO_RCVBUF, requested).map_err(|errno| {
        SysError {
            call: format!("setsockopt(SO_RCVBUF, {requested})"),
            errno,
        }
    })?;
    rcvbuf(sock)
}
// ANCHOR_END: set_rcvbuf

/// `setsockopt(SO_RCVBUFFORCE, requested)`, then the effective size.
/// `EPERM` unless the caller has `CAP_NET_ADMIN` in the *initial* user
/// namespace (`sockopt_capable()`), which a namespace of one's own does not
/// give.
pub fn set_rcvbuf_force(sock: &impl AsRawFd, requested: i32) -> Result<u32, SysError> {
    set_int_option(sock, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, requested).map_err(|errno| {
        SysError {
            call: format!("setsockopt(SO_RCVBUFFORCE, {requested})"),
            errno,
        }
    })?;
    rcvbuf(sock)
}

/// Turn `NETLINK_NO_ENOBUFS` on: drops are still counted, never reported.
pub fn set_no_enobufs(sock: &impl AsRawFd) -> Result<(), SysError> {
    set_int_option(sock, SOL_NETLINK, NETLINK_NO_ENOBUFS, 1).map_err(|errno| SysError {
        call: "setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)".into(),
        errno,
    })
}

/// What `SO_MEMINFO` says about a socket's receive side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemInfo {
    /// Bytes queued, counted by truesize (`sk_rmem_alloc`).
    pub rmem_alloc: u32,
    /// `sk_rcvbuf`.
    pub rcvbuf: u32,
    /// Messages dropped (`sk_drops`).
    pub drops: u32,
}

// ANCHOR: meminfo
/// `getsockopt(SOL_SOCKET, SO_MEMINFO)`: `sk_get_meminfo()` fills
/// `SK_MEMINFO_VARS` u32 words (`net/core/sock.c`).
pub fn meminfo(sock: &impl AsRawFd) -> Result<MemInfo, SysError> {
    let mut words = [0u32; SK_MEMINFO_VARS];
    let mut len = mem::size_of_val(&words) as libc::socklen_t;
    // SAFETY: words has room for len bytes; the kernel writes at most that.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_MEMINFO,
            words.as_mut_ptr().cast(),
            &raw mut len,
        )
    };
    if rc < 0 {
        return Err(SysError::last("getsockopt(SO_MEMINFO)"));
    }
    Ok(MemInfo {
        rmem_alloc: words[SK_MEMINFO_RMEM_ALLOC],
        rcvbuf: words[SK_MEMINFO_RCVBUF],
        drops: words[SK_MEMINFO_DROPS],
    })
}
// ANCHOR_END: meminfo

/// Read a number from a sysctl file such as [`RMEM_MAX_PATH`].
pub fn read_sysctl(path: &str) -> Result<u32, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?;
    text.trim()
        .parse()
        .map_err(|_| format!("{path}: not a number: {:?}", text.trim()))
}

// ANCHOR: effective
/// What `setsockopt(SO_RCVBUF, requested)` leaves in `sk_rcvbuf`: the
/// request capped at `rmem_max`, doubled, and raised to `floor`
/// (`SOCK_MIN_RCVBUF`). Negative requests count as 0 (the kernel reads
/// them as a huge `u32`, which `rmem_max` then caps).
pub fn effective_rcvbuf(requested: i64, rmem_max: u32, floor: u32) -> u32 {
    let capped = if requested < 0 {
        i64::from(rmem_max)
    } else {
        requested.min(i64::from(rmem_max))
    };
    let capped = capped.min(i64::from(i32::MAX / 2));
    u32::try_from(capped * 2).unwrap_or(u32::MAX).max(floor)
}

/// How many messages of `truesize` bytes a queue of `rcvbuf` bytes accepts
/// from empty: the kernel queues a message when the total *after* adding it
/// is at most `rcvbuf`, or when it is the only one (`rmem == truesize ||
/// rmem <= rcvbuf` in `netlink_broadcast_deliver()`, 6.1.192).
pub fn messages_that_fit(rcvbuf: u32, truesize: u32) -> u32 {
    if truesize == 0 {
        return u32::MAX;
    }
    (rcvbuf / truesize).max(1)
}
// ANCHOR_END: effective

/// Whether this process runs in the initial user namespace, where
/// `CAP_NET_ADMIN` is what `SO_RCVBUFFORCE` asks for. Under `unshare -U` the
/// map is the one `unshare` wrote, not the identity over all 2^32 ids.
pub fn in_initial_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .map(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubling_floor_and_cap() {
        let (max, floor) = (212_992, 2304);
        assert_eq!(effective_rcvbuf(0, max, floor), 2304);
        assert_eq!(effective_rcvbuf(1024, max, floor), 2304);
        assert_eq!(effective_rcvbuf(1153, max, floor), 2306);
        assert_eq!(effective_rcvbuf(65_536, max, floor), 131_072);
        assert_eq!(effective_rcvbuf(1 << 20, max, floor), 425_984);
        assert_eq!(effective_rcvbuf(-1, max, floor), 425_984);
    }

    #[test]
    fn fitting() {
        assert_eq!(messages_that_fit(2304, 832), 2);
        assert_eq!(messages_that_fit(2496, 832), 3);
        assert_eq!(messages_that_fit(100, 832), 1);
        assert_eq!(messages_that_fit(2304, 0), u32::MAX);
    }
}
