//! `ch03-namespaces`: a netlink socket belongs to the network namespace it
//! was created in, and a listener hears another namespace only when it asks
//! (`NETLINK_LISTEN_ALL_NSID`) and that namespace has an id in its own.
//!
//! Runs in a fresh network namespace A of its own (root, or `unshare -Urn`)
//! and makes a second one, B, on a thread of its own. Each namespace gets
//! IPv4 addresses on its `lo`: 10.3.0.1 in A, 10.3.0.2 and up in B, so an
//! address says where it was made. Every line is a fact of the run; no
//! namespace inode, port id or process id is printed.

use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ch03_multicast::nsid::{listen_all_nsid, recv_with_nsid, set_nsid};
use nlbook_common::address::{self, Addr, LO_INDEX, ifaddrmsg};
use nlbook_common::membership::NETLINK_ADD_MEMBERSHIP;
use nlbook_common::uapi::{
    IFA_LOCAL, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, RTM_GETADDR, RTM_NEWADDR, SOL_NETLINK,
};
use nlbook_common::{MsgBuilder, NlMsgIter, NlSocket, RtAttrIter, in_fresh_netns};

const PROGRAM: &str = "ch03-namespaces";
/// `RTNLGRP_IPV4_IFADDR` (`linux/rtnetlink.h`): new and deleted IPv4 addresses.
const RTNLGRP_IPV4_IFADDR: i32 = 5;
/// The id namespace A gives namespace B.
const NSID_OF_B: i32 = 7;

fn main() -> ExitCode {
    nlbook_common::main_in_fresh_netns(PROGRAM, run)
}

fn addr(last: u8) -> Addr {
    Addr {
        ifindex: LO_INDEX,
        addr: Ipv4Addr::new(10, 3, 0, last),
        prefix: 32,
    }
}

/// How long a requester waits for the kernel's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// The IPv4 addresses a dump through `sock` lists, in its order.
fn addresses_seen_by(sock: &NlSocket) -> Result<Vec<Ipv4Addr>> {
    let request = MsgBuilder::new(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1)
        .fixed(&ifaddrmsg(0, 0))
        .finish()?;
    sock.send_to(&request, 0, 0)?;
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let got = sock.recv(&mut buf)?;
        for msg in NlMsgIter::new(&buf[..got.len]) {
            let msg = msg?;
            match msg.header.nlmsg_type {
                NLMSG_DONE => return Ok(seen),
                RTM_NEWADDR => seen.extend(ifa_local(msg.payload)?),
                other => bail!("message type {other} in an address dump"),
            }
        }
    }
}

/// The `IFA_LOCAL` address of an `RTM_NEWADDR`'s payload (after its
/// 8-byte `ifaddrmsg`), every attribute checked.
fn ifa_local(payload: &[u8]) -> Result<Option<Ipv4Addr>> {
    let attrs = payload.get(8..).context("a short RTM_NEWADDR")?;
    let mut local = None;
    for attr in RtAttrIter::new(attrs) {
        let attr = attr?;
        if attr.rta_type == IFA_LOCAL
            && let Ok(octets) = <[u8; 4]>::try_from(attr.payload)
        {
            local.get_or_insert(Ipv4Addr::from(octets));
        }
    }
    Ok(local)
}

fn list(addresses: &[Ipv4Addr]) -> String {
    addresses
        .iter()
        .map(Ipv4Addr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the listener has queued now, without waiting: the notification
/// of a change is queued before the request that made it returns.
fn heard(listener: &NlSocket) -> Result<String> {
    let mut lines = Vec::new();
    while let Some((datagram, nsid)) = recv_with_nsid(listener)? {
        for msg in NlMsgIter::new(&datagram) {
            let msg = msg?;
            let local = ifa_local(msg.payload).ok().flatten();
            lines.push(format!(
                "{} {}, nsid {}",
                match msg.header.nlmsg_type {
                    RTM_NEWADDR => "RTM_NEWADDR".to_owned(),
                    other => format!("type {other}"),
                },
                local.map_or("?".to_owned(), |a| a.to_string()),
                nsid.map_or("none (its own namespace)".to_owned(), |n| n.to_string())
            ));
        }
    }
    Ok(match lines.is_empty() {
        true => "nothing".to_owned(),
        false => lines.join("; "),
    })
}

fn run() -> Result<()> {
    // ANCHOR: made_in_a
    let in_a = NlSocket::route(ANSWER_TIMEOUT)?;
    address::add(addr(1))?;
    let listener = NlSocket::route(ANSWER_TIMEOUT)?;
    listener.set_option(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, RTNLGRP_IPV4_IFADDR)?;
    listen_all_nsid(&listener)?;
    let nsid_setter = NlSocket::route(ANSWER_TIMEOUT)?;
    println!("namespace A: lo has 10.3.0.1; three sockets made here: a requester, a listener of");
    println!("  RTNLGRP_IPV4_IFADDR with NETLINK_LISTEN_ALL_NSID, and one to name namespaces");
    address::add(addr(9))?;
    println!(
        "  10.3.0.9 added in A; the listener hears: {}",
        heard(&listener)?
    );
    // ANCHOR_END: made_in_a

    // ANCHOR: enter_b
    in_fresh_netns(|| -> Result<()> {
        println!("this thread moves to a new namespace, B");
        address::add(addr(2))?;
        println!("  10.3.0.2 added in B (by a socket made in B)");
        println!(
            "  the requester made in A dumps: {}",
            list(&addresses_seen_by(&in_a)?)
        );
        println!(
            "  a requester made now, in B, dumps: {}",
            list(&addresses_seen_by(&NlSocket::route(ANSWER_TIMEOUT)?)?)
        );
        println!(
            "  the listener in A heard B's address: {}",
            heard(&listener)?
        );
        // ANCHOR_END: enter_b

        // ANCHOR: nsid
        let b = File::open("/proc/thread-self/ns/net").context("opening B's namespace")?;
        set_nsid(&nsid_setter, b.as_raw_fd(), NSID_OF_B)?;
        println!("  A gives B the id {NSID_OF_B} (RTM_NEWNSID, sent by A's socket)");
        address::add(addr(3))?;
        println!(
            "  10.3.0.3 added in B; the listener in A hears: {}",
            heard(&listener)?
        );
        // ANCHOR_END: nsid
        Ok(())
    })
    .map_err(anyhow::Error::from)
    .and_then(|r| r)
}
