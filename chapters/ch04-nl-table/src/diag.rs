//! `NETLINK_SOCK_DIAG` for netlink sockets (`net/netlink/diag.c`): the
//! dump request, and a decoder of its replies that checks every length.
//!
//! A reply message is `SOCK_DIAG_BY_FAMILY` carrying a 28-byte
//! `struct netlink_diag_msg`, then attributes (`include/uapi/linux/
//! netlink_diag.h`):
//!
//! ```text
//!  0      1      2          3       4            8                12               16          20            28
//!  +------+------+----------+-------+------------+----------------+----------------+-----------+-------------+------------
//!  |family| type | protocol | state | portid u32 | dst_portid u32 | dst_group u32  | inode u32 | cookie 2x32 | attributes
//!  +------+------+----------+-------+------------+----------------+----------------+-----------+-------------+------------
//! ```

use nlbook_common::uapi::{NLM_F_DUMP, NLM_F_REQUEST};
use nlbook_common::{Malformed, MsgBuilder, Problem, RtAttrIter, nlmsg_align};

use crate::groups::{Groups, LongLayout};

// include/uapi/linux/netlink.h
/// The socket diagnostics protocol.
pub const NETLINK_SOCK_DIAG: i32 = 4;

// include/uapi/linux/sock_diag.h
/// "Describe the sockets of one address family": the dump request type,
/// and the type of every reply.
pub const SOCK_DIAG_BY_FAMILY: u16 = 20;

// include/uapi/linux/netlink_diag.h
/// `sdiag_protocol` value for "every netlink protocol".
pub const NDIAG_PROTO_ALL: u8 = 0xff;
/// Ask for `NETLINK_DIAG_MEMINFO`.
pub const NDIAG_SHOW_MEMINFO: u32 = 0x1;
/// Ask for `NETLINK_DIAG_GROUPS`.
pub const NDIAG_SHOW_GROUPS: u32 = 0x2;
/// Ask for `NETLINK_DIAG_FLAGS`.
pub const NDIAG_SHOW_FLAGS: u32 = 0x8;
/// Attribute: `u32 mem[SK_MEMINFO_VARS]`.
pub const NETLINK_DIAG_MEMINFO: u16 = 0;
/// Attribute: the socket's group bitmap, as the kernel's `unsigned long`s.
pub const NETLINK_DIAG_GROUPS: u16 = 1;
/// Attribute: mmap ring setup; the rings were removed in Linux 4.6.
pub const NETLINK_DIAG_RX_RING: u16 = 2;
/// Attribute: see [`NETLINK_DIAG_RX_RING`].
pub const NETLINK_DIAG_TX_RING: u16 = 3;
/// Attribute: a `u32` of `NDIAG_FLAG_*`.
pub const NETLINK_DIAG_FLAGS: u16 = 4;

/// `NETLINK_DIAG_FLAGS` bits and the socket options that set them.
pub const NDIAG_FLAGS: [(u32, &str); 6] = [
    (0x01, "CB_RUNNING"),      // a dump is in progress
    (0x02, "PKTINFO"),         // NETLINK_PKTINFO
    (0x04, "BROADCAST_ERROR"), // NETLINK_BROADCAST_ERROR
    (0x08, "NO_ENOBUFS"),      // NETLINK_NO_ENOBUFS
    (0x10, "LISTEN_ALL_NSID"), // NETLINK_LISTEN_ALL_NSID
    (0x20, "CAP_ACK"),         // NETLINK_CAP_ACK
];

/// `sizeof(struct netlink_diag_req)`.
pub const NETLINK_DIAG_REQ_LEN: usize = 20;
/// `sizeof(struct netlink_diag_msg)`.
pub const NETLINK_DIAG_MSG_LEN: usize = 28;

/// `SK_MEMINFO_VARS` in Linux 6.1 and 6.12 (`include/uapi/linux/sock_diag.h`):
/// the `u32`s of `NETLINK_DIAG_MEMINFO`. Newer kernels may send more.
pub const SK_MEMINFO_VARS: usize = 9;

