//! The inspector's demo: sockets with known roles in a fresh network
//! namespace, then one dump, printed so that it is the same on every run of
//! a given kernel: sockets are named by role, never by port id or inode.
//!
//! Memory numbers (`rmem`, `rcvbuf`) depend on the kernel's `sizeof(struct
//! sk_buff)` and on `net.core.rmem_default`, so the book shows the demo as
//! run in the VM lab's pinned kernel.

use anyhow::{Context, Result, bail, ensure};
use nlbook_common::membership::{MembershipError, join_group};
use nlbook_common::uapi::{NETLINK_ROUTE, NLMSG_NOOP};
use nlbook_common::{MsgBuilder, NlSocket};

use crate::diag::{self, SocketInfo};
use crate::groups::{hex_bytes, hex_words, nl_groups_bit};
use crate::inspect::{Dump, Reported, dedupe, groups_column, mem_columns};
use crate::membership::{Memberships, NETLINK_NO_ENOBUFS, list_memberships, socket_inode};
use crate::procfs::{self, ProcEntry};
use crate::table::Table;

// include/uapi/linux/rtnetlink.h: enum rtnetlink_groups
/// Link changes.
pub const RTNLGRP_LINK: u32 = 1;
/// Group 2 (`RTMGRP_NOTIFY` in the old bitmask names), to which no kernel
/// code of Linux 6.1 sends: the demo's flood is all that arrives there.
pub const RTNLGRP_NOTIFY: u32 = 2;
/// Neighbour (ARP, NDP) changes.
pub const RTNLGRP_NEIGH: u32 = 3;
/// Bridge VLAN changes: the first group above 32.
pub const RTNLGRP_BRVLAN: u32 = 33;
/// Link statistics: the last group of Linux 6.1 and 6.12 (`RTNLGRP_MAX`).
pub const RTNLGRP_STATS: u32 = 36;

/// `NETLINK_USERSOCK` (`include/uapi/linux/netlink.h`): user-to-user.
pub const NETLINK_USERSOCK: i32 = 2;
/// The group of the book's multicast examples (chapters 3 and 7).
pub const USERSOCK_GROUP: u32 = 22;

/// How many messages the sender multicasts to the slow reader.
pub const FLOOD: usize = 8;

/// One socket the demo made.
#[derive(Debug)]
pub struct Role {
    /// What the report calls it.
    pub name: &'static str,
    /// What was done to it, in words.
    pub what: String,
    /// The socket, kept open until the dump is done.
    pub sock: NlSocket,
    /// Its inode, to find it in the dump and in `/proc`.
    pub inode: u64,
}

impl Role {
    fn new(name: &'static str, protocol: i32, what: String) -> Result<Self> {
        let sock = NlSocket::open(protocol)?;
        let inode = socket_inode(&sock)?;
        Ok(Role {
            name,
            what,
            sock,
            inode,
        })
    }
}

