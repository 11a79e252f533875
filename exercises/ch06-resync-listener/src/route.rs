//! Given: the rtnetlink calls the listener needs, over raw `libc`. You do
//! not change this file; the grader uses its own copy.
//!
//! - [`RouteSocket::listen`]: a `NETLINK_ROUTE` socket in the IPv4 address
//!   group, with the receive buffer you ask for.
//! - [`RouteSocket::recv_now`]: one receive that does not wait.
//! - [`dump`]: every IPv4 address of the namespace, asked on a socket of
//!   its own.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `RTNLGRP_IPV4_IFADDR`: group 5, bit 4 of `nl_groups`.
const IPV4_IFADDR_GROUPS: u32 = 1 << 4;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const NLMSG_HDRLEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;

/// An IPv4 address on an interface: `10.6.1.7/32@1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Addr {
    /// The address.
    pub addr: Ipv4Addr,
    /// Its prefix length.
    pub prefix: u8,
    /// The interface's index.
    pub ifindex: u32,
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}@{}", self.addr, self.prefix, self.ifindex)
    }
}

/// What one address event says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// `RTM_NEWADDR`: the address exists now.
    Added(Addr),
    /// `RTM_DELADDR`: it is gone.
    Removed(Addr),
}

/// A `NETLINK_ROUTE` socket.
pub struct RouteSocket {
    fd: OwnedFd,
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    match rc {
        -1 => Err(io::Error::last_os_error()),
        rc => Ok(rc),
    }
}

impl RouteSocket {
    /// A socket bound to the IPv4 address group, with `SO_RCVBUF`
    /// `rcvbuf`: from now on, every address change is queued for it.
    pub fn listen(rcvbuf: i32) -> io::Result<RouteSocket> {
        let sock = RouteSocket::open()?;
        // SAFETY: the option is an int of the size given.
        check(unsafe {
            libc::setsockopt(
                sock.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&raw const rcvbuf).cast(),
                size_of::<i32>() as libc::socklen_t,
            )
        })?;
        sock.bind(IPV4_IFADDR_GROUPS)?;
        Ok(sock)
    }

    fn open() -> io::Result<RouteSocket> {
        // SAFETY: plain socket(2); the fd is owned at once.
        let fd = check(unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        })?;
        // SAFETY: fd is a fresh descriptor nobody else owns.
        Ok(RouteSocket {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    fn bind(&self, groups: u32) -> io::Result<()> {
        // SAFETY: sockaddr_nl is plain data; all zeroes is valid.
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        sa.nl_groups = groups;
        // SAFETY: sa is a sockaddr_nl of the size given.
        check(unsafe {
            libc::bind(
                self.fd.as_raw_fd(),
                (&raw const sa).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        })
        .map(drop)
    }

    /// One `recv` that does not wait: `Ok(Some(changes))` for a datagram
    /// (the address changes it holds, in order), `Ok(None)` when nothing is
    /// queued (`EAGAIN`), and `Err` when the call fails, as it does once
    /// with `ENOBUFS` after the kernel dropped messages for this socket.
    pub fn recv_now(&self) -> io::Result<Option<Vec<Change>>> {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            // SAFETY: buf is valid for writes of buf.len() bytes.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if let Ok(len) = usize::try_from(n) {
                return parse(&buf[..len], None).map(|(changes, _)| Some(changes));
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) => return Ok(None),
                _ => return Err(e),
            }
        }
    }
}

