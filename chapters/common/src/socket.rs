//! A small raw netlink socket: `socket`, `bind`, `sendmsg`, `recvmsg`,
//! `getsockname`, and a receive timeout. Chapter 1's raw client makes these
//! calls by hand; later chapters use this wrapper so the netlink logic stands
//! out.

use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use crate::errno::{Errno, SysError};

/// A netlink socket (`AF_NETLINK`, `SOCK_RAW`), closed on drop.
#[derive(Debug)]
pub struct NlSocket {
    fd: OwnedFd,
    protocol: i32,
}

/// What one `recvmsg` returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// Bytes written into the caller's buffer.
    pub len: usize,
    /// The datagram's real size. Larger than `len` when the buffer was too
    /// small: the rest of the datagram is gone.
    pub datagram_len: usize,
    /// The sender's port id: 0 for the kernel.
    pub from_portid: u32,
    /// The multicast group bitmask the datagram was sent to, 0 for unicast.
    pub groups: u32,
}

impl Received {
    /// Whether the datagram did not fit in the buffer.
    pub fn truncated(&self) -> bool {
        self.datagram_len > self.len
    }
}

/// A `sockaddr_nl` for `portid` and the `groups` bitmask.
pub fn sockaddr_nl(portid: u32, groups: u32) -> libc::sockaddr_nl {
    // SAFETY: sockaddr_nl is plain integers (one private padding field), for
    // which all-zero bytes are a valid value.
    let mut addr: libc::sockaddr_nl = unsafe { mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    addr.nl_pid = portid;
    addr.nl_groups = groups;
    addr
}

const SOCKADDR_NL_LEN: libc::socklen_t = mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;

impl NlSocket {
    /// `socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol)`.
    ///
    /// `EPROTONOSUPPORT` means no kernel socket exists for `protocol`: for
    /// a custom protocol, its module is not loaded.
    pub fn open(protocol: i32) -> Result<Self, SysError> {
        // SAFETY: socket() takes no pointers.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol,
            )
        };
        if fd < 0 {
            return Err(SysError::last(format!(
                "socket(AF_NETLINK, SOCK_RAW, {protocol})"
            )));
        }
        // SAFETY: fd is a descriptor we just opened and nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(NlSocket { fd, protocol })
    }

    /// The protocol this socket was opened with.
    pub fn protocol(&self) -> i32 {
        self.protocol
    }

    /// `bind()` to `portid` (0: let the kernel choose) and the multicast
    /// `groups` bitmask (groups 1..=32 only; later chapters explain).
    pub fn bind(&self, portid: u32, groups: u32) -> Result<(), SysError> {
        let addr = sockaddr_nl(portid, groups);
        // SAFETY: addr is a valid sockaddr_nl and the length says so.
        let rc = unsafe {
            libc::bind(
                self.fd.as_raw_fd(),
                (&raw const addr).cast::<libc::sockaddr>(),
                SOCKADDR_NL_LEN,
            )
        };
        if rc < 0 {
            return Err(SysError::last(format!(
                "bind(AF_NETLINK, portid {portid}, groups {groups:#x})"
            )));
        }
        Ok(())
    }

    /// This socket's port id (`getsockname`). After `bind(0, ..)`, or after
    /// the first send without a bind, the kernel has assigned one.
    pub fn portid(&self) -> Result<u32, SysError> {
        Ok(self.local_address()?.nl_pid)
    }

    /// Groups 1 to 32 this socket is a member of: `nl_groups` of its own
    /// address (`getsockname`), one bit per group.
    pub fn groups(&self) -> Result<u32, SysError> {
        Ok(self.local_address()?.nl_groups)
    }

    fn local_address(&self) -> Result<libc::sockaddr_nl, SysError> {
        let mut addr = sockaddr_nl(0, 0);
        let mut len = SOCKADDR_NL_LEN;
        // SAFETY: addr has room for len bytes; the kernel writes at most that.
        let rc = unsafe {
            libc::getsockname(
                self.fd.as_raw_fd(),
                (&raw mut addr).cast::<libc::sockaddr>(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(SysError::last("getsockname(AF_NETLINK)"));
        }
        Ok(addr)
    }

    /// A `NETLINK_ROUTE` socket bound to a port id the kernel chooses, whose
    /// `recv` gives up after `timeout` without a datagram.
    pub fn route(timeout: Duration) -> Result<Self, SysError> {
        let sock = Self::open(libc::NETLINK_ROUTE)?;
        sock.bind(0, 0)?;
        sock.set_recv_timeout(timeout)?;
        Ok(sock)
    }

    /// Make `recv` fail with `EAGAIN` after `timeout` without a datagram,
    /// so that a missing reply cannot hang the program. See
    /// [`set_recv_timeout`].
    pub fn set_recv_timeout(&self, timeout: Duration) -> Result<(), SysError> {
        set_recv_timeout(self, timeout)
    }

    /// Set an integer socket option at `level` (e.g. `SOL_NETLINK`).
    pub fn set_option(&self, level: i32, name: i32, value: i32) -> Result<(), SysError> {
        set_int_option(self, level, name, value).map_err(|errno| SysError {
            call: format!("setsockopt({}, {value})", option_name(level, name)),
            errno,
        })
    }

    /// Read an integer socket option at `level`, e.g. `SO_RCVBUF` at
    /// `SOL_SOCKET`: the value as the kernel keeps it, which for buffer
    /// sizes is not what was asked for.
    pub fn option(&self, level: i32, name: i32) -> Result<i32, SysError> {
        int_option(self, level, name).map_err(|errno| SysError {
            call: format!("getsockopt({})", option_name(level, name)),
            errno,
        })
    }

    /// Send one datagram to `portid` (0: the kernel) and/or the `groups`
    /// bitmask, with `sendmsg`. Returns the bytes sent.
    pub fn send_to(&self, datagram: &[u8], portid: u32, groups: u32) -> Result<usize, SysError> {
        let mut dest = sockaddr_nl(portid, groups);
        let mut iov = libc::iovec {
            iov_base: datagram.as_ptr().cast_mut().cast::<libc::c_void>(),
            iov_len: datagram.len(),
        };
        // SAFETY: msghdr is plain data; all-zero is "no name, no iovec,
        // no control data", which we then fill in.
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        msg.msg_name = (&raw mut dest).cast::<libc::c_void>();
        msg.msg_namelen = SOCKADDR_NL_LEN;
        msg.msg_iov = &raw mut iov;
        msg.msg_iovlen = 1;
        loop {
            // SAFETY: msg points at dest and iov, which outlive the call; the
            // kernel only reads from the iovec's buffer for a send.
            let n = unsafe { libc::sendmsg(self.fd.as_raw_fd(), &msg, 0) };
            if let Ok(n) = usize::try_from(n) {
                return Ok(n);
            }
            let err = SysError::last(format!(
                "sendmsg(AF_NETLINK, to portid {portid}, groups {groups:#x})"
            ));
            if err.errno != Errno(libc::EINTR) {
                return Err(err);
            }
        }
    }

    // ANCHOR: recv
    /// Receive one datagram into `buf` with `recvmsg`. With `MSG_TRUNC` the
    /// kernel reports the datagram's real size, so a too-small buffer shows
    /// as [`Received::truncated`] instead of silently cut messages.
    pub fn recv(&self, buf: &mut [u8]) -> Result<Received, SysError> {
        let mut from = sockaddr_nl(0, 0);
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast::<libc::c_void>(),
            iov_len: buf.len(),
        };
        // SAFETY: see send_to.
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        msg.msg_name = (&raw mut from).cast::<libc::c_void>();
        msg.msg_namelen = SOCKADDR_NL_LEN;
        msg.msg_iov = &raw mut iov;
        msg.msg_iovlen = 1;
        loop {
            // SAFETY: msg points at from, iov and buf, which outlive the call,
            // and the lengths in it are theirs.
            let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, libc::MSG_TRUNC) };
            if let Ok(datagram_len) = usize::try_from(n) {
                return Ok(Received {
                    len: datagram_len.min(buf.len()),
                    datagram_len,
                    from_portid: from.nl_pid,
                    groups: from.nl_groups,
                });
            }
            let err = SysError::last("recvmsg(AF_NETLINK)");
            if err.errno != Errno(libc::EINTR) {
                return Err(with_timeout(err, self));
            }
        }
    }
    // ANCHOR_END: recv
}

