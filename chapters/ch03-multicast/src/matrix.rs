//! The permission matrix: for five netlink families, may this identity
//! join a multicast group (with `bind` and with `setsockopt`), and may it
//! send to one? Each cell is what the kernel answered, never a guess.
//!
//! [`probe`] makes the system calls; [`encode`] and [`decode`] carry one
//! identity's answers out of the child process that ran them; [`table`]
//! prints them.

use std::fmt::Write as _;

use nlbook_common::membership::{group_mask, join_group};
use nlbook_common::uapi::NLMSG_NOOP;
use nlbook_common::{Errno, NlMsgHdr, NlSocket};

// ANCHOR: families
/// A family and the group the matrix tries on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Family {
    /// The protocol number, `socket()`'s third argument.
    pub protocol: i32,
    /// Its name in `netlink.h`.
    pub name: &'static str,
    /// The group joined and sent to.
    pub group: u32,
    /// What the group is.
    pub group_name: &'static str,
}

/// The families of the matrix, each with a group its kernel side uses.
pub const FAMILIES: [Family; 5] = [
    Family {
        protocol: libc::NETLINK_ROUTE,
        name: "NETLINK_ROUTE",
        group: 1,
        group_name: "RTNLGRP_LINK",
    },
    Family {
        protocol: libc::NETLINK_USERSOCK,
        name: "NETLINK_USERSOCK",
        group: 22,
        group_name: "(no name)",
    },
    Family {
        protocol: libc::NETLINK_XFRM,
        name: "NETLINK_XFRM",
        group: 3,
        group_name: "XFRMNLGRP_SA",
    },
    Family {
        protocol: libc::NETLINK_KOBJECT_UEVENT,
        name: "NETLINK_KOBJECT_UEVENT",
        group: 1,
        group_name: "kernel uevents",
    },
    Family {
        protocol: libc::NETLINK_GENERIC,
        name: "NETLINK_GENERIC",
        group: 16,
        group_name: "nlctrl \"notify\"",
    },
];
// ANCHOR_END: families

// Every group of the matrix can be joined with bind(): it has a bit.
const _: () = {
    let mut i = 0;
    while i < FAMILIES.len() {
        assert!(group_mask(FAMILIES[i].group).is_some());
        i += 1;
    }
};

/// One answer of the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// The call succeeded.
    Ok,
    /// The call failed with this errno.
    Failed(Errno),
    /// `socket()` itself failed with this errno.
    NoSocket(Errno),
}

impl Cell {
    fn text(self) -> String {
        match self {
            Cell::Ok => "ok".to_owned(),
            Cell::Failed(e) => e.name().to_owned(),
            Cell::NoSocket(_) => "-".to_owned(),
        }
    }
}

/// One family's answers for one identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// `bind()` with the group's bit in `nl_groups`.
    pub join_bind: Cell,
    /// `bind()` without groups, then `NETLINK_ADD_MEMBERSHIP`.
    pub join_setsockopt: Cell,
    /// `sendto()` a message to the group (`nl_pid` 0, the group's bit).
    pub send: Cell,
}

/// Who ran the probes, as that process saw itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facts {
    /// `getuid()`, in the process's own user namespace.
    pub uid: u32,
    /// Whether `CAP_NET_ADMIN` was in its effective set.
    pub cap_net_admin: bool,
}

// ANCHOR: probe
/// Ask the kernel, on fresh sockets of `family`: may we join its group
/// with `bind`? With `setsockopt`? May we send to it?
pub fn probe(family: &Family) -> Row {
    let Some(mask) = group_mask(family.group) else {
        unreachable!("checked at compile time: every group of FAMILIES has a bit");
    };
    // NLMSG_NOOP without NLM_F_REQUEST: if the family's kernel socket gets
    // it too, it ignores it ("Only requests are handled by the kernel",
    // netlink_rcv_skb).
    let noop = NlMsgHdr {
        nlmsg_len: NlMsgHdr::LEN as u32,
        nlmsg_type: NLMSG_NOOP,
        nlmsg_flags: 0,
        nlmsg_seq: 1,
        nlmsg_pid: 0,
    }
    .to_bytes();
    Row {
        join_bind: on_fresh_socket(family, |s| s.bind(0, mask).map_err(|e| e.errno)),
        join_setsockopt: on_fresh_socket(family, |s| {
            s.bind(0, 0).map_err(|e| e.errno)?;
            join_group(s, family.group).map_err(|e| e.errno())
        }),
        send: on_fresh_socket(family, |s| {
            s.send_to(&noop, 0, mask).map(drop).map_err(|e| e.errno)
        }),
    }
}