// ANCHOR: request
/// The dump request: `SOCK_DIAG_BY_FAMILY` with `NLM_F_DUMP`, and a
/// `struct netlink_diag_req` asking for `protocol` (or [`NDIAG_PROTO_ALL`])
/// and the attributes in `show`.
pub fn request(
    seq: u32,
    protocol: u8,
    show: u32,
) -> Result<Vec<u8>, nlbook_common::nlmsg::TooLong> {
    let mut req = [0u8; NETLINK_DIAG_REQ_LEN];
    req[0] = libc::AF_NETLINK as u8; // sdiag_family: which handler answers
    req[1] = protocol; // sdiag_protocol
    // pad (2 bytes), ndiag_ino (4): 0, not used by the netlink handler
    req[8..12].copy_from_slice(&show.to_ne_bytes()); // ndiag_show
    // ndiag_cookie[2]: 0
    MsgBuilder::new(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq)
        .fixed(&req)
        .finish()
}
// ANCHOR_END: request

/// The fixed part of a reply, `struct netlink_diag_msg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiagMsg {
    /// `SOCK_RAW` (3) for sockets from `socket()`; `SOCK_DGRAM` (2) for
    /// kernel sockets (`__netlink_kernel_create` uses `sock_create_lite`).
    pub sock_type: u8,
    /// The netlink protocol, the index into `nl_table`.
    pub protocol: u8,
    /// `sk_state`: 7 (`TCP_CLOSE`, which `sock_init_data` gives every socket)
    /// until `connect()` sets `NETLINK_CONNECTED` (1).
    pub state: u8,
    /// The port id; 0 for kernel sockets and for sockets never bound.
    pub portid: u32,
    /// The peer set with `connect()`.
    pub dst_portid: u32,
    /// The group set with `connect()`.
    pub dst_group: u32,
    /// The socket's inode number: what names a socket uniquely.
    pub inode: u32,
    /// The socket's cookie.
    pub cookie: [u32; 2],
}

/// `NETLINK_DIAG_MEMINFO` (`sk_get_meminfo` in `net/core/sock.c`), the
/// fields this chapter shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemInfo {
    /// `SK_MEMINFO_RMEM_ALLOC`: bytes queued for reading (skb truesize).
    pub rmem_alloc: u32,
    /// `SK_MEMINFO_RCVBUF`: the limit on `rmem_alloc`, `sk_rcvbuf`.
    pub rcvbuf: u32,
    /// `SK_MEMINFO_WMEM_ALLOC`.
    pub wmem_alloc: u32,
    /// `SK_MEMINFO_SNDBUF`.
    pub sndbuf: u32,
    /// `SK_MEMINFO_DROPS`: messages lost to a full receive buffer.
    pub drops: u32,
}

/// One reply: one socket, as the kernel described it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketInfo {
    /// The fixed part.
    pub msg: DiagMsg,
    /// `NETLINK_DIAG_GROUPS`: `None` when the kernel sent none, i.e. the
    /// socket never joined a group and has no bitmap (`nlk->groups` is NULL).
    pub groups: Option<GroupsAttr>,
    /// `NETLINK_DIAG_MEMINFO`, if asked for.
    pub meminfo: Option<MemInfo>,
    /// `NETLINK_DIAG_FLAGS`, if asked for.
    pub flags: Option<u32>,
}

/// The `NETLINK_DIAG_GROUPS` attribute: its bytes as sent, and the groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupsAttr {
    /// The payload: `NLGRPSZ(nlk->ngroups)` bytes of `unsigned long`s.
    pub raw: Vec<u8>,
    /// The groups whose bits are set.
    pub groups: Groups,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