/// `SOL_NETLINK, NETLINK_ADD_MEMBERSHIP`: an option by its names, so that
/// an error says which one failed (and [`SysError::hint`] can tell what a
/// refusal of it means); numbers for the ones not named here.
pub fn option_name(level: i32, name: i32) -> String {
    let known = match (level, name) {
        (libc::SOL_SOCKET, libc::SO_RCVBUF) => Some(("SOL_SOCKET", "SO_RCVBUF")),
        (libc::SOL_SOCKET, libc::SO_SNDBUF) => Some(("SOL_SOCKET", "SO_SNDBUF")),
        (libc::SOL_SOCKET, libc::SO_RCVBUFFORCE) => Some(("SOL_SOCKET", "SO_RCVBUFFORCE")),
        (libc::SOL_SOCKET, libc::SO_SNDBUFFORCE) => Some(("SOL_SOCKET", "SO_SNDBUFFORCE")),
        (libc::SOL_NETLINK, libc::NETLINK_ADD_MEMBERSHIP) => {
            Some(("SOL_NETLINK", "NETLINK_ADD_MEMBERSHIP"))
        }
        (libc::SOL_NETLINK, libc::NETLINK_DROP_MEMBERSHIP) => {
            Some(("SOL_NETLINK", "NETLINK_DROP_MEMBERSHIP"))
        }
        (libc::SOL_NETLINK, libc::NETLINK_BROADCAST_ERROR) => {
            Some(("SOL_NETLINK", "NETLINK_BROADCAST_ERROR"))
        }
        (libc::SOL_NETLINK, libc::NETLINK_NO_ENOBUFS) => {
            Some(("SOL_NETLINK", "NETLINK_NO_ENOBUFS"))
        }
        (libc::SOL_NETLINK, libc::NETLINK_LISTEN_ALL_NSID) => {
            Some(("SOL_NETLINK", "NETLINK_LISTEN_ALL_NSID"))
        }
        (libc::SOL_NETLINK, libc::NETLINK_EXT_ACK) => Some(("SOL_NETLINK", "NETLINK_EXT_ACK")),
        (libc::SOL_NETLINK, libc::NETLINK_CAP_ACK) => Some(("SOL_NETLINK", "NETLINK_CAP_ACK")),
        _ => None,
    };
    match known {
        Some((level, name)) => format!("{level}, {name}"),
        None => format!("level {level}, option {name}"),
    }
}