/// Open a socket of `family` and make one attempt on it: the kernel's
/// answer, or `socket()`'s own failure.
fn on_fresh_socket(family: &Family, attempt: impl FnOnce(&NlSocket) -> Result<(), Errno>) -> Cell {
    match NlSocket::open(family.protocol) {
        Err(e) => Cell::NoSocket(e.errno),
        Ok(sock) => match attempt(&sock) {
            Ok(()) => Cell::Ok,
            Err(errno) => Cell::Failed(errno),
        },
    }
}
// ANCHOR_END: probe

fn encode_cell(cell: Cell) -> String {
    match cell {
        Cell::Ok => "ok".to_owned(),
        Cell::Failed(e) => format!("e{}", e.0),
        Cell::NoSocket(e) => format!("s{}", e.0),
    }
}

fn decode_cell(text: &str) -> Option<Cell> {
    if text == "ok" {
        return Some(Cell::Ok);
    }
    let (kind, number) = text.split_at_checked(1)?;
    let errno = Errno(number.parse().ok()?);
    match kind {
        "e" => Some(Cell::Failed(errno)),
        "s" => Some(Cell::NoSocket(errno)),
        _ => None,
    }
}

/// One identity's facts and rows as text, one line each, to pass through
/// a pipe: `uid 0 cap 1`, then `ok e1 s93` per family.
pub fn encode(facts: Facts, rows: &[Row]) -> String {
    let mut out = format!("uid {} cap {}\n", facts.uid, u8::from(facts.cap_net_admin));
    for r in rows {
        let cells = [r.join_bind, r.join_setsockopt, r.send].map(encode_cell);
        let _ = writeln!(out, "{}", cells.join(" "));
    }
    out
}

/// The inverse of [`encode`].
pub fn decode(text: &str) -> Result<(Facts, Vec<Row>), String> {
    let bad = || format!("malformed probe report: {text:?}");
    let mut lines = text.lines();
    let facts = match lines
        .next()
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .as_deref()
    {
        Some(["uid", uid, "cap", cap]) => Facts {
            uid: uid.parse().map_err(|_| bad())?,
            cap_net_admin: *cap == "1",
        },
        _ => return Err(bad()),
    };
    let rows = lines
        .map(|l| {
            let cells: Vec<Cell> = l.split(' ').map(decode_cell).collect::<Option<_>>()?;
            match cells[..] {
                [join_bind, join_setsockopt, send] => Some(Row {
                    join_bind,
                    join_setsockopt,
                    send,
                }),
                _ => None,
            }
        })
        .collect::<Option<Vec<Row>>>()
        .ok_or_else(bad)?;
    Ok((facts, rows))
}

