//! IPv4 addresses over rtnetlink: dump them, parse the `RTM_NEWADDR` /
//! `RTM_DELADDR` events of group `RTNLGRP_IPV4_IFADDR`, and the table a
//! listener keeps. Adding and deleting (with the ACK checked) are
//! `nlbook_common::address`'s, re-exported here.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
pub use nlbook_common::address::{Addr, LO_INDEX, add, delete, ifaddrmsg};
use nlbook_common::uapi::{
    IFA_ADDRESS, IFA_LOCAL, IFADDRMSG_LEN, NETLINK_ROUTE, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE,
    NLMSG_ERROR, RTM_DELADDR, RTM_GETADDR, RTM_NEWADDR,
};
use nlbook_common::{
    Malformed, MsgBuilder, NLMSG_HDRLEN, NlMsg, NlMsgErr, NlMsgIter, NlSocket, Problem, RtAttrIter,
};

/// The group of IPv4 address events: group 5, bit 4 of `nl_groups`
/// (`include/uapi/linux/rtnetlink.h`).
pub const RTNLGRP_IPV4_IFADDR: u32 = 5;

/// What an address message says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// `RTM_NEWADDR`: the address exists.
    New(Addr),
    /// `RTM_DELADDR`: it is gone.
    Del(Addr),
}

/// Parse an IPv4 `RTM_NEWADDR` / `RTM_DELADDR`; `None` for anything else,
/// and for a message that does not decode (see [`decode`] for why).
pub fn parse(msg: &NlMsg<'_>) -> Option<Event> {
    decode(msg).ok().flatten()
}

/// Decode an address message: `Ok(None)` for other messages (another type,
/// another family, no address attribute), an error naming the offset in the
/// datagram for one that is malformed. The address is `IFA_LOCAL`, or
/// `IFA_ADDRESS` without it.
pub fn decode(msg: &NlMsg<'_>) -> Result<Option<Event>, Malformed> {
    let kind = msg.header.nlmsg_type;
    if kind != RTM_NEWADDR && kind != RTM_DELADDR {
        return Ok(None);
    }
    let payload_at = msg.offset + NLMSG_HDRLEN;
    let Some(fixed) = msg.payload.first_chunk::<IFADDRMSG_LEN>() else {
        return Err(Malformed {
            what: "ifaddrmsg",
            offset: payload_at,
            problem: Problem::Truncated {
                have: msg.payload.len(),
                need: IFADDRMSG_LEN,
            },
        });
    };
    if fixed[0] != libc::AF_INET as u8 {
        return Ok(None);
    }
    let prefix = fixed[1];
    let ifindex = u32::from_ne_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
    let mut local = None;
    let mut address = None;
    let attrs = msg.payload.get(IFADDRMSG_LEN..).unwrap_or_default();
    for attr in RtAttrIter::at(attrs, payload_at + IFADDRMSG_LEN) {
        let attr = attr?;
        let slot = match attr.kind() {
            IFA_LOCAL => &mut local,
            IFA_ADDRESS => &mut address,
            _ => continue,
        };
        let Ok(ip) = <[u8; 4]>::try_from(attr.payload) else {
            return Err(Malformed {
                what: "IPv4 address attribute",
                offset: attr.offset,
                problem: Problem::Invalid(format!("{} bytes, not 4", attr.payload.len())),
            });
        };
        *slot = Some(Ipv4Addr::from(ip));
    }
    let Some(addr) = local.or(address) else {
        return Ok(None);
    };
    let addr = Addr {
        ifindex,
        addr,
        prefix,
    };
    Ok(Some(if kind == RTM_NEWADDR {
        Event::New(addr)
    } else {
        Event::Del(addr)
    }))
}