// ANCHOR: scenario
/// Make the demo's sockets. Call it in a fresh network namespace: it joins
/// groups and multicasts there.
pub fn scenario() -> Result<Vec<Role>> {
    let link = nl_groups_bit(RTNLGRP_LINK).context("group 1 has an nl_groups bit")?;
    let notify = nl_groups_bit(RTNLGRP_NOTIFY).context("group 2 has an nl_groups bit")?;

    // Group 1 through bind()'s nl_groups, group 36 through setsockopt():
    // nl_groups has no bit for it.
    let monitor = Role::new(
        "monitor",
        NETLINK_ROUTE,
        format!("bind() with nl_groups {link:#010x}, then NETLINK_ADD_MEMBERSHIP {RTNLGRP_STATS}"),
    )?;
    monitor
        .sock
        .bind(0, link)
        .map_err(|e| MembershipError::classify(e, RTNLGRP_LINK))?;
    join_group(&monitor.sock, RTNLGRP_STATS)?;

    let bridge = Role::new(
        "bridge-watcher",
        NETLINK_ROUTE,
        format!("bind(), then NETLINK_ADD_MEMBERSHIP {RTNLGRP_BRVLAN}"),
    )?;
    bridge.sock.bind(0, 0)?;
    join_group(&bridge.sock, RTNLGRP_BRVLAN)?;

    // Joined, never bound: on mc_list but in no hash table, port id 0.
    let unbound = Role::new(
        "never-bound",
        NETLINK_ROUTE,
        format!("NETLINK_ADD_MEMBERSHIP {RTNLGRP_NEIGH}, no bind()"),
    )?;
    join_group(&unbound.sock, RTNLGRP_NEIGH)?;

    // SO_RCVBUF 1: the kernel doubles it and raises it to SOCK_MIN_RCVBUF.
    let slow = Role::new(
        "slow-reader",
        NETLINK_ROUTE,
        format!("bind(), SO_RCVBUF 1, NETLINK_NO_ENOBUFS, NETLINK_ADD_MEMBERSHIP {RTNLGRP_NOTIFY}"),
    )?;
    slow.sock.bind(0, 0)?;
    slow.sock.set_option(libc::SOL_SOCKET, libc::SO_RCVBUF, 1)?;
    slow.sock
        .set_option(nlbook_common::uapi::SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)?;
    join_group(&slow.sock, RTNLGRP_NOTIFY)?;

    // A user socket may multicast where NL_CFG_F_NONROOT_SEND is set or
    // with CAP_NET_ADMIN. Port 0 gets a copy too: rtnetlink ignores it, as
    // it carries no NLM_F_REQUEST.
    let sender = Role::new(
        "sender",
        NETLINK_ROUTE,
        format!(
            "bind(), then {FLOOD} messages to nl_groups {notify:#010x} (group {RTNLGRP_NOTIFY}), \
             nobody reads"
        ),
    )?;
    sender.sock.bind(0, 0)?;
    let noop = MsgBuilder::new(NLMSG_NOOP, 0, 0).finish()?;
    for _ in 0..FLOOD {
        sender.sock.send_to(&noop, 0, notify)?;
    }

    let usersock = Role::new(
        "usersock",
        NETLINK_USERSOCK,
        format!("bind(), NETLINK_ADD_MEMBERSHIP {USERSOCK_GROUP}"),
    )?;
    usersock.sock.bind(0, 0)?;
    join_group(&usersock.sock, USERSOCK_GROUP)?;

    Ok(vec![monitor, bridge, unbound, slow, sender, usersock])
}
// ANCHOR_END: scenario

/// The request line of the report, from the request's own bytes.
fn request_lines() -> Result<String> {
    let req = diag::request(
        crate::inspect::DUMP_SEQ,
        diag::NDIAG_PROTO_ALL,
        crate::inspect::SHOW,
    )?;
    let r = req
        .get(nlbook_common::NLMSG_HDRLEN..)
        .context("the request has no netlink_diag_req")?;
    ensure!(
        r.len() == diag::NETLINK_DIAG_REQ_LEN,
        "netlink_diag_req is 20 bytes"
    );
    let show = u32::from_ne_bytes([r[8], r[9], r[10], r[11]]);
    let show_names: Vec<&str> = [
        (diag::NDIAG_SHOW_MEMINFO, "NDIAG_SHOW_MEMINFO"),
        (diag::NDIAG_SHOW_GROUPS, "NDIAG_SHOW_GROUPS"),
        (diag::NDIAG_SHOW_FLAGS, "NDIAG_SHOW_FLAGS"),
    ]
    .iter()
    .filter(|(bit, _)| show & bit != 0)
    .map(|(_, name)| *name)
    .collect();
    Ok(format!(
        "request: SOCK_DIAG_BY_FAMILY ({}), NLM_F_REQUEST|NLM_F_DUMP, netlink_diag_req of {} bytes:\n  \
         sdiag_family AF_NETLINK ({}), sdiag_protocol {}, ndiag_show {}\n",
        diag::SOCK_DIAG_BY_FAMILY,
        r.len(),
        r[0],
        if r[1] == diag::NDIAG_PROTO_ALL {
            "NDIAG_PROTO_ALL (255)".to_owned()
        } else {
            r[1].to_string()
        },
        show_names.join("|"),
    ))
}

