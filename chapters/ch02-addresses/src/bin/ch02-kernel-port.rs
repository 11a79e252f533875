//! `ch02-kernel-port`: port 0 is the kernel, when the protocol has a
//! kernel socket.
//!
//! Runs in a fresh network namespace of its own (root, or `unshare -Urn`).
//! On NETLINK_ROUTE, rtnetlink's kernel socket holds port 0 and answers; on
//! NETLINK_USERSOCK no kernel socket exists unless a module creates one, so
//! nothing holds port 0.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, bail};
use ch02_addresses::in_fresh_netns;
use ch02_addresses::ports::{message, yes_no};
use nlbook_common::uapi::{NETLINK_ROUTE, NLM_F_ACK, NLM_F_REQUEST, NLMSG_ERROR, NLMSG_NOOP};
use nlbook_common::{NlMsgErr, NlMsgIter, NlSocket, exit_code};

const PROGRAM: &str = "ch02-kernel-port";

fn main() -> ExitCode {
    if let Err(usage) = nlbook_common::no_arguments(PROGRAM) {
        return nlbook_common::exit_code(PROGRAM, Err(usage));
    }
    exit_code(PROGRAM, in_fresh_netns(run))
}

fn run() -> Result<()> {
    // ANCHOR: route
    let route = NlSocket::open(NETLINK_ROUTE)?;
    route.bind(0, 0)?;
    route.set_recv_timeout(Duration::from_secs(5))?;
    let ours = route.portid()?;
    // NLMSG_NOOP is a control message: netlink_rcv_skb() does nothing with
    // it but the acknowledgement NLM_F_ACK asks for.
    let noop = message(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 1, 0, &[])?;
    route.send_to(&noop, 0, 0)?; // to port 0
    let mut buf = [0u8; 1024];
    let got = route.recv(&mut buf)?;
    let Some(reply) = NlMsgIter::new(&buf[..got.len]).next() else {
        bail!("an empty datagram");
    };
    let reply = reply?;
    let header = reply.header;
    if header.nlmsg_type != NLMSG_ERROR {
        bail!("expected NLMSG_ERROR, got type {:#x}", header.nlmsg_type);
    }
    let ack = NlMsgErr::parse(&reply)?;
    println!("NETLINK_ROUTE, NLMSG_NOOP with NLM_F_ACK sent to port 0:");
    println!(
        "  answered with an ACK (NLMSG_ERROR, error 0): {}",
        yes_no(ack.errno().is_none())
    );
    println!(
        "  sender address of the answer (msg_name.nl_pid) is 0, the kernel: {}",
        yes_no(got.from_portid == 0)
    );
    println!(
        "  the answer's nlmsg_pid names its receiver, our port id: {}",
        yes_no(header.nlmsg_pid == ours)
    );
    // ANCHOR_END: route

    // ANCHOR: usersock
    let user = NlSocket::open(libc::NETLINK_USERSOCK)?;
    user.bind(0, 0)?;
    println!("NETLINK_USERSOCK, a message sent to port 0:");
    match user.send_to(&message(0x10, NLM_F_REQUEST, 1, 0, &[])?, 0, 0) {
        Ok(_) => println!("  sent: some kernel socket holds port 0 here"),
        Err(e) => println!("  {}: no socket holds port 0", e.errno),
    }
    // ANCHOR_END: usersock
    Ok(())
}
