//! `ch03-groups`: joining and leaving multicast groups on NETLINK_ROUTE,
//! step by step, and reading back after each step what the kernel holds
//! (`NETLINK_LIST_MEMBERSHIPS`). Then it brings `lo` up and shows that a
//! group joined with `bind()` and one joined with `setsockopt()` both
//! deliver the kernel's notifications.
//!
//! It works in a fresh network namespace of its own, so it needs root or
//! `unshare -Urn`, and never touches the host's:
//!
//! ```text
//! cargo xtask demo ch03 ch03-groups
//! ```

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use nlbook_common::membership::{
    MembershipError, group_mask, groups_in_bitmap, join_group, leave_group, list_memberships_into,
};
use nlbook_common::rtattr::cstr;
use nlbook_common::uapi::{IFINFOMSG_LEN, IFLA_IFNAME, NETLINK_ROUTE, RTM_NEWLINK};
use nlbook_common::{
    NLMSG_HDRLEN, NlMsg, NlMsgIter, NlSocket, RtAttrIter, exit_code, in_fresh_netns, nlmsg_align,
};

const PROGRAM: &str = "ch03-groups";

// rtnetlink.h: enum rtnetlink_groups (the groups this program uses)
const RTNLGRP_LINK: u32 = 1;
const RTNLGRP_IPV4_IFADDR: u32 = 5;
const RTNLGRP_NEXTHOP: u32 = 32;
const RTNLGRP_BRVLAN: u32 = 33;

// rtnetlink.h: the address family's messages
const RTM_NEWADDR: u16 = 20;
/// `sizeof(struct ifaddrmsg)`: family, prefixlen, flags, scope (u8 each), index (u32).
const IFADDRMSG_LEN: usize = 8;
// if_addr.h
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;

const RECV_TIMEOUT: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    if let Err(usage) = nlbook_common::no_arguments(PROGRAM) {
        return nlbook_common::exit_code(PROGRAM, Err(usage));
    }
    // The namespace's own error (no CAP_SYS_ADMIN) or the program's.
    let result = in_fresh_netns(run)
        .map_err(anyhow::Error::from)
        .and_then(|report| report.map(|text| print!("{text}")));
    exit_code(PROGRAM, result)
}

/// `0x00000011 0x00000001`.
fn hex_words(words: &[u32]) -> String {
    let hex: Vec<String> = words.iter().map(|w| format!("{w:#010x}")).collect();
    hex.join(" ")
}

/// `1 5 33`, or `none`.
fn group_list(groups: &[u32]) -> String {
    if groups.is_empty() {
        return "none".to_owned();
    }
    let list: Vec<String> = groups.iter().map(u32::to_string).collect();
    list.join(" ")
}

// ANCHOR: list_with_room
/// One `NETLINK_LIST_MEMBERSHIPS` with room for `room_words` words, in
/// words: what the kernel said it needs and what it copied.
fn list_with_room(sock: &NlSocket, room_words: usize) -> Result<String> {
    let mut words = vec![0u32; room_words];
    let needed = list_memberships_into(sock, &mut words)?;
    // The kernel copies whole words while they fit, and no more than the
    // bitmap has.
    words.truncate(needed / 4);
    let copied = if words.is_empty() {
        "nothing".to_owned()
    } else {
        hex_words(&words)
    };
    Ok(format!(
        "NETLINK_LIST_MEMBERSHIPS, room for {} bytes: the kernel needs {needed} bytes; copied {copied}",
        room_words * 4
    ))
}

/// The whole bitmap and the groups it holds.
fn bitmap_line(sock: &NlSocket) -> Result<String> {
    let needed = list_memberships_into(sock, &mut [])?;
    let mut words = vec![0u32; needed.div_ceil(4)];
    list_memberships_into(sock, &mut words)?;
    Ok(format!(
        "bitmap {}, groups: {}",
        hex_words(&words),
        group_list(&groups_in_bitmap(&words))
    ))
}
// ANCHOR_END: list_with_room