/// Every IPv4 address of the namespace, from an `RTM_GETADDR` dump on a
/// socket of its own (so no event can mix into the answer).
pub fn dump() -> io::Result<BTreeSet<Addr>> {
    let sock = RouteSocket::open()?;
    sock.bind(0)?;
    let seq: u32 = 1;
    let mut req = Vec::with_capacity(NLMSG_HDRLEN + IFADDRMSG_LEN);
    req.extend_from_slice(&((NLMSG_HDRLEN + IFADDRMSG_LEN) as u32).to_ne_bytes());
    req.extend_from_slice(&RTM_GETADDR.to_ne_bytes());
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
    req.extend_from_slice(&flags.to_ne_bytes());
    req.extend_from_slice(&seq.to_ne_bytes());
    req.extend_from_slice(&0u32.to_ne_bytes());
    req.extend_from_slice(&[libc::AF_INET as u8, 0, 0, 0, 0, 0, 0, 0]);
    // SAFETY: req is valid for reads of req.len() bytes.
    if unsafe { libc::send(sock.fd.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut found = BTreeSet::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        // SAFETY: buf is valid for writes of buf.len() bytes.
        let n = unsafe { libc::recv(sock.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        let Ok(len) = usize::try_from(n) else {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        };
        let (changes, done) = parse(&buf[..len], Some(seq))?;
        for change in changes {
            if let Change::Added(a) = change {
                found.insert(a);
            }
        }
        if done {
            return Ok(found);
        }
    }
}

fn bad(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

/// The address changes of a datagram, and whether it ended a dump. With
/// `dump_seq`, an `NLMSG_ERROR` of that seq is the dump's failure.
fn parse(datagram: &[u8], dump_seq: Option<u32>) -> io::Result<(Vec<Change>, bool)> {
    let u16_at = |b: &[u8], at: usize| u16::from_ne_bytes([b[at], b[at + 1]]);
    let u32_at = |b: &[u8], at: usize| u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let mut changes = Vec::new();
    let mut rest = datagram;
    while rest.len() >= NLMSG_HDRLEN {
        let len = u32_at(rest, 0) as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            return Err(bad(format!("a message claims {len} bytes")));
        }
        let (kind, seq) = (u16_at(rest, 4), u32_at(rest, 8));
        let payload = &rest[NLMSG_HDRLEN..len];
        match kind {
            NLMSG_DONE if dump_seq == Some(seq) => return Ok((changes, true)),
            NLMSG_ERROR if dump_seq == Some(seq) => {
                let errno = payload.get(..4).map_or(0, |e| -(u32_at(e, 0) as i32));
                return Err(io::Error::from_raw_os_error(errno));
            }
            RTM_NEWADDR | RTM_DELADDR if payload.len() >= IFADDRMSG_LEN => {
                if let Some(addr) = address(payload) {
                    changes.push(match kind {
                        RTM_NEWADDR => Change::Added(addr),
                        _ => Change::Removed(addr),
                    });
                }
            }
            _ => {}
        }
        rest = rest.get((len + 3) & !3..).unwrap_or_default();
    }
    Ok((changes, false))
}

/// The IPv4 address of an `ifaddrmsg` and its attributes: `IFA_LOCAL`,
/// or `IFA_ADDRESS` without it.
fn address(payload: &[u8]) -> Option<Addr> {
    if payload[0] != libc::AF_INET as u8 {
        return None;
    }
    let (prefix, ifindex) = (
        payload[1],
        u32::from_ne_bytes(payload[4..8].try_into().ok()?),
    );
    let (mut local, mut address) = (None, None);
    let mut attrs = &payload[IFADDRMSG_LEN..];
    while attrs.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([attrs[0], attrs[1]]));
        let kind = u16::from_ne_bytes([attrs[2], attrs[3]]) & 0x3fff;
        if len < 4 || len > attrs.len() {
            return None;
        }
        if let Ok(ip) = <[u8; 4]>::try_from(&attrs[4..len]) {
            match kind {
                IFA_LOCAL => local = Some(Ipv4Addr::from(ip)),
                IFA_ADDRESS => address = Some(Ipv4Addr::from(ip)),
                _ => {}
            }
        }
        attrs = attrs.get((len + 3) & !3..).unwrap_or_default();
    }
    Some(Addr {
        addr: local.or(address)?,
        prefix,
        ifindex,
    })
}
