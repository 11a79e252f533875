//! Add and delete IPv4 addresses over raw rtnetlink: `RTM_NEWADDR` /
//! `RTM_DELADDR` with `NLM_F_ACK`, the ACK checked as for links
//! ([`crate::link`]). Chapters use them to give a dump or a listener
//! something to report, on `lo` of a fresh network namespace.

use std::fmt;
use std::net::Ipv4Addr;

use crate::link::{LinkError, request_ack};
use crate::nlmsg::MsgBuilder;
use crate::uapi::{
    IFA_ADDRESS, IFA_LOCAL, IFADDRMSG_LEN, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST,
    RTM_DELADDR, RTM_NEWADDR,
};

/// The loopback device's index: always 1 in a network namespace.
pub const LO_INDEX: u32 = 1;

/// One IPv4 address on one link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Addr {
    /// The link's index.
    pub ifindex: u32,
    /// The address.
    pub addr: Ipv4Addr,
    /// The prefix length.
    pub prefix: u8,
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// `struct ifaddrmsg` (`if_addr.h`) for IPv4: family `AF_INET`, the prefix
/// length, flags and scope 0, the link's index. Index 0 in a dump request
/// means every link.
pub fn ifaddrmsg(prefix: u8, ifindex: u32) -> [u8; IFADDRMSG_LEN] {
    let mut b = [0u8; IFADDRMSG_LEN];
    b[0] = libc::AF_INET as u8;
    b[1] = prefix;
    b[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    b
}

/// The request that adds (`RTM_NEWADDR`, `NLM_F_CREATE | NLM_F_EXCL`) or
/// deletes (`RTM_DELADDR`) `addr`, asking for an ACK.
pub fn request(kind: u16, addr: Addr, seq: u32) -> Result<Vec<u8>, LinkError> {
    let flags = match kind {
        RTM_NEWADDR => NLM_F_CREATE | NLM_F_EXCL,
        _ => 0,
    };
    request_with_flags(kind, addr, flags, seq)
}

/// The same request with `flags` of the caller's choosing (`NLM_F_CREATE`,
/// `NLM_F_EXCL`, `NLM_F_REPLACE`, `NLM_F_ECHO`) besides `NLM_F_REQUEST |
/// NLM_F_ACK`.
pub fn request_with_flags(
    kind: u16,
    addr: Addr,
    flags: u16,
    seq: u32,
) -> Result<Vec<u8>, LinkError> {
    let octets = addr.addr.octets();
    Ok(
        MsgBuilder::new(kind, NLM_F_REQUEST | NLM_F_ACK | flags, seq)
            .fixed(&ifaddrmsg(addr.prefix, addr.ifindex))
            .attr(IFA_LOCAL, &octets)
            .attr(IFA_ADDRESS, &octets)
            .finish()?,
    )
}

/// Add `addr`, on a socket of its own, and wait for the kernel's ACK.
pub fn add(addr: Addr) -> Result<(), LinkError> {
    const SEQ: u32 = 1;
    request_ack(
        &request(RTM_NEWADDR, addr, SEQ)?,
        SEQ,
        &format!("add {addr}"),
        "",
    )
}

/// Delete `addr`, on a socket of its own, and wait for the kernel's ACK.
pub fn delete(addr: Addr) -> Result<(), LinkError> {
    const SEQ: u32 = 1;
    request_ack(
        &request(RTM_DELADDR, addr, SEQ)?,
        SEQ,
        &format!("delete {addr}"),
        "",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::in_fresh_netns;

    fn lo(addr: Ipv4Addr) -> Addr {
        Addr {
            ifindex: LO_INDEX,
            addr,
            prefix: 32,
        }
    }

    #[test]
    fn requests_are_whole_messages() {
        let m = request(RTM_NEWADDR, lo(Ipv4Addr::new(10, 12, 0, 1)), 7).unwrap();
        // header 16 + ifaddrmsg 8 + two 8-byte attributes
        assert_eq!(m.len(), 40);
        assert_eq!(u32::from_ne_bytes([m[0], m[1], m[2], m[3]]), 40);
        assert_eq!(lo(Ipv4Addr::new(10, 0, 0, 1)).to_string(), "10.0.0.1/32");
    }

    #[test]
    fn add_twice_is_refused_and_delete_works() {
        let a = lo(Ipv4Addr::new(10, 12, 0, 1));
        let (first, again, gone, gone_again) =
            in_fresh_netns(|| (add(a), add(a), delete(a), delete(a))).unwrap();
        first.unwrap();
        assert!(
            matches!(again, Err(LinkError::Kernel { errno, .. }) if errno.0 == libc::EEXIST),
            "{again:?}"
        );
        gone.unwrap();
        assert!(
            matches!(gone_again, Err(LinkError::Kernel { .. })),
            "{gone_again:?}"
        );
    }
}
