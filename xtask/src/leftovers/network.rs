//! The host's network namespace as the leftovers check compares it: its
//! links, addresses and routes, dumped over rtnetlink, one line each.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};

use nlbook_common::uapi::{
    NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, RTM_GETADDR, RTM_GETLINK, RTM_GETROUTE,
};
use nlbook_common::{MsgBuilder, NlMsgErr, NlMsgIter, NlSocket, RtAttrIter, rta_align};

/// The host's links, addresses and routes, one line each.
pub(super) fn network() -> Result<BTreeSet<String>> {
    let mut lines = BTreeSet::new();
    // The request's fixed header, zeroed: ifinfomsg, ifaddrmsg, rtmsg.
    for (request, fixed_len) in [(RTM_GETLINK, 16), (RTM_GETADDR, 8), (RTM_GETROUTE, 12)] {
        for message in rtnl_dump(request, fixed_len)? {
            if let Some(line) = describe(request, &message, fixed_len) {
                lines.insert(line);
            }
        }
    }
    Ok(lines)
}

/// The payloads (after the 16-byte header) of the answers to one dump.
fn rtnl_dump(request: u16, fixed_len: usize) -> Result<Vec<Vec<u8>>> {
    let sock = NlSocket::open(libc::NETLINK_ROUTE)?;
    let datagram = MsgBuilder::new(request, NLM_F_REQUEST | NLM_F_DUMP, 1)
        .fixed(&vec![0; fixed_len])
        .finish()?;
    sock.send_to(&datagram, 0, 0)?;
    let mut answers = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let got = sock.recv(&mut buf).context("reading a dump")?;
        if got.truncated() {
            bail!("a dump datagram did not fit in {} bytes", buf.len());
        }
        for msg in NlMsgIter::new(buf.get(..got.len).unwrap_or_default()) {
            let msg = msg.context("an answer to a dump")?;
            match msg.header.nlmsg_type {
                NLMSG_DONE => return Ok(answers),
                NLMSG_ERROR => {
                    if let Some(errno) = NlMsgErr::parse(&msg)?.errno() {
                        bail!("the kernel refused a dump: {errno}");
                    }
                }
                _ => answers.push(msg.payload.to_vec()),
            }
        }
    }
}

/// The attributes after a fixed header, by type (nested flag cleared); the
/// walk ends at the first malformed one.
fn attributes(payload: &[u8], fixed_len: usize) -> BTreeMap<u16, &[u8]> {
    RtAttrIter::new(payload.get(rta_align(fixed_len)..).unwrap_or_default())
        .map_while(Result::ok)
        .map(|attr| (attr.kind(), attr.payload))
        .collect()
}

fn u32_of(bytes: Option<&&[u8]>) -> Option<u32> {
    bytes.and_then(|b| Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?)))
}

fn text_of(bytes: Option<&&[u8]>) -> String {
    bytes.map_or(String::new(), |b| {
        String::from_utf8_lossy(b)
            .trim_end_matches('\0')
            .to_string()
    })
}

fn address_of(bytes: Option<&&[u8]>) -> String {
    match bytes {
        Some(b) if b.len() == 4 => {
            std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*b).unwrap_or_default()).to_string()
        }
        Some(b) if b.len() == 16 => {
            std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*b).unwrap_or_default()).to_string()
        }
        Some(b) => b
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
        None => "-".to_string(),
    }
}

/// One line for a link, an address or a route: the fields a test could
/// change, not the counters and carrier state that change by themselves.
fn describe(request: u16, payload: &[u8], fixed_len: usize) -> Option<String> {
    let fixed = payload.get(..fixed_len)?;
    let byte = |at: usize| fixed.get(at).copied();
    let u32_at = |at: usize| Some(u32::from_ne_bytes(fixed.get(at..at + 4)?.try_into().ok()?));
    let attrs = attributes(payload, fixed_len);
    Some(match request {
        RTM_GETLINK => {
            const IFF_UP: u32 = 1;
            let index = i32::from_ne_bytes(fixed.get(4..8)?.try_into().ok()?);
            let flags = u32_at(8)?;
            let kind = attrs
                .get(&18) // IFLA_LINKINFO
                .map(|info| text_of(attributes(info, 0).get(&1))) // IFLA_INFO_KIND
                .unwrap_or_default();
            format!(
                "link {index} {} {} mtu {} address {} master {} kind {kind}",
                text_of(attrs.get(&3)),
                if flags & IFF_UP != 0 { "up" } else { "down" },
                u32_of(attrs.get(&4)).unwrap_or(0),
                address_of(attrs.get(&1)),
                u32_of(attrs.get(&10)).unwrap_or(0),
            )
        }
        RTM_GETADDR => {
            let local = attrs.get(&2).or(attrs.get(&1)); // IFA_LOCAL, IFA_ADDRESS
            format!(
                "address {}/{} on link {}",
                address_of(local),
                byte(1)?,
                u32_at(4)?
            )
        }
        _ => format!(
            "route table {} {}/{} via {} link {} metric {} type {} protocol {}",
            u32_of(attrs.get(&15)).unwrap_or(u32::from(byte(4)?)),
            address_of(attrs.get(&1)),
            byte(1)?,
            address_of(attrs.get(&5)),
            u32_of(attrs.get(&4)).unwrap_or(0),
            u32_of(attrs.get(&6)).unwrap_or(0),
            byte(7)?,
            byte(5)?,
        ),
    })
}
