//! The link dump: the namespace it looks at, the links it finds, and the
//! report that `ch01-links-raw` and `ch01-links-neli` both print.
//!
//! The report holds only facts that are the same on every kernel and every
//! run: no port ids, no message or datagram counts (a dump is split into
//! datagrams as the kernel sees fit), no statistics.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Result, bail};
use nlbook_common::NlMsgHdr;
use nlbook_common::link::{self, LinkError, Mac};
use nlbook_common::uapi::{
    NLM_F_ACK, NLM_F_DUMP_FILTERED, NLM_F_DUMP_INTR, NLM_F_ECHO, NLM_F_MATCH, NLM_F_MULTI,
    NLM_F_REQUEST, NLM_F_ROOT, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, RTM_DELLINK,
    RTM_GETLINK, RTM_NEWLINK, RTM_SETLINK,
};

// ANCHOR: setup
/// The veth pair the dumps find besides `lo`: `veth0` and its peer `veth1`,
/// with fixed, locally administered hardware addresses (bit 1 of the first
/// byte set) so the report is the same on every run.
pub const VETH: (&str, Mac) = ("veth0", [0x02, 0, 0, 0, 0, 0x01]);
/// The peer of [`VETH`].
pub const VETH_PEER: (&str, Mac) = ("veth1", [0x02, 0, 0, 0, 0, 0x02]);

/// Fill the fresh namespace the dump will look at: bring `lo` up and create
/// the veth pair.
///
/// Why veth and not dummy: both are classic test links, but the dummy driver
/// is missing from some kernels (this project's host kernel among them),
/// while veth is in every kernel that runs containers. One kind everywhere
/// keeps the report the same everywhere.
pub fn setup_namespace() -> Result<(), LinkError> {
    link::set_up("lo")?;
    link::create_veth_pair(VETH.0, VETH.1, VETH_PEER.0, VETH_PEER.1)
}
// ANCHOR_END: setup

/// The dump request's sequence number; every reply must carry it.
pub const DUMP_SEQ: u32 = 1;

/// How long to wait for each datagram of the dump before giving up.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(5);

/// Large enough for any datagram of a link dump: the kernel fills dump
/// datagrams up to 32 KiB at most (`netlink_dump` in `net/netlink/af_netlink.c`).
pub const DUMP_BUFFER_LEN: usize = 32 * 1024;

/// One link, as the dump described it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// `ifi_index`.
    pub index: i32,
    /// `IFLA_IFNAME`.
    pub name: String,
    /// `ifi_type`: an `ARPHRD_*` value.
    pub arphrd: u16,
    /// `ifi_flags`: `IFF_*` bits.
    pub flags: u32,
    /// `IFLA_MTU`, if present.
    pub mtu: Option<u32>,
    /// `IFLA_ADDRESS`, if present.
    pub address: Option<Vec<u8>>,
}

/// Check one reply of the dump: it answers our request (same seq) and was
/// addressed to our socket (our port id in `nlmsg_pid`).
pub fn check_reply(header: &NlMsgHdr, our_portid: u32) -> Result<()> {
    if header.nlmsg_seq != DUMP_SEQ {
        bail!(
            "reply {} carries nlmsg_seq {}, but the request had {DUMP_SEQ}",
            nlmsg_type_name(header.nlmsg_type),
            header.nlmsg_seq
        );
    }
    if header.nlmsg_pid != our_portid {
        bail!(
            "reply {} is addressed to port {}, not to ours",
            nlmsg_type_name(header.nlmsg_type),
            header.nlmsg_pid
        );
    }
    Ok(())
}

// ANCHOR: report
/// The report both link programs print: the request they sent, then one line
/// per link, sorted by ifindex.
pub fn report(request: &NlMsgHdr, ifi_family: u8, links: &[Link]) -> String {
    let mut out = String::new();
    let r = request;
    let _ = writeln!(out, "request: nlmsghdr (16 bytes) + ifinfomsg (16 bytes)");
    let _ = writeln!(out, "  nlmsg_len    {}", r.nlmsg_len);
    let _ = writeln!(out, "  nlmsg_type   {}", nlmsg_type_name(r.nlmsg_type));
    let _ = writeln!(out, "  nlmsg_flags  {}", get_flags_names(r.nlmsg_flags));
    let _ = writeln!(out, "  nlmsg_seq    {}", r.nlmsg_seq);
    let _ = writeln!(out, "  nlmsg_pid    {}", r.nlmsg_pid);
    let _ = writeln!(out, "  ifi_family   {}", family_name(ifi_family));
    let _ = writeln!(out, "our port id: assigned by the kernel (nonzero)");
    let _ = writeln!(
        out,
        "replies: all carried nlmsg_seq {} and our port id; the last was NLMSG_DONE",
        r.nlmsg_seq
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "links: {}", links.len());

    let mut sorted: Vec<&Link> = links.iter().collect();
    sorted.sort_by_key(|l| l.index);
    let mut rows = vec![["ifindex", "name", "type", "flags", "mtu", "address"].map(String::from)];
    for l in sorted {
        rows.push([
            l.index.to_string(),
            l.name.clone(),
            arphrd_name(l.arphrd),
            iff_names(l.flags),
            l.mtu.map_or_else(|| "-".to_owned(), |m| m.to_string()),
            l.address
                .as_deref()
                .map_or_else(|| "-".to_owned(), format_mac),
        ]);
    }
    out.push_str(&table(&rows));
    out
}
// ANCHOR_END: report