/// A row of the report: a role of ours, or a socket of the kernel's.
struct Row<'a> {
    label: String,
    socket: &'a Reported,
    role: Option<&'a Role>,
    memberships: Option<Memberships>,
}

/// Label every socket of the dump: our roles by inode, the asking socket,
/// and the kernel's own sockets, which are all that is left in a fresh
/// namespace. Anything else means the namespace is not ours alone.
fn label<'a>(roles: &'a [Role], dump: &Dump, sockets: &'a [Reported]) -> Result<Vec<Row<'a>>> {
    let mut rows: Vec<Row<'a>> = Vec::new();
    for role in roles {
        let socket = sockets
            .iter()
            .find(|s| u64::from(s.info.msg.inode) == role.inode)
            .with_context(|| format!("the dump did not report the {} socket", role.name))?;
        rows.push(Row {
            label: role.name.to_owned(),
            socket,
            role: Some(role),
            memberships: Some(list_memberships(&role.sock)?),
        });
    }
    let inspector = sockets
        .iter()
        .find(|s| u64::from(s.info.msg.inode) == dump.inspector_inode)
        .context("the dump did not report the socket that asked for it")?;
    rows.push(Row {
        label: "inspector".to_owned(),
        socket: inspector,
        role: None,
        memberships: None,
    });
    for s in sockets {
        let ino = u64::from(s.info.msg.inode);
        if ino == dump.inspector_inode || roles.iter().any(|r| r.inode == ino) {
            continue;
        }
        // Kernel sockets come from sock_create_lite(.., SOCK_DGRAM, ..) and
        // sit at port 0.
        if s.info.msg.portid != 0 || s.info.msg.sock_type != libc::SOCK_DGRAM as u8 {
            bail!(
                "a socket the demo did not make: {}; is the namespace shared?",
                diag::describe(&s.info)
            );
        }
        rows.push(Row {
            label: "kernel".to_owned(),
            socket: s,
            role: None,
            memberships: None,
        });
    }
    Ok(rows)
}

fn portid_column(info: &SocketInfo) -> &'static str {
    if info.msg.portid == 0 {
        "0"
    } else {
        "assigned"
    }
}

/// The whole demo, with the dump done by `dump` (raw or neli). Runs in a
/// fresh network namespace of its own.
pub fn run<E>(dump: impl FnOnce() -> Result<Dump, E> + Send) -> Result<String>
where
    E: Into<anyhow::Error>,
{
    nlbook_common::in_fresh_netns(|| -> Result<String> {
        let roles = scenario()?;
        let dump = dump().map_err(Into::into)?;
        let proc_entries = procfs::read()?;
        report(&roles, &dump, &proc_entries)
    })?
}