/// `getsockopt` of an integer option on any socket (neli's too, through
/// its raw descriptor); the errno on failure, for the caller to name the call.
pub fn int_option(sock: &impl AsRawFd, level: i32, name: i32) -> Result<i32, Errno> {
    let mut value: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: value and len are valid for writes, and len holds value's size.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&raw mut value).cast::<libc::c_void>(),
            &raw mut len,
        )
    };
    if rc < 0 {
        Err(Errno::last())
    } else {
        Ok(value)
    }
}

/// `setsockopt` of an integer option on any socket; see [`int_option`].
pub fn set_int_option(sock: &impl AsRawFd, level: i32, name: i32, value: i32) -> Result<(), Errno> {
    // SAFETY: value is a valid c_int and the length says so.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&raw const value).cast::<libc::c_void>(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// Set `SO_RCVTIMEO` on any socket: a blocking receive then fails with
/// `EAGAIN` after `timeout`. Works on sockets of other libraries too (e.g.
/// neli's, through their raw descriptor).
pub fn set_recv_timeout(sock: &impl AsRawFd, timeout: Duration) -> Result<(), SysError> {
    let tv = libc::timeval {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_usec: libc::suseconds_t::from(timeout.subsec_micros()),
    };
    // SAFETY: tv is a valid timeval and the length says so.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const tv).cast::<libc::c_void>(),
            mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(SysError::last("setsockopt(SO_RCVTIMEO)"));
    }
    Ok(())
}

/// The socket's receive timeout (`SO_RCVTIMEO`), if it has one.
pub fn recv_timeout(sock: &impl AsRawFd) -> Option<Duration> {
    let mut tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    let mut len = mem::size_of::<libc::timeval>() as libc::socklen_t;
    // SAFETY: tv and len are valid for writes, and len holds tv's size.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw mut tv).cast::<libc::c_void>(),
            &raw mut len,
        )
    };
    let secs = u64::try_from(tv.tv_sec).ok()?;
    let micros = u32::try_from(tv.tv_usec).ok()?;
    let timeout = Duration::from_secs(secs) + Duration::from_micros(micros.into());
    (rc == 0 && !timeout.is_zero()).then_some(timeout)
}

