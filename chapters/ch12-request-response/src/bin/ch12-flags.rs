//! `ch12-flags`: the flags that say what a NEW request may do
//! (`NLM_F_CREATE`, `NLM_F_EXCL`, `NLM_F_REPLACE`), `NLM_F_ECHO`, and
//! `NETLINK_GET_STRICT_CHK`, each against rtnetlink.
//!
//! Runs in a fresh network namespace of its own (root, or `unshare -Urn`),
//! on `lo` and its IPv4 addresses, with `NETLINK_EXT_ACK` on so that every
//! refusal says why.

use std::process::ExitCode;

use anyhow::Result;
use ch12_request_response::addresses::nth;
use ch12_request_response::conversation::{ask, show, show_senders};
use ch12_request_response::receive::until_finished;
use ch12_request_response::route_socket;
use nlbook_common::address::{self, Addr};
use nlbook_common::link::ifinfomsg;
use nlbook_common::uapi::{
    IFLA_IFNAME, IFLA_MTU, NETLINK_EXT_ACK, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_ECHO,
    NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST, RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, SOL_NETLINK,
};
use nlbook_common::{Errno, MsgBuilder, NlSocket};

const PROGRAM: &str = "ch12-flags";
/// `NETLINK_GET_STRICT_CHK` (`linux/netlink.h`): check dump requests'
/// headers and attributes strictly.
const NETLINK_GET_STRICT_CHK: i32 = 12;
/// `lo`'s index in every network namespace.
const LO: i32 = 1;

fn main() -> ExitCode {
    nlbook_common::main_in_fresh_netns(PROGRAM, run)
}

/// An `RTM_NEWADDR` for `addr` with `flags` besides `NLM_F_REQUEST | NLM_F_ACK`.
fn new_addr(addr: Addr, flags: u16, seq: u32) -> Result<Vec<u8>> {
    Ok(address::request_with_flags(RTM_NEWADDR, addr, flags, seq)?)
}

/// An `RTM_NEWLINK` for the link called `name`, with `flags`, optionally
/// setting its MTU.
fn new_link(name: &str, mtu: Option<u32>, flags: u16, seq: u32) -> Result<Vec<u8>> {
    let mut b = MsgBuilder::new(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | flags, seq)
        .fixed(&ifinfomsg(0, 0, 0))
        .attr_str(IFLA_IFNAME, name);
    if let Some(mtu) = mtu {
        b = b.attr(IFLA_MTU, &mtu.to_ne_bytes());
    }
    Ok(b.finish()?)
}

fn run() -> Result<()> {
    let sock = route_socket()?;
    sock.set_option(SOL_NETLINK, NETLINK_EXT_ACK, 1)?;
    let first = nth(1);

    // ANCHOR: create_excl
    println!("1. NLM_F_CREATE | NLM_F_EXCL: create, and fail if it exists.");
    let create_excl = NLM_F_CREATE | NLM_F_EXCL;
    ask(
        &sock,
        &format!("RTM_NEWADDR {first}, CREATE|EXCL"),
        &new_addr(first, create_excl, 1)?,
        1,
        true,
    )?;
    ask(
        &sock,
        "the same again",
        &new_addr(first, create_excl, 2)?,
        2,
        true,
    )?;

    println!(
        "2. Without EXCL an existing address is still refused, unless REPLACE says to change it."
    );
    ask(
        &sock,
        "RTM_NEWADDR, CREATE",
        &new_addr(first, NLM_F_CREATE, 3)?,
        3,
        true,
    )?;
    let replace = NLM_F_CREATE | NLM_F_REPLACE;
    ask(
        &sock,
        "RTM_NEWADDR, CREATE|REPLACE",
        &new_addr(first, replace, 4)?,
        4,
        true,
    )?;

    println!("3. Each handler decides: IPv4 addresses are created without NLM_F_CREATE.");
    let second = nth(2);
    ask(
        &sock,
        &format!("RTM_NEWADDR {second}, no flag"),
        &new_addr(second, 0, 5)?,
        5,
        true,
    )?;
    // ANCHOR_END: create_excl

    // ANCHOR: links
    println!(
        "4. Links check all three: a missing link without CREATE, lo with EXCL, with REPLACE, with neither."
    );
    ask(
        &sock,
        "RTM_NEWLINK \"nosuch0\", no flag",
        &new_link("nosuch0", None, 0, 6)?,
        6,
        true,
    )?;
    ask(
        &sock,
        "RTM_NEWLINK \"lo\", CREATE|EXCL",
        &new_link("lo", None, create_excl, 7)?,
        7,
        true,
    )?;
    ask(
        &sock,
        "RTM_NEWLINK \"lo\", REPLACE",
        &new_link("lo", None, NLM_F_REPLACE, 8)?,
        8,
        true,
    )?;
    ask(
        &sock,
        "RTM_NEWLINK \"lo\" mtu 9000, no flag: a change",
        &new_link("lo", Some(9000), 0, 9)?,
        9,
        true,
    )?;
    // ANCHOR_END: links

    // ANCHOR: echo
    println!(
        "5. NLM_F_ECHO: the notification of the change is sent to the requester too, before the ACK, and still names its group."
    );
    let third = nth(3);
    let echo = create_excl | NLM_F_ECHO;
    println!("  -> RTM_NEWADDR {third}, CREATE|EXCL|ECHO, seq 10, NLM_F_ACK");
    sock.send_to(&new_addr(third, echo, 10)?, 0, 0)?;
    show_senders(&sock, 2)?;
    // ANCHOR_END: echo

    // ANCHOR: strict
    println!("6. NETLINK_GET_STRICT_CHK: a dump request's header is checked, not ignored.");
    let by_index = |seq| -> Result<Vec<u8>> {
        Ok(
            MsgBuilder::new(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq)
                .fixed(&ifinfomsg(LO, 0, 0))
                .finish()?,
        )
    };
    println!("  -> RTM_GETLINK dump with ifi_index {LO} in its header, seq 11");
    sock.send_to(&by_index(11)?, 0, 0)?;
    show(&until_finished(&sock, 11, true, 32 * 1024, |_| Ok(()))?)?;
    let strict = route_socket()?;
    strict.set_option(SOL_NETLINK, NETLINK_EXT_ACK, 1)?;
    strict.set_option(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)?;
    println!("  the same on a socket with NETLINK_GET_STRICT_CHK:");
    println!("  -> RTM_GETLINK dump with ifi_index {LO} in its header, seq 12");
    strict.send_to(&by_index(12)?, 0, 0)?;
    show(&until_finished(&strict, 12, true, 32 * 1024, |_| Ok(()))?)?;
    // ANCHOR_END: strict
    check_unused(&sock)
}

/// Nothing else may be waiting on the socket: every answer was read whole.
fn check_unused(sock: &NlSocket) -> Result<()> {
    sock.set_recv_timeout(std::time::Duration::from_millis(100))?;
    let mut buf = vec![0u8; 8192];
    match sock.recv(&mut buf) {
        Ok(got) => anyhow::bail!("{} bytes left unread after the last answer", got.len),
        Err(e) if e.errno == Errno(libc::EAGAIN) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
