//! IPv4 addresses on `lo` over rtnetlink: what the chapter's dumps walk.
//! A fresh network namespace's `lo` is down and holds no IPv4 address, so
//! after [`add_many`] the dump holds exactly the addresses added.

use std::net::Ipv4Addr;

use anyhow::{Context, Result, bail};
use nlbook_common::uapi::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST};
use nlbook_common::{MsgBuilder, NlSocket};

use crate::receive::until_finished;

/// `RTM_NEWADDR`, `RTM_DELADDR`, `RTM_GETADDR` (`linux/rtnetlink.h`).
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_DELADDR: u16 = 21;
pub const RTM_GETADDR: u16 = 22;
/// `IFA_ADDRESS`, `IFA_LOCAL` (`linux/if_addr.h`).
pub const IFA_ADDRESS: u16 = 1;
pub const IFA_LOCAL: u16 = 2;
/// `lo` is the first device of every network namespace.
pub const LO_INDEX: u32 = 1;

/// `struct ifaddrmsg`: family, prefix length, flags, scope, ifindex.
pub fn ifaddrmsg(prefixlen: u8, index: u32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = libc::AF_INET as u8;
    b[1] = prefixlen;
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b
}

/// The `n`-th address of the chapter's range, from 1: 10.12.0.1,
/// 10.12.0.2, ... (256 per third octet).
pub fn nth(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 12, 0, 0)) + n)
}

/// An `RTM_NEWADDR` request for `addr/32` on `lo`, asking for an ACK.
pub fn new_address(addr: Ipv4Addr, seq: u32) -> Result<Vec<u8>> {
    Ok(MsgBuilder::new(
        RTM_NEWADDR,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        seq,
    )
    .fixed(&ifaddrmsg(32, LO_INDEX))
    .attr(IFA_LOCAL, &addr.octets())
    .attr(IFA_ADDRESS, &addr.octets())
    .finish()?)
}

/// Add `addr/32` to `lo` and wait for the kernel's ACK.
pub fn add(sock: &NlSocket, addr: Ipv4Addr, seq: u32) -> Result<()> {
    sock.send_to(&new_address(addr, seq)?, 0, 0)?;
    let answer = until_finished(sock, seq, true, 8192, |_| Ok(()))?;
    let Some(last) = answer.last() else {
        bail!("RTM_NEWADDR {addr}: no answer");
    };
    match last.error()? {
        Some(e) => match e.errno {
            None => Ok(()),
            Some(errno) if errno.0 == libc::EPERM => bail!(
                "RTM_NEWADDR {addr}: {errno}: adding an address needs CAP_NET_ADMIN \
                 (run as root, or in namespaces of your own: `unshare -Urn`)"
            ),
            Some(errno) => bail!("RTM_NEWADDR {addr}: {errno}"),
        },
        None => bail!("RTM_NEWADDR {addr}: no ACK"),
    }
}

/// Add addresses 1 to `n` of the range, one acknowledged request each.
pub fn add_many(sock: &NlSocket, n: u32) -> Result<()> {
    for i in 1..=n {
        add(sock, nth(i), i).with_context(|| format!("adding address {i} of {n}"))?;
    }
    Ok(())
}

/// An `RTM_GETADDR` dump request for every IPv4 address.
pub fn dump_request(seq: u32) -> Result<Vec<u8>> {
    Ok(
        MsgBuilder::new(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq)
            .fixed(&ifaddrmsg(0, 0))
            .finish()?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range() {
        assert_eq!(nth(1), Ipv4Addr::new(10, 12, 0, 1));
        assert_eq!(nth(256), Ipv4Addr::new(10, 12, 1, 0));
    }

    #[test]
    fn requests_are_whole_messages() {
        let m = new_address(nth(1), 7).unwrap();
        // header 16 + ifaddrmsg 8 + two 8-byte attributes
        assert_eq!(m.len(), 40);
        assert_eq!(u32::from_ne_bytes([m[0], m[1], m[2], m[3]]), 40);
        assert_eq!(dump_request(1).unwrap().len(), 24);
    }
}