// ANCHOR: parse
/// Decode the payload of one `SOCK_DIAG_BY_FAMILY` reply. `base` is the
/// payload's offset in the received datagram; errors name offsets from there.
///
/// Every length is checked before use: the fixed part must be whole, each
/// attribute's `rta_len` must fit (the common walker), and each known
/// attribute must have the size its type needs. Unknown attributes are
/// skipped: a newer kernel may add some.
pub fn parse_socket(payload: &[u8], base: usize) -> Result<SocketInfo, Malformed> {
    let malformed = |what, offset, problem| Malformed {
        what,
        offset,
        problem,
    };
    let Some(p) = payload.get(..NETLINK_DIAG_MSG_LEN) else {
        return Err(malformed(
            "netlink_diag_msg",
            base,
            Problem::Truncated {
                have: payload.len(),
                need: NETLINK_DIAG_MSG_LEN,
            },
        ));
    };
    if p[0] != libc::AF_NETLINK as u8 {
        return Err(malformed(
            "netlink_diag_msg",
            base,
            Problem::Invalid(format!(
                "ndiag_family is {}, not AF_NETLINK ({})",
                p[0],
                libc::AF_NETLINK
            )),
        ));
    }
    let msg = DiagMsg {
        sock_type: p[1],
        protocol: p[2],
        state: p[3],
        portid: u32_at(p, 4),
        dst_portid: u32_at(p, 8),
        dst_group: u32_at(p, 12),
        inode: u32_at(p, 16),
        cookie: [u32_at(p, 20), u32_at(p, 24)],
    };
    let mut info = SocketInfo {
        msg,
        groups: None,
        meminfo: None,
        flags: None,
    };

    let attrs_at = nlmsg_align(NETLINK_DIAG_MSG_LEN);
    let attrs = payload.get(attrs_at..).unwrap_or_default();
    for attr in RtAttrIter::at(attrs, base + attrs_at) {
        let attr = attr?;
        let at = attr.offset;
        let twice = |what| malformed(what, at, Problem::Invalid("sent twice".into()));
        match attr.kind() {
            NETLINK_DIAG_GROUPS => {
                if info.groups.is_some() {
                    return Err(twice("NETLINK_DIAG_GROUPS"));
                }
                let groups = Groups::from_kernel_longs(attr.payload, LongLayout::HOST, at + 4)?;
                info.groups = Some(GroupsAttr {
                    raw: attr.payload.to_vec(),
                    groups,
                });
            }
            NETLINK_DIAG_MEMINFO => {
                if info.meminfo.is_some() {
                    return Err(twice("NETLINK_DIAG_MEMINFO"));
                }
                let m = attr.payload;
                if m.len() < SK_MEMINFO_VARS * 4 {
                    return Err(malformed(
                        "NETLINK_DIAG_MEMINFO",
                        at,
                        Problem::Truncated {
                            have: m.len(),
                            need: SK_MEMINFO_VARS * 4,
                        },
                    ));
                }
                // enum { SK_MEMINFO_RMEM_ALLOC, RCVBUF, WMEM_ALLOC, SNDBUF,
                // FWD_ALLOC, WMEM_QUEUED, OPTMEM, BACKLOG, DROPS }
                info.meminfo = Some(MemInfo {
                    rmem_alloc: u32_at(m, 0),
                    rcvbuf: u32_at(m, 4),
                    wmem_alloc: u32_at(m, 8),
                    sndbuf: u32_at(m, 12),
                    drops: u32_at(m, 32),
                });
            }
            NETLINK_DIAG_FLAGS => {
                if info.flags.is_some() {
                    return Err(twice("NETLINK_DIAG_FLAGS"));
                }
                let flags = attr.u32().ok_or_else(|| {
                    malformed(
                        "NETLINK_DIAG_FLAGS",
                        at,
                        Problem::Invalid(format!(
                            "payload of {} bytes, not one u32",
                            attr.payload.len()
                        )),
                    )
                })?;
                info.flags = Some(flags);
            }
            _ => {} // the obsolete ring attributes, or newer ones
        }
    }
    Ok(info)
}
// ANCHOR_END: parse

/// `NO_ENOBUFS|CAP_ACK`, `-` for none; unknown bits in hex.
pub fn flag_names(flags: u32) -> String {
    let mut names: Vec<String> = NDIAG_FLAGS
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, name)| (*name).to_owned())
        .collect();
    let known = NDIAG_FLAGS.iter().fold(0, |m, (bit, _)| m | bit);
    if flags & !known != 0 {
        names.push(format!("{:#x}", flags & !known));
    }
    if names.is_empty() {
        "-".to_owned()
    } else {
        names.join("|")
    }
}

/// The netlink protocol's name without `NETLINK_` (`include/uapi/linux/
/// netlink.h`), or its number.
pub fn protocol_name(protocol: u8) -> String {
    let name = match protocol {
        0 => "ROUTE",
        1 => "UNUSED",
        2 => "USERSOCK",
        3 => "FIREWALL",
        4 => "SOCK_DIAG",
        5 => "NFLOG",
        6 => "XFRM",
        7 => "SELINUX",
        8 => "ISCSI",
        9 => "AUDIT",
        10 => "FIB_LOOKUP",
        11 => "CONNECTOR",
        12 => "NETFILTER",
        13 => "IP6_FW",
        14 => "DNRTMSG",
        15 => "KOBJECT_UEVENT",
        16 => "GENERIC",
        18 => "SCSITRANSPORT",
        19 => "ECRYPTFS",
        20 => "RDMA",
        21 => "CRYPTO",
        22 => "SMC",
        _ => return protocol.to_string(),
    };
    name.to_owned()
}