/// Left-aligned columns two spaces apart, no trailing spaces.
fn columns(rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        widths.resize(widths.len().max(row.len()), 0);
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (cell, w) in row.iter().zip(&widths) {
            let _ = write!(line, "{cell:<w$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One identity's part of the matrix: its label and what it found.
pub struct Column<'a> {
    /// "root", "plain user", "unshare -Urn".
    pub label: &'a str,
    /// Its facts and rows, or why it could not run.
    pub result: Result<(Facts, Vec<Row>), String>,
}

/// The matrix: who each identity was, then per family one line per
/// identity, then what the errors mean.
pub fn table(columns_in: &[Column]) -> String {
    let mut out = String::from(
        "each identity works in a fresh network namespace; root's and the plain user's\n\
         belong to the initial user namespace, as the machine's own does\n",
    );
    out.push_str("identities, as each process saw itself:\n");
    let mut who = Vec::new();
    for c in columns_in {
        let text = match &c.result {
            Ok((facts, _)) => format!(
                "uid {}, CAP_NET_ADMIN {}",
                facts.uid,
                if facts.cap_net_admin { "yes" } else { "no" }
            ),
            Err(why) => why.clone(),
        };
        who.push(vec![format!("  {}", c.label), text]);
    }
    out.push_str(&columns(&who));

    let mut rows = vec![
        [
            "family",
            "group",
            "who",
            "socket()",
            "bind(nl_groups)",
            "ADD_MEMBERSHIP",
            "sendto(group)",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let mut seen = Vec::new();
    for (i, family) in FAMILIES.iter().enumerate() {
        for (n, c) in columns_in.iter().enumerate() {
            let (name, group) = if n == 0 {
                (
                    format!("{} ({})", family.name, family.protocol),
                    format!("{} {}", family.group, family.group_name),
                )
            } else {
                (String::new(), String::new())
            };
            let cells = match &c.result {
                Ok((_, r)) => match r.get(i) {
                    Some(row) => {
                        let cells = [row.join_bind, row.join_setsockopt, row.send];
                        seen.extend(cells);
                        // A family without a socket fails at socket(); the
                        // other columns then have nothing to say.
                        let socket = cells
                            .iter()
                            .find_map(|c| match c {
                                Cell::NoSocket(e) => Some(e.name().to_owned()),
                                _ => None,
                            })
                            .unwrap_or_else(|| "ok".to_owned());
                        std::iter::once(socket)
                            .chain(cells.map(Cell::text))
                            .collect()
                    }
                    None => vec!["(missing)".to_owned(); 4],
                },
                Err(_) => vec!["-".to_owned(); 4],
            };
            let mut row = vec![name, group, c.label.to_owned()];
            row.extend(cells);
            rows.push(row);
        }
    }
    out.push_str(&columns(&rows));

    for n in notes(&seen) {
        let _ = writeln!(out, "{n}");
    }
    out
}

/// What each answer that appears in the matrix means, once each.
fn notes(seen: &[Cell]) -> Vec<String> {
    let has = |want: Cell| seen.contains(&want);
    let mut notes = Vec::new();
    if has(Cell::Failed(Errno(libc::EPERM))) {
        notes.push(
            "EPERM: the family does not set NL_CFG_F_NONROOT_RECV (joining) or\n  \
             NL_CFG_F_NONROOT_SEND (sending), and the process lacks CAP_NET_ADMIN\n  \
             over the socket's network namespace",
        );
    }
    if has(Cell::Failed(Errno(libc::ECONNREFUSED))) {
        notes.push(
            "ECONNREFUSED: the message went to the group all the same, then on to\n  \
             port 0, where this family has no kernel socket to take it",
        );
    }
    if has(Cell::NoSocket(Errno(libc::EPROTONOSUPPORT))) {
        notes.push(
            "socket() EPROTONOSUPPORT: nothing in this kernel registered the family\n  \
             (one built as a module is registered once its module is loaded)",
        );
    }
    notes.into_iter().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Row> {
        vec![
            Row {
                join_bind: Cell::Ok,
                join_setsockopt: Cell::Ok,
                send: Cell::Failed(Errno(libc::EPERM)),
            },
            Row {
                join_bind: Cell::NoSocket(Errno(libc::EPROTONOSUPPORT)),
                join_setsockopt: Cell::NoSocket(Errno(libc::EPROTONOSUPPORT)),
                send: Cell::Failed(Errno(libc::ECONNREFUSED)),
            },
        ]
    }

    #[test]
    fn encode_and_decode_agree() {
        let facts = Facts {
            uid: 65534,
            cap_net_admin: false,
        };
        let text = encode(facts, &rows());
        assert_eq!(text, "uid 65534 cap 0\nok ok e1\ns93 s93 e111\n");
        assert_eq!(decode(&text), Ok((facts, rows())));
        assert!(decode("uid x cap 0\n").is_err());
        assert!(decode("uid 0 cap 0\nok ok\n").is_err());
        assert!(decode("uid 0 cap 0\nok ok x5\n").is_err());
        assert!(decode("").is_err());
    }

    #[test]
    fn the_table_names_every_answer_and_explains_it() {
        let facts = Facts {
            uid: 0,
            cap_net_admin: true,
        };
        let text = table(&[
            Column {
                label: "root",
                result: Ok((facts, rows())),
            },
            Column {
                label: "plain user",
                result: Err("could not become plain user".into()),
            },
        ]);
        let lines: Vec<&str> = text.lines().collect();
        let lines = &lines[2..]; // after the namespaces' description
        assert_eq!(lines[0], "identities, as each process saw itself:");
        assert_eq!(lines[1], "  root        uid 0, CAP_NET_ADMIN yes");
        assert_eq!(lines[2], "  plain user  could not become plain user");
        assert!(lines[3].starts_with("family"));
        let words = |n: usize| lines[n].split_whitespace().collect::<Vec<&str>>();
        assert_eq!(
            words(4),
            [
                "NETLINK_ROUTE",
                "(0)",
                "1",
                "RTNLGRP_LINK",
                "root",
                "ok",
                "ok",
                "ok",
                "EPERM"
            ]
        );
        assert_eq!(words(5), ["plain", "user", "-", "-", "-", "-"]);
        assert_eq!(
            words(6),
            [
                "NETLINK_USERSOCK",
                "(2)",
                "22",
                "(no",
                "name)",
                "root",
                "EPROTONOSUPPORT",
                "-",
                "-",
                "ECONNREFUSED"
            ]
        );
        assert!(text.contains("\nEPERM: "));
        assert!(text.contains("\nECONNREFUSED: "));
        assert!(text.contains("\nsocket() EPROTONOSUPPORT: "));
        assert!(text.lines().all(|l| l == l.trim_end()));
    }
}