fn setsockopt_line(
    option: &str,
    group: u32,
    what: &str,
    result: Result<(), MembershipError>,
) -> String {
    let answer = match result {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.errno().to_string(),
    };
    format!("setsockopt({option}, {group}{what}): {answer}")
}

fn run() -> Result<String> {
    let mut out = String::new();
    macro_rules! say {
        ($($arg:tt)*) => { let _ = writeln!(out, $($arg)*); };
    }
    let mask = |g: u32| group_mask(g).context("groups 1 to 32 have a bit");
    say!("NETLINK_ROUTE, in a fresh network namespace");

    let sock = NlSocket::open(NETLINK_ROUTE)?;
    say!("1. a new socket");
    say!("   {}", list_with_room(&sock, 0)?);

    // ANCHOR: bind_groups
    // Group g is bit g - 1 of nl_groups.
    let groups = mask(RTNLGRP_LINK)? | mask(RTNLGRP_IPV4_IFADDR)?;
    sock.bind(0, groups)
        .map_err(|e| MembershipError::classify(e, RTNLGRP_LINK))?;
    // ANCHOR_END: bind_groups
    say!(
        "2. bind(nl_groups {groups:#010x}): groups {RTNLGRP_LINK} (RTNLGRP_LINK) and {RTNLGRP_IPV4_IFADDR} (RTNLGRP_IPV4_IFADDR)"
    );
    for room_words in [0, 1, 2] {
        say!("   {}", list_with_room(&sock, room_words)?);
    }

    // ANCHOR: beyond_32
    // No bit of nl_groups can name group 33: only the socket option can.
    join_group(&sock, RTNLGRP_BRVLAN)?;
    // ANCHOR_END: beyond_32
    say!("3. setsockopt(NETLINK_ADD_MEMBERSHIP, {RTNLGRP_BRVLAN} (RTNLGRP_BRVLAN)): ok");
    say!("   {}", bitmap_line(&sock)?);

    // A bound socket must name its own port id again (or get EINVAL).
    let portid = sock.portid()?;
    let groups = mask(RTNLGRP_LINK)? | mask(RTNLGRP_NEXTHOP)?;
    sock.bind(portid, groups)
        .map_err(|e| MembershipError::classify(e, RTNLGRP_LINK))?;
    say!(
        "4. bind again (same port id), nl_groups {groups:#010x}: groups {RTNLGRP_LINK} and {RTNLGRP_NEXTHOP} (RTNLGRP_NEXTHOP)"
    );
    say!("   {}", bitmap_line(&sock)?);

    say!("5. join and leave with setsockopt");
    for (option, group, what, result) in [
        (
            "NETLINK_ADD_MEMBERSHIP",
            RTNLGRP_IPV4_IFADDR,
            "",
            join_group(&sock, RTNLGRP_IPV4_IFADDR),
        ),
        (
            "NETLINK_DROP_MEMBERSHIP",
            RTNLGRP_BRVLAN,
            "",
            leave_group(&sock, RTNLGRP_BRVLAN),
        ),
        (
            "NETLINK_DROP_MEMBERSHIP",
            RTNLGRP_NEXTHOP,
            "",
            leave_group(&sock, RTNLGRP_NEXTHOP),
        ),
        (
            "NETLINK_DROP_MEMBERSHIP",
            7,
            ", never joined",
            leave_group(&sock, 7),
        ),
    ] {
        say!("   {}", setsockopt_line(option, group, what, result));
    }
    say!("   {}", bitmap_line(&sock)?);

    say!("6. groups that do not exist");
    for group in [0, 1000] {
        say!(
            "   {}",
            setsockopt_line(
                "NETLINK_ADD_MEMBERSHIP",
                group,
                "",
                join_group(&sock, group)
            )
        );
    }

    say!("7. bring lo up: the kernel multicasts what changed");
    sock.set_recv_timeout(RECV_TIMEOUT)?;
    nlbook_common::link::set_up("lo").context("bringing lo up")?;
    for line in notifications(&sock, mask(RTNLGRP_LINK)?, mask(RTNLGRP_IPV4_IFADDR)?)? {
        say!("   {line}");
    }
    Ok(out)
}