// ANCHOR: dump
/// Every IPv4 address in the namespace: an `RTM_GETADDR` dump on `sock`,
/// read to `NLMSG_DONE`. Other messages met on the way (events, if `sock`
/// is also a listener) are returned too, in order, for the caller to judge.
pub fn dump_on(sock: &NlSocket, seq: u32) -> Result<BTreeSet<Addr>> {
    let request = MsgBuilder::new(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq)
        .fixed(&ifaddrmsg(0, 0))
        .finish()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    sock.send_to(&request, 0, 0)?;
    let mut found = BTreeSet::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let got = sock.recv(&mut buf).context("RTM_GETADDR dump")?;
        if got.truncated() {
            bail!("a dump datagram did not fit in {} bytes", buf.len());
        }
        for msg in NlMsgIter::new(&buf[..got.len]) {
            let msg = msg?;
            if msg.header.nlmsg_seq != seq {
                continue; // not part of the dump
            }
            match msg.header.nlmsg_type {
                NLMSG_DONE => return Ok(found),
                NLMSG_ERROR => {
                    let e = NlMsgErr::parse(&msg)?.errno();
                    bail!("RTM_GETADDR dump: the kernel answered {e:?}");
                }
                _ => {
                    // A malformed address message is an error, not a gap
                    // in the table nobody would notice.
                    if let Some(Event::New(a)) =
                        decode(&msg).context("an RTM_GETADDR dump message")?
                    {
                        found.insert(a);
                    }
                }
            }
        }
    }
}

/// [`dump_on`] a fresh socket of its own.
pub fn dump() -> Result<BTreeSet<Addr>> {
    let sock = NlSocket::open(NETLINK_ROUTE)?;
    sock.bind(0, 0)?;
    sock.set_recv_timeout(Duration::from_secs(5))?;
    dump_on(&sock, 1)
}
// ANCHOR_END: dump

/// `10.6.<block>.<n>/32` on `lo`: the addresses the demos create.
pub fn demo_addr(block: u8, n: u8) -> Addr {
    Addr {
        ifindex: LO_INDEX,
        addr: Ipv4Addr::new(10, 6, block, n),
        prefix: 32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlbook_common::uapi::NLMSG_MIN_TYPE;

    fn addr_msg(kind: u16, a: Addr) -> Vec<u8> {
        let o = a.addr.octets();
        MsgBuilder::new(kind, 0, 0)
            .fixed(&ifaddrmsg(a.prefix, a.ifindex))
            .attr(IFA_ADDRESS, &o)
            .attr(IFA_LOCAL, &o)
            .finish()
            .unwrap()
    }

    #[test]
    fn parses_what_it_builds() {
        let a = demo_addr(1, 7);
        for (kind, want) in [(RTM_NEWADDR, Event::New(a)), (RTM_DELADDR, Event::Del(a))] {
            let bytes = addr_msg(kind, a);
            let msg = NlMsgIter::new(&bytes).next().unwrap().unwrap();
            assert_eq!(parse(&msg), Some(want));
        }
        assert_eq!(a.to_string(), "10.6.1.7/32");
    }

    #[test]
    fn ignores_other_messages_and_short_payloads() {
        let other = MsgBuilder::new(NLMSG_MIN_TYPE, 0, 0).finish().unwrap();
        let msg = NlMsgIter::new(&other).next().unwrap().unwrap();
        assert_eq!(parse(&msg), None);
        let short = MsgBuilder::new(RTM_NEWADDR, 0, 0)
            .fixed(&[2, 32])
            .finish()
            .unwrap();
        let msg = NlMsgIter::new(&short).next().unwrap().unwrap();
        assert_eq!(parse(&msg), None);
    }

    #[test]
    fn malformed_address_messages_name_the_offset() {
        let short = MsgBuilder::new(RTM_NEWADDR, 0, 0)
            .fixed(&[2, 32])
            .finish()
            .unwrap();
        let msg = NlMsgIter::new(&short).next().unwrap().unwrap();
        assert_eq!(
            decode(&msg).unwrap_err().to_string(),
            "malformed ifaddrmsg at offset 16: needs 8 bytes, only 4 left"
        );
        let a = demo_addr(1, 7);
        let bad = MsgBuilder::new(RTM_NEWADDR, 0, 0)
            .fixed(&ifaddrmsg(a.prefix, a.ifindex))
            .attr(IFA_ADDRESS, &a.addr.octets())
            .attr(IFA_LOCAL, &[10, 6])
            .finish()
            .unwrap();
        let msg = NlMsgIter::new(&bad).next().unwrap().unwrap();
        // nlmsghdr 16 + ifaddrmsg 8 + IFA_ADDRESS 8: IFA_LOCAL at 32.
        assert_eq!(
            decode(&msg).unwrap_err().to_string(),
            "malformed IPv4 address attribute at offset 32: 2 bytes, not 4"
        );
        assert_eq!(parse(&msg), None);
    }
}