/// The demo's report: what was done, the dump, `/proc` beside it, and the
/// group bitmaps as the kernel sends them.
pub fn report(roles: &[Role], dump: &Dump, proc_entries: &[ProcEntry]) -> Result<String> {
    let sockets = dedupe(&dump.replies);
    let rows = label(roles, dump, &sockets)?;
    let mut out = String::new();

    out.push_str("NETLINK_SOCK_DIAG dump of a fresh network namespace\n");
    out.push_str(&request_lines()?);
    out.push_str("the demo's sockets, by role (port ids and inodes change from run to run):\n");
    let mut t = Table::new(["role", "protocol", "what was done"]);
    for r in roles {
        let protocol = sockets
            .iter()
            .find(|s| u64::from(s.info.msg.inode) == r.inode)
            .map_or_else(String::new, |s| diag::protocol_name(s.info.msg.protocol));
        t.row([r.name.to_owned(), protocol, r.what.clone()]);
    }
    t.row([
        "inspector".into(),
        "SOCK_DIAG".into(),
        "sent the dump request".into(),
    ]);
    out.push_str(&indent(&t.render()));

    let twice = sockets.iter().filter(|s| s.times > 1).count();
    out.push_str(&format!(
        "the dump: {} messages describe {} sockets; {} sockets were described twice:\n",
        dump.replies.len(),
        sockets.len(),
        twice
    ));
    let mut t = Table::new([
        "role", "protocol", "type", "port id", "groups", "rmem", "rcvbuf", "drops", "flags",
        "reported",
    ]);
    for row in &rows {
        let info = &row.socket.info;
        let (rmem, rcvbuf, drops) = mem_columns(info);
        t.row([
            row.label.clone(),
            diag::protocol_name(info.msg.protocol),
            sock_type_name(info.msg.sock_type),
            portid_column(info).to_owned(),
            groups_column(info),
            rmem,
            rcvbuf,
            drops,
            info.flags.map_or_else(|| "?".to_owned(), diag::flag_names),
            format!("{}x", row.socket.times),
        ]);
    }
    out.push_str(&indent(&t.render()));

    out.push_str(
        "/proc/thread-self/net/netlink beside the dump (its sk, Pid and Inode columns replaced):\n",
    );
    let mut t = Table::new([
        "role",
        "Eth",
        "Pid",
        "Groups",
        "Rmem",
        "Drops",
        "dump: groups",
    ]);
    for row in &rows {
        let info = &row.socket.info;
        let entry = proc_entries
            .iter()
            .find(|e| e.inode == u64::from(info.msg.inode));
        match entry {
            Some(e) => t.row([
                row.label.clone(),
                e.protocol.to_string(),
                if e.portid == 0 { "0" } else { "assigned" }.to_owned(),
                format!("{:08x}", e.groups),
                e.rmem.to_string(),
                e.drops.to_string(),
                groups_column(info),
            ]),
            None => t.row([
                row.label.clone(),
                "(not listed)".into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                groups_column(info),
            ]),
        }
    }
    out.push_str(&indent(&t.render()));

    out.push_str("the group bitmaps as user space receives them, word 0 first:\n");
    let mut t = Table::new([
        "role",
        "NETLINK_DIAG_GROUPS bytes",
        "NETLINK_LIST_MEMBERSHIPS words",
    ]);
    for row in rows.iter().filter(|r| r.role.is_some()) {
        let diag_bytes = row.socket.info.groups.as_ref().map_or_else(
            || "(no attribute)".to_owned(),
            |g| format!("{} ({} bytes)", hex_bytes(&g.raw), g.raw.len()),
        );
        let list = row.memberships.as_ref().map_or_else(String::new, |m| {
            if m.len == 0 {
                "(0 bytes)".to_owned()
            } else {
                format!("{} ({} bytes)", hex_words(&m.words), m.len)
            }
        });
        t.row([row.label.clone(), diag_bytes, list]);
        if let (Some(g), Some(m)) = (&row.socket.info.groups, &row.memberships) {
            ensure!(
                g.groups == m.groups(),
                "{}: NETLINK_DIAG_GROUPS says {}, NETLINK_LIST_MEMBERSHIPS says {}",
                row.label,
                g.groups,
                m.groups()
            );
        }
    }
    out.push_str(&indent(&t.render()));
    out.push_str("  (both name the same groups for every socket)\n");
    Ok(out)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// `SOCK_RAW`, `SOCK_DGRAM`, or the number.
fn sock_type_name(t: u8) -> String {
    match i32::from(t) {
        libc::SOCK_RAW => "RAW".into(),
        libc::SOCK_DGRAM => "DGRAM".into(),
        other => other.to_string(),
    }
}