/// Left-aligned columns two spaces apart, no trailing spaces.
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (cell, w) in row.iter().zip(widths) {
            let _ = write!(line, "{cell:<w$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `02:00:00:00:00:01`.
pub fn format_mac(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.join(":")
}

/// A message type by its name: `RTM_GETLINK (18)`.
pub fn nlmsg_type_name(ty: u16) -> String {
    let name = match ty {
        NLMSG_NOOP => "NLMSG_NOOP",
        NLMSG_ERROR => "NLMSG_ERROR",
        NLMSG_DONE => "NLMSG_DONE",
        NLMSG_OVERRUN => "NLMSG_OVERRUN",
        RTM_NEWLINK => "RTM_NEWLINK",
        RTM_DELLINK => "RTM_DELLINK",
        RTM_GETLINK => "RTM_GETLINK",
        RTM_SETLINK => "RTM_SETLINK",
        _ => return format!("type {ty}"),
    };
    format!("{name} ({ty})")
}

/// The flags of a GET request by name: `NLM_F_REQUEST|NLM_F_DUMP (0x301)`.
/// (Bits 8 and up mean other things in NEW and DELETE requests.)
pub fn get_flags_names(flags: u16) -> String {
    let mut names = Vec::new();
    let mut rest = flags;
    let mut take = |bits: u16, name: &'static str| {
        if rest & bits == bits {
            names.push(name);
            rest &= !bits;
        }
    };
    take(NLM_F_REQUEST, "NLM_F_REQUEST");
    take(NLM_F_MULTI, "NLM_F_MULTI");
    take(NLM_F_ACK, "NLM_F_ACK");
    take(NLM_F_ECHO, "NLM_F_ECHO");
    take(NLM_F_DUMP_INTR, "NLM_F_DUMP_INTR");
    take(NLM_F_DUMP_FILTERED, "NLM_F_DUMP_FILTERED");
    take(NLM_F_ROOT | NLM_F_MATCH, "NLM_F_DUMP");
    take(NLM_F_ROOT, "NLM_F_ROOT");
    take(NLM_F_MATCH, "NLM_F_MATCH");
    let mut s = names.join("|");
    if rest != 0 {
        if !s.is_empty() {
            s.push('|');
        }
        let _ = write!(s, "{rest:#x}");
    }
    if s.is_empty() {
        s.push('0');
    }
    format!("{s} ({flags:#x})")
}

/// An address family by name, for `ifi_family`.
pub fn family_name(family: u8) -> String {
    let name = match i32::from(family) {
        libc::AF_UNSPEC => "AF_UNSPEC",
        libc::AF_INET => "AF_INET",
        libc::AF_INET6 => "AF_INET6",
        libc::AF_PACKET => "AF_PACKET",
        libc::AF_BRIDGE => "AF_BRIDGE",
        _ => return format!("family {family}"),
    };
    format!("{name} ({family})")
}

// ANCHOR: names
/// A link type (`ifi_type`, `ARPHRD_*` in `if_arp.h`) by name: `ETHER (1)`.
pub fn arphrd_name(arphrd: u16) -> String {
    let name = match arphrd {
        0 => "NETROM",
        1 => "ETHER",
        24 => "IEEE1394",
        32 => "INFINIBAND",
        512 => "PPP",
        768 => "TUNNEL",
        769 => "TUNNEL6",
        772 => "LOOPBACK",
        776 => "SIT",
        778 => "IPGRE",
        801 => "IEEE80211",
        803 => "IEEE80211_RADIOTAP",
        823 => "IP6GRE",
        824 => "NETLINK",
        0xfffe => "NONE",
        0xffff => "VOID",
        _ => return format!("ARPHRD {arphrd}"),
    };
    format!("{name} ({arphrd})")
}

/// Link flags (`ifi_flags`, `IFF_*` in `if.h`) by name, lowest bit first:
/// `UP|LOOPBACK|RUNNING|LOWER_UP`. Unknown bits are shown in hex.
pub fn iff_names(flags: u32) -> String {
    const NAMES: [&str; 19] = [
        "UP",          // 0x1
        "BROADCAST",   // 0x2
        "DEBUG",       // 0x4
        "LOOPBACK",    // 0x8
        "POINTOPOINT", // 0x10
        "NOTRAILERS",  // 0x20
        "RUNNING",     // 0x40: operationally up (RFC 2863)
        "NOARP",       // 0x80
        "PROMISC",     // 0x100
        "ALLMULTI",    // 0x200
        "MASTER",      // 0x400
        "SLAVE",       // 0x800
        "MULTICAST",   // 0x1000
        "PORTSEL",     // 0x2000
        "AUTOMEDIA",   // 0x4000
        "DYNAMIC",     // 0x8000
        "LOWER_UP",    // 0x10000: the carrier is on
        "DORMANT",     // 0x20000
        "ECHO",        // 0x40000
    ];
    let mut parts: Vec<String> = NAMES
        .iter()
        .enumerate()
        .filter(|(bit, _)| flags & (1 << bit) != 0)
        .map(|(_, name)| (*name).to_owned())
        .collect();
    let unknown = flags & !((1 << NAMES.len()) - 1);
    if unknown != 0 {
        parts.push(format!("{unknown:#x}"));
    }
    if parts.is_empty() {
        return "0".to_owned();
    }
    parts.join("|")
}
// ANCHOR_END: names

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(get_flags_names(0x301), "NLM_F_REQUEST|NLM_F_DUMP (0x301)");
        assert_eq!(
            get_flags_names(0x105),
            "NLM_F_REQUEST|NLM_F_ACK|NLM_F_ROOT (0x105)"
        );
        assert_eq!(get_flags_names(0x1001), "NLM_F_REQUEST|0x1000 (0x1001)");
        assert_eq!(get_flags_names(0), "0 (0x0)");
        assert_eq!(iff_names(0x10049), "UP|LOOPBACK|RUNNING|LOWER_UP");
        assert_eq!(iff_names(0x1002), "BROADCAST|MULTICAST");
        assert_eq!(iff_names(0x80000), "0x80000");
        assert_eq!(iff_names(0), "0");
        assert_eq!(arphrd_name(772), "LOOPBACK (772)");
        assert_eq!(arphrd_name(4242), "ARPHRD 4242");
        assert_eq!(nlmsg_type_name(18), "RTM_GETLINK (18)");
        assert_eq!(nlmsg_type_name(99), "type 99");
        assert_eq!(format_mac(&[2, 0, 0, 0, 0, 0xab]), "02:00:00:00:00:ab");
    }

    #[test]
    fn report_sorts_and_aligns() {
        let request = NlMsgHdr {
            nlmsg_len: 32,
            nlmsg_type: RTM_GETLINK,
            nlmsg_flags: 0x301,
            nlmsg_seq: 1,
            nlmsg_pid: 0,
        };
        let links = [
            Link {
                index: 2,
                name: "veth1".into(),
                arphrd: 1,
                flags: 0x1002,
                mtu: Some(1500),
                address: Some(vec![2, 0, 0, 0, 0, 2]),
            },
            Link {
                index: 1,
                name: "lo".into(),
                arphrd: 772,
                flags: 0x10049,
                mtu: None,
                address: None,
            },
        ];
        let text = report(&request, 0, &links);
        let table: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("ifindex"))
            .collect();
        assert_eq!(
            table,
            [
                "ifindex  name   type            flags                         mtu   address",
                "1        lo     LOOPBACK (772)  UP|LOOPBACK|RUNNING|LOWER_UP  -     -",
                "2        veth1  ETHER (1)       BROADCAST|MULTICAST           1500  02:00:00:00:00:02",
            ]
        );
        assert!(text.lines().all(|l| l == l.trim_end()));
    }

    #[test]
    fn replies_must_match_seq_and_portid() {
        let mut h = NlMsgHdr {
            nlmsg_len: 16,
            nlmsg_type: NLMSG_DONE,
            nlmsg_flags: 2,
            nlmsg_seq: DUMP_SEQ,
            nlmsg_pid: 77,
        };
        assert!(check_reply(&h, 77).is_ok());
        assert!(check_reply(&h, 78).is_err());
        h.nlmsg_seq = 9;
        assert_eq!(
            check_reply(&h, 77).unwrap_err().to_string(),
            "reply NLMSG_DONE (3) carries nlmsg_seq 9, but the request had 1"
        );
    }
}
