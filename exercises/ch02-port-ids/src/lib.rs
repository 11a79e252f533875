//! Chapter 2 exercise: port ids by hand.
//!
//! A netlink address is a port id (`nl_pid` in `struct sockaddr_nl`): a
//! `u32` naming one socket within one protocol and one network namespace.
//! `bind()` with `nl_pid = 0` lets the kernel choose; any other value asks
//! for exactly that port id and fails with `EADDRINUSE` if a socket holds
//! it. On `NETLINK_USERSOCK` any socket may send to any port id with
//! `sendto()`, and the receiver learns who sent a datagram from the sender
//! address `recvfrom()` fills in: the kernel writes it, unlike the header's
//! `nlmsg_pid`, which is whatever the sender put there.
//!
//! Your task: replace each `todo!()` in `impl Port` below. The functions
//! above it are done; use them. `cargo xtask exercise` checks your work;
//! the tests need network namespaces of their own, so as a plain user it
//! runs them under `unshare -Urn`.

// The parameters are unused until you write the bodies.
#![allow(unused_variables)]

use std::fmt;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `sizeof(struct nlmsghdr)`.
pub const NLMSG_HDRLEN: usize = 16;

/// How long `recv` waits before it fails with `EAGAIN`.
pub const RECV_TIMEOUT_SECS: libc::time_t = 2;

/// What can go wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// `bind()` failed with `EADDRINUSE`: another socket holds this port id.
    InUse(u32),
    /// `bind_first_free()`: every candidate was taken (or there were none).
    AllInUse,
    /// `sendto()` failed with `ECONNREFUSED`: no socket holds this port id.
    NoSuchPort(u32),
    /// A received datagram that is not exactly one whole netlink message.
    Malformed,
    /// Any other failure: the call and its errno.
    Sys {
        /// The system call, e.g. `"bind"`.
        call: &'static str,
        /// The errno it set.
        errno: i32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InUse(p) => write!(f, "port id {p} is taken (EADDRINUSE)"),
            Error::AllInUse => f.write_str("every candidate port id is taken"),
            Error::NoSuchPort(p) => write!(f, "no socket holds port id {p} (ECONNREFUSED)"),
            Error::Malformed => f.write_str("not one whole netlink message"),
            Error::Sys { call, errno } => write!(f, "{call} failed: errno {errno}"),
        }
    }
}

impl std::error::Error for Error {}

/// The calling thread's errno, right after a failed libc call.
pub fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// A `sockaddr_nl` for `portid`, no multicast groups.
pub fn sockaddr_nl(portid: u32) -> libc::sockaddr_nl {
    // SAFETY: sockaddr_nl is plain integers; all-zero bytes are valid.
    let mut addr: libc::sockaddr_nl = unsafe { mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    addr.nl_pid = portid;
    addr
}

/// `sizeof(struct sockaddr_nl)`, as the socket calls want it.
pub const SOCKADDR_NL_LEN: libc::socklen_t = mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;

/// A new, unbound `NETLINK_USERSOCK` socket whose receives time out after
/// [`RECV_TIMEOUT_SECS`].
pub fn open_socket() -> Result<OwnedFd, Error> {
    // SAFETY: socket() takes no pointers.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_USERSOCK,
        )
    };
    if fd < 0 {
        return Err(Error::Sys {
            call: "socket",
            errno: last_errno(),
        });
    }
    // SAFETY: fd is a descriptor we just opened and nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let timeout = libc::timeval {
        tv_sec: RECV_TIMEOUT_SECS,
        tv_usec: 0,
    };
    // SAFETY: timeout is a valid timeval and the length says so.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const timeout).cast(),
            mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(Error::Sys {
            call: "setsockopt",
            errno: last_errno(),
        });
    }
    Ok(fd)
}