/// A one-line description of a socket for error messages and the live view.
pub fn describe(info: &SocketInfo) -> String {
    format!(
        "{} portid {} inode {}",
        protocol_name(info.msg.protocol),
        info.msg.portid,
        info.msg.inode
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlbook_common::{NLMSG_HDRLEN, NlMsgHdr};

    fn attr(ty: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = ((4 + payload.len()) as u16).to_ne_bytes().to_vec();
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(payload);
        v.resize(nlmsg_align(v.len()), 0);
        v
    }

    /// A reply payload as `sk_diag_fill` builds it.
    fn reply(groups: Option<&[u8]>, meminfo: Option<[u32; 9]>, flags: Option<u32>) -> Vec<u8> {
        let mut p = vec![libc::AF_NETLINK as u8, 3, 0, 0];
        for field in [4242u32, 0, 0, 31337, 7, 0] {
            p.extend_from_slice(&field.to_ne_bytes());
        }
        assert_eq!(p.len(), NETLINK_DIAG_MSG_LEN);
        if let Some(g) = groups {
            p.extend(attr(NETLINK_DIAG_GROUPS, g));
        }
        if let Some(m) = meminfo {
            let bytes: Vec<u8> = m.iter().flat_map(|v| v.to_ne_bytes()).collect();
            p.extend(attr(NETLINK_DIAG_MEMINFO, &bytes));
        }
        if let Some(f) = flags {
            p.extend(attr(NETLINK_DIAG_FLAGS, &f.to_ne_bytes()));
        }
        p
    }

    fn host_groups(groups: &[u32], ngroups: u32) -> Vec<u8> {
        Groups::of(groups.iter().copied()).to_kernel_longs(ngroups, LongLayout::HOST)
    }

    #[test]
    fn request_layout() {
        let req = request(7, NDIAG_PROTO_ALL, NDIAG_SHOW_GROUPS | NDIAG_SHOW_MEMINFO).unwrap();
        assert_eq!(req.len(), NLMSG_HDRLEN + NETLINK_DIAG_REQ_LEN);
        let h = NlMsgHdr::from_bytes(&req).unwrap();
        assert_eq!(h.nlmsg_len, 36);
        assert_eq!(h.nlmsg_type, SOCK_DIAG_BY_FAMILY);
        assert_eq!(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
        assert_eq!(h.nlmsg_seq, 7);
        let r = &req[NLMSG_HDRLEN..];
        assert_eq!((r[0], r[1]), (16, 0xff));
        assert_eq!(&r[8..12], &3u32.to_ne_bytes());
        assert!(r[2..8].iter().chain(&r[12..]).all(|&b| b == 0));
    }

    #[test]
    fn a_full_reply() {
        let p = reply(
            Some(&host_groups(&[1, 36], 36)),
            Some([832, 2304, 0, 212_992, 0, 0, 0, 0, 6]),
            Some(0x08),
        );
        let info = parse_socket(&p, 16).unwrap();
        assert_eq!(info.msg.sock_type, 3);
        assert_eq!(info.msg.portid, 4242);
        assert_eq!(info.msg.inode, 31337);
        assert_eq!(info.msg.cookie, [7, 0]);
        let g = info.groups.unwrap();
        assert_eq!(g.groups, Groups::of([1, 36]));
        assert_eq!(g.raw.len(), 8);
        let m = info.meminfo.unwrap();
        assert_eq!(
            (m.rmem_alloc, m.rcvbuf, m.sndbuf, m.drops),
            (832, 2304, 212_992, 6)
        );
        assert_eq!(info.flags, Some(0x08));
        assert_eq!(flag_names(0x08), "NO_ENOBUFS");
    }

    #[test]
    fn attributes_are_optional_and_unknown_ones_skipped() {
        let mut p = reply(None, None, None);
        p.extend(attr(NETLINK_DIAG_RX_RING, &[0; 16]));
        p.extend(attr(99, &[1, 2, 3]));
        let info = parse_socket(&p, 0).unwrap();
        assert_eq!((info.groups, info.meminfo, info.flags), (None, None, None));
    }

    #[test]
    fn a_longer_meminfo_from_a_newer_kernel_is_fine() {
        let mut p = reply(None, None, None);
        let mut m: Vec<u8> = (0u32..10).flat_map(|v| v.to_ne_bytes()).collect();
        m[32..36].copy_from_slice(&5u32.to_ne_bytes());
        p.extend(attr(NETLINK_DIAG_MEMINFO, &m));
        assert_eq!(parse_socket(&p, 0).unwrap().meminfo.unwrap().drops, 5);
    }

    fn err(p: &[u8]) -> String {
        parse_socket(p, 16).unwrap_err().to_string()
    }

    #[test]
    fn truncated_fixed_part() {
        let p = reply(None, None, None);
        assert_eq!(
            err(&p[..27]),
            "malformed netlink_diag_msg at offset 16: needs 28 bytes, only 27 left"
        );
        assert_eq!(
            err(&[]),
            "malformed netlink_diag_msg at offset 16: needs 28 bytes, only 0 left"
        );
    }

    #[test]
    fn wrong_family() {
        let mut p = reply(None, None, None);
        p[0] = 2;
        assert_eq!(
            err(&p),
            "malformed netlink_diag_msg at offset 16: ndiag_family is 2, not AF_NETLINK (16)"
        );
    }

    #[test]
    fn attribute_lengths_that_lie() {
        // rta_len past the end of the message.
        let mut p = reply(Some(&host_groups(&[1], 32)), None, None);
        p[28..30].copy_from_slice(&40u16.to_ne_bytes());
        assert_eq!(
            err(&p),
            "malformed rtattr at offset 44: length 40 runs past the end (12 bytes left)"
        );
        // rta_len shorter than its own header.
        p[28..30].copy_from_slice(&3u16.to_ne_bytes());
        assert_eq!(
            err(&p),
            "malformed rtattr at offset 44: length 3 is smaller than its 4-byte header"
        );
        // Two stray bytes after the fixed part.
        let mut p = reply(None, None, None);
        p.extend_from_slice(&[8, 0]);
        assert_eq!(
            err(&p),
            "malformed rtattr at offset 44: needs 4 bytes, only 2 left"
        );
    }

    #[test]
    fn attribute_payloads_of_the_wrong_size() {
        let mut p = reply(None, None, None);
        p.extend(attr(NETLINK_DIAG_FLAGS, &[1, 0]));
        assert_eq!(
            err(&p),
            "malformed NETLINK_DIAG_FLAGS at offset 44: payload of 2 bytes, not one u32"
        );

        let mut p = reply(None, None, None);
        p.extend(attr(NETLINK_DIAG_MEMINFO, &[0; 32]));
        assert_eq!(
            err(&p),
            "malformed NETLINK_DIAG_MEMINFO at offset 44: needs 36 bytes, only 32 left"
        );

        let long = std::mem::size_of::<libc::c_ulong>();
        let mut p = reply(None, None, None);
        p.extend(attr(NETLINK_DIAG_GROUPS, &vec![0xff; long + 1]));
        assert_eq!(
            err(&p),
            format!(
                "malformed NETLINK_DIAG_GROUPS at offset 48: {} bytes are not a whole number \
                 of {long}-byte unsigned longs",
                long + 1
            )
        );
    }

    #[test]
    fn an_attribute_sent_twice() {
        let mut p = reply(None, None, Some(0));
        p.extend(attr(NETLINK_DIAG_FLAGS, &0u32.to_ne_bytes()));
        assert_eq!(
            err(&p),
            "malformed NETLINK_DIAG_FLAGS at offset 52: sent twice"
        );
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        let good = reply(Some(&host_groups(&[1, 36], 36)), Some([1; 9]), Some(0x3f));
        // Every prefix, and every byte of the attribute area replaced by
        // values that make lengths lie.
        for end in 0..=good.len() {
            let _ = parse_socket(&good[..end], 0);
        }
        for at in NETLINK_DIAG_MSG_LEN..good.len() {
            for v in [0u8, 1, 3, 4, 5, 0x7f, 0xff] {
                let mut p = good.clone();
                p[at] = v;
                let _ = parse_socket(&p, 0);
            }
        }
    }

    #[test]
    fn names() {
        assert_eq!(flag_names(0), "-");
        assert_eq!(flag_names(0x28), "NO_ENOBUFS|CAP_ACK");
        assert_eq!(flag_names(0x101), "CB_RUNNING|0x100");
        assert_eq!(protocol_name(0), "ROUTE");
        assert_eq!(protocol_name(4), "SOCK_DIAG");
        assert_eq!(protocol_name(28), "28");
    }
}