/// Read until the first `RTM_NEWLINK` for `lo` on group 1 and the first
/// `RTM_NEWADDR` on group 5 have arrived; say where each came from. Later
/// copies (the kernel may announce `lo` twice as its state settles) are
/// not printed; a message on a group we did not join is an error.
fn notifications(sock: &NlSocket, link_mask: u32, addr_mask: u32) -> Result<[String; 2]> {
    let mut link = None;
    let mut addr = None;
    let mut buf = vec![0u8; 32 * 1024];
    while link.is_none() || addr.is_none() {
        let got = sock
            .recv(&mut buf)
            .context("waiting for the notifications")?;
        ensure!(
            !got.truncated(),
            "a {}-byte notification did not fit",
            got.datagram_len
        );
        ensure!(
            got.from_portid == 0,
            "a notification from a user-space socket"
        );
        for msg in NlMsgIter::new(&buf[..got.len]) {
            let msg = msg?;
            let from = format!("from port 0, nl_groups {:#010x}", got.groups);
            match (msg.header.nlmsg_type, got.groups) {
                (RTM_NEWLINK, g) if g == link_mask => {
                    let name = link_name(&msg)?;
                    if name == "lo" && link.is_none() {
                        link = Some(format!(
                            "group {RTNLGRP_LINK}, joined by bind: RTM_NEWLINK, link {name}, {from}"
                        ));
                    }
                }
                (RTM_NEWADDR, g) if g == addr_mask => {
                    if addr.is_none() {
                        addr = Some(format!(
                            "group {RTNLGRP_IPV4_IFADDR}, joined by setsockopt: RTM_NEWADDR, {}, {from}",
                            address(&msg)?
                        ));
                    }
                }
                (ty, g) => bail!("unexpected message type {ty} on nl_groups {g:#010x}"),
            }
        }
    }
    Ok([link.unwrap_or_default(), addr.unwrap_or_default()])
}

/// `IFLA_IFNAME` of an `RTM_NEWLINK`.
fn link_name(msg: &NlMsg) -> Result<String> {
    let attrs = msg
        .payload
        .get(nlmsg_align(IFINFOMSG_LEN)..)
        .context("RTM_NEWLINK shorter than an ifinfomsg")?;
    for attr in RtAttrIter::at(
        attrs,
        msg.offset + NLMSG_HDRLEN + nlmsg_align(IFINFOMSG_LEN),
    ) {
        let attr = attr?;
        if attr.kind() == IFLA_IFNAME {
            return attr
                .cstr()
                .map(str::to_owned)
                .context("IFLA_IFNAME is not text");
        }
    }
    bail!("RTM_NEWLINK without IFLA_IFNAME")
}

/// `127.0.0.1/8 on lo`, from an IPv4 `RTM_NEWADDR`.
fn address(msg: &NlMsg) -> Result<String> {
    let p = msg.payload;
    ensure!(
        p.len() >= IFADDRMSG_LEN,
        "RTM_NEWADDR shorter than an ifaddrmsg"
    );
    let (family, prefixlen) = (p[0], p[1]);
    ensure!(
        i32::from(family) == libc::AF_INET,
        "RTM_NEWADDR of family {family}"
    );
    let mut local = None;
    let mut label = None;
    for attr in RtAttrIter::at(
        &p[IFADDRMSG_LEN..],
        msg.offset + NLMSG_HDRLEN + IFADDRMSG_LEN,
    ) {
        let attr = attr?;
        match attr.kind() {
            IFA_LOCAL => {
                let octets: [u8; 4] = attr
                    .payload
                    .try_into()
                    .context("IFA_LOCAL is not 4 bytes")?;
                local = Some(std::net::Ipv4Addr::from(octets));
            }
            IFA_LABEL => label = cstr(attr.payload),
            _ => {}
        }
    }
    let local = local.context("RTM_NEWADDR without IFA_LOCAL")?;
    let label = label.context("RTM_NEWADDR without IFA_LABEL")?;
    Ok(format!("{local}/{prefixlen} on {label}"))
}