/// The port id the kernel reports for `fd` (`getsockname`). Only
/// meaningful once `bind()` has succeeded: after a failed `bind()`, it
/// reports the port id the socket did not get.
pub fn local_portid(fd: &OwnedFd) -> Result<u32, Error> {
    let mut addr = sockaddr_nl(0);
    let mut len = SOCKADDR_NL_LEN;
    // SAFETY: addr has room for len bytes; the kernel writes at most that.
    let rc = unsafe { libc::getsockname(fd.as_raw_fd(), (&raw mut addr).cast(), &mut len) };
    if rc < 0 {
        return Err(Error::Sys {
            call: "getsockname",
            errno: last_errno(),
        });
    }
    Ok(addr.nl_pid)
}

/// One message as `Port::recv` returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The sender's port id, from the address `recvfrom()` filled in.
    pub from: u32,
    /// The header's `nlmsg_type`.
    pub nlmsg_type: u16,
    /// The header's `nlmsg_seq`.
    pub nlmsg_seq: u32,
    /// The header's `nlmsg_pid`: what the sender wrote, true or not.
    pub nlmsg_pid: u32,
    /// The payload: `nlmsg_len - 16` bytes.
    pub payload: Vec<u8>,
}

/// A bound `NETLINK_USERSOCK` socket and the port id it holds.
#[derive(Debug)]
pub struct Port {
    fd: OwnedFd,
    portid: u32,
}

impl Port {
    /// The port id this socket holds.
    pub fn portid(&self) -> u32 {
        self.portid
    }

    /// The socket's descriptor.
    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Open a socket with [`open_socket`] and `bind()` it to `portid`
    /// (0: let the kernel choose). Learn the port id it got with
    /// [`local_portid`].
    ///
    /// `EADDRINUSE` becomes [`Error::InUse`] with the port id asked for;
    /// any other failure [`Error::Sys`] with call `"bind"`.
    pub fn bind(portid: u32) -> Result<Port, Error> {
        // TODO: open_socket(), then libc::bind() with sockaddr_nl(portid)
        // (pass `(&raw const addr).cast()` and SOCKADDR_NL_LEN). On failure,
        // last_errno() says why: EADDRINUSE is Error::InUse. On success,
        // local_portid() says which port id the socket holds.
        todo!()
    }

    /// Bind to the first of `candidates` that is free: skip every one that
    /// is taken ([`Error::InUse`]), stop at any other error.
    /// [`Error::AllInUse`] if none is free or there are none.
    pub fn bind_first_free(candidates: impl IntoIterator<Item = u32>) -> Result<Port, Error> {
        // TODO: try Port::bind on each candidate, in order.
        todo!()
    }

    /// Send one netlink message to port id `to` with `sendto()`: a 16-byte
    /// header (`nlmsg_len` = 16 + payload length, `nlmsg_type`, flags 0,
    /// `nlmsg_seq`, `nlmsg_pid` = this socket's port id, all in host byte
    /// order), then `payload`.
    ///
    /// `ECONNREFUSED` becomes [`Error::NoSuchPort`] with `to`; any other
    /// failure [`Error::Sys`] with call `"sendto"`.
    pub fn send(
        &self,
        to: u32,
        nlmsg_type: u16,
        nlmsg_seq: u32,
        payload: &[u8],
    ) -> Result<(), Error> {
        // TODO: the 16-byte header (to_ne_bytes() for each field), then
        // the payload, sent with libc::sendto() to sockaddr_nl(to).
        todo!()
    }

    /// Receive one datagram with `recvfrom()` (waits up to
    /// [`RECV_TIMEOUT_SECS`]) and return its first netlink message, with
    /// the sender's port id from the address `recvfrom()` filled in.
    ///
    /// [`Error::Malformed`] unless: the datagram fit the buffer (use
    /// `MSG_TRUNC` to find out), holds at least a header, and its
    /// `nlmsg_len` is at least 16 and at most the datagram's size (padding
    /// after it may follow). A failed call is [`Error::Sys`] with call
    /// `"recvfrom"`.
    pub fn recv(&self) -> Result<Received, Error> {
        // TODO: libc::recvfrom() into a buffer (8192 bytes is plenty), with
        // MSG_TRUNC and a sockaddr_nl for the sender's address. Check every
        // length before slicing: never index past what arrived.
        todo!()
    }
}