/// `5 s`, `250 ms`: a timeout as the programs' messages show it.
pub fn show_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// A receive that failed with `EAGAIN` on a socket with a receive timeout
/// timed out: its call then says how long it waited, which
/// [`SysError::hint`] turns into a timeout message.
fn with_timeout(mut err: SysError, sock: &impl AsRawFd) -> SysError {
    if err.errno == Errno(libc::EAGAIN)
        && let Some(timeout) = recv_timeout(sock)
        && let Some(open) = err.call.strip_suffix(')')
    {
        err.call = format!("{open}, waiting up to {})", show_duration(timeout));
    }
    err
}

/// Wait for the next datagram and report its size and sender without
/// consuming it (`recvmsg` with `MSG_PEEK | MSG_TRUNC` and no buffer). Blocks
/// like a receive, so `SO_RCVTIMEO` applies.
///
/// Useful to size a buffer before reading, or to learn the sender when a
/// library's receive call does not report it.
pub fn peek(sock: &impl AsRawFd) -> Result<Received, SysError> {
    let mut from = sockaddr_nl(0, 0);
    // SAFETY: see NlSocket::send_to; no iovec: nothing is copied.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (&raw mut from).cast::<libc::c_void>();
    msg.msg_namelen = SOCKADDR_NL_LEN;
    loop {
        // SAFETY: msg points at from, which outlives the call.
        let n =
            unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_PEEK | libc::MSG_TRUNC) };
        if let Ok(datagram_len) = usize::try_from(n) {
            return Ok(Received {
                len: 0,
                datagram_len,
                from_portid: from.nl_pid,
                groups: from.nl_groups,
            });
        }
        let err = SysError::last("recvmsg(AF_NETLINK, MSG_PEEK)");
        if err.errno != Errno(libc::EINTR) {
            return Err(with_timeout(err, sock));
        }
    }
}

impl AsFd for NlSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for NlSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::in_fresh_netns;
    use crate::uapi::NETLINK_ROUTE;

    #[test]
    fn unregistered_protocol_is_eprotonosupport() {
        // Protocol 30 has no kernel socket unless a module creates one; the
        // host kernel of this project cannot load modules.
        let err = NlSocket::open(30).unwrap_err();
        assert_eq!(err.errno, Errno(libc::EPROTONOSUPPORT));
        assert_eq!(
            err.to_string(),
            "socket(AF_NETLINK, SOCK_RAW, 30) failed: EPROTONOSUPPORT (93)"
        );
    }

    // The tests below open their sockets in a fresh namespace: nothing they
    // do can be seen from the host's.

    #[test]
    fn bind_zero_gets_a_kernel_assigned_portid() {
        in_fresh_netns(|| {
            let s = NlSocket::open(NETLINK_ROUTE).unwrap();
            s.bind(0, 0).unwrap();
            assert_ne!(s.portid().unwrap(), 0);
        })
        .unwrap();
    }

    #[test]
    fn recv_times_out_with_eagain() {
        in_fresh_netns(|| {
            let s = NlSocket::open(NETLINK_ROUTE).unwrap();
            s.bind(0, 0).unwrap();
            s.set_recv_timeout(Duration::from_millis(20)).unwrap();
            let mut buf = [0u8; 64];
            let err = s.recv(&mut buf).unwrap_err();
            assert_eq!(err.errno, Errno(libc::EAGAIN));
        })
        .unwrap();
    }

    #[test]
    fn truncation_is_reported() {
        // A datagram from the socket to itself (user to user): the kernel
        // only delivers it.
        in_fresh_netns(|| {
            let s = NlSocket::open(NETLINK_ROUTE).unwrap();
            s.bind(0, 0).unwrap();
            let me = s.portid().unwrap();
            s.send_to(&[7u8; 40], me, 0).unwrap();
            let mut small = [0u8; 16];
            let got = s.recv(&mut small).unwrap();
            assert_eq!(got.len, 16);
            assert_eq!(got.datagram_len, 40);
            assert!(got.truncated());
            assert_eq!(got.from_portid, me);
        })
        .unwrap();
    }

    #[test]
    fn peek_reports_size_and_sender_and_leaves_the_datagram() {
        in_fresh_netns(|| {
            let s = NlSocket::open(NETLINK_ROUTE).unwrap();
            s.bind(0, 0).unwrap();
            let me = s.portid().unwrap();
            s.send_to(&[1u8; 24], me, 0).unwrap();
            let peeked = peek(&s).unwrap();
            assert_eq!((peeked.datagram_len, peeked.from_portid), (24, me));
            let mut buf = [0u8; 64];
            assert_eq!(s.recv(&mut buf).unwrap().len, 24);
        })
        .unwrap();
    }
}
