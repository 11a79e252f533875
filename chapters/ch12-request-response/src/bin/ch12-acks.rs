//! `ch12-acks`: sequence numbers, `NLM_F_ACK`, `NLMSG_ERROR` and the
//! extended ACK, each rule shown by a request to rtnetlink.
//!
//! Runs in a fresh network namespace of its own (root, or `unshare -Urn`).
//! Every request goes to the kernel (port 0); every answer is printed with
//! the `recv` call that brought it.

use std::process::ExitCode;

use anyhow::Result;
use ch12_request_response::conversation::{ask, show, show_senders};
use ch12_request_response::receive::until_finished;
use ch12_request_response::{addresses, route_socket};
use nlbook_common::address;
use nlbook_common::link::ifinfomsg;
use nlbook_common::membership::NETLINK_ADD_MEMBERSHIP;
use nlbook_common::uapi::{
    IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINKINFO, NETLINK_EXT_ACK, NLM_F_ACK, NLM_F_CREATE,
    NLM_F_EXCL, NLM_F_REQUEST, RTM_DELADDR, RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, SOL_NETLINK,
};
use nlbook_common::{MsgBuilder, NlSocket};

const PROGRAM: &str = "ch12-acks";
/// `NETLINK_CAP_ACK` (`linux/netlink.h`): errors echo only the request's header.
const NETLINK_CAP_ACK: i32 = 10;
/// No device has this index in a fresh namespace.
const NO_SUCH_INDEX: i32 = 999;
/// `RTNLGRP_IPV4_IFADDR` (`linux/rtnetlink.h`): new and deleted IPv4 addresses.
const RTNLGRP_IPV4_IFADDR: i32 = 5;

fn main() -> ExitCode {
    nlbook_common::main_in_fresh_netns(PROGRAM, run)
}

fn get_link(index: i32, flags: u16, seq: u32) -> Result<Vec<u8>> {
    Ok(MsgBuilder::new(RTM_GETLINK, NLM_F_REQUEST | flags, seq)
        .fixed(&ifinfomsg(index, 0, 0))
        .finish()?)
}

fn run() -> Result<()> {
    let sock = route_socket()?;

    // ANCHOR: seq
    println!("1. The answer carries the request's sequence number.");
    ask(&sock, "RTM_GETLINK lo", &get_link(1, 0, 1)?, 1, false)?;

    println!("2. NLM_F_ACK: after the reply, an NLMSG_ERROR with error 0.");
    ask(
        &sock,
        "RTM_GETLINK lo",
        &get_link(1, NLM_F_ACK, 2)?,
        2,
        true,
    )?;

    println!("3. Errors are always reported, NLM_F_ACK or not.");
    let missing = get_link(NO_SUCH_INDEX, 0, 3)?;
    ask(&sock, "RTM_GETLINK ifindex 999", &missing, 3, false)?;
    // ANCHOR_END: seq

    // ANCHOR: ext_ack
    println!("4. With NETLINK_EXT_ACK, the kernel says why.");
    sock.set_option(SOL_NETLINK, NETLINK_EXT_ACK, 1)?;
    let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    let unknown_kind = MsgBuilder::new(RTM_NEWLINK, flags, 4)
        .fixed(&ifinfomsg(0, 0, 0))
        .attr_str(IFLA_IFNAME, "ch12")
        .nested(IFLA_LINKINFO, |b| {
            b.attr_str(IFLA_INFO_KIND, "no-such-kind")
        })
        .finish()?;
    ask(
        &sock,
        "RTM_NEWLINK kind \"no-such-kind\"",
        &unknown_kind,
        4,
        true,
    )?;

    println!("5. A bad attribute: the extended ACK points at it.");
    let long_name = MsgBuilder::new(RTM_NEWLINK, flags, 5)
        .fixed(&ifinfomsg(0, 0, 0))
        .attr_str(IFLA_IFNAME, "a-name-of-20-bytes!")
        .finish()?;
    println!("     (IFLA_IFNAME starts at byte 32: 16 of nlmsghdr, 16 of ifinfomsg)");
    ask(
        &sock,
        "RTM_NEWLINK with a 20-byte IFLA_IFNAME",
        &long_name,
        5,
        true,
    )?;
    // ANCHOR_END: ext_ack

    // ANCHOR: cap_ack
    println!("6. NETLINK_CAP_ACK: errors echo only the request's header.");
    sock.set_option(SOL_NETLINK, NETLINK_CAP_ACK, 1)?;
    let long_name_again = MsgBuilder::new(RTM_NEWLINK, flags, 6)
        .fixed(&ifinfomsg(0, 0, 0))
        .attr_str(IFLA_IFNAME, "a-name-of-20-bytes!")
        .finish()?;
    ask(&sock, "the same request", &long_name_again, 6, true)?;
    // ANCHOR_END: cap_ack

    // ANCHOR: pipeline
    println!("7. Several requests in flight: answers come in order, matched by seq.");
    for (seq, index) in [(7, 1), (8, NO_SUCH_INDEX), (9, 1)] {
        println!("  -> RTM_GETLINK ifindex {index}, seq {seq}, NLM_F_ACK");
        sock.send_to(&get_link(index, NLM_F_ACK, seq)?, 0, 0)?;
    }
    for seq in [7, 8, 9] {
        show(&until_finished(&sock, seq, true, 8192, |_| Ok(()))?)?;
    }
    // ANCHOR_END: pipeline

    notification_with_our_seq(&sock)
}

// ANCHOR: notification
/// Step 8: a socket in the address group adds an address. rtnetlink
/// announces the new address to the group with the request's seq and port
/// id, then acknowledges: two messages with seq 10, and only the sender's
/// address tells the notification from the answer.
fn notification_with_our_seq(sock: &NlSocket) -> Result<()> {
    println!("8. A notification can carry our seq: the sender's address tells it from the answer.");
    let group = RTNLGRP_IPV4_IFADDR;
    sock.set_option(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)?;
    println!("     (the socket joins RTNLGRP_IPV4_IFADDR, group {group})");
    let added = address::request(RTM_NEWADDR, addresses::nth(1), 10)?;
    println!("  -> RTM_NEWADDR 10.12.0.1/32 on lo, seq 10, NLM_F_ACK");
    sock.send_to(&added, 0, 0)?;
    show_senders(sock, 2)?;
    println!("  the same for the delete, read with until_finished (which skips notifications):");
    let deleted = address::request(RTM_DELADDR, addresses::nth(1), 11)?;
    println!("  -> RTM_DELADDR 10.12.0.1/32, seq 11, NLM_F_ACK");
    sock.send_to(&deleted, 0, 0)?;
    let answer = until_finished(sock, 11, true, 8192, |_| Ok(()))?;
    show(&answer)?;
    match answer.first().map(|a| a.recv) {
        Some(2) => println!("     (recv 1 brought the RTM_DELADDR notification, left out)"),
        Some(n) if n > 2 => println!("     (recv 1 to {} brought notifications, left out)", n - 1),
        _ => {}
    }
    Ok(())
}
// ANCHOR_END: notification
