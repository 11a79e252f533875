//! The inspector: dump every netlink socket of the current network
//! namespace over `NETLINK_SOCK_DIAG`, merge the duplicates, sort, and
//! print them beside `/proc/net/netlink`.

use std::collections::BTreeMap;
use std::fmt;
use std::os::fd::AsRawFd;
use std::time::Duration;

use nlbook_common::uapi::NLMSG_DONE;
use nlbook_common::uapi::NLMSG_ERROR;
use nlbook_common::{Errno, Malformed, NLMSG_HDRLEN, NlMsgErr, NlMsgIter, NlSocket, SysError};

use crate::diag::{
    self, NDIAG_PROTO_ALL, NDIAG_SHOW_FLAGS, NDIAG_SHOW_GROUPS, NDIAG_SHOW_MEMINFO,
    NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, SocketInfo,
};
use crate::membership::socket_inode;
use crate::procfs::ProcEntry;
use crate::table::Table;

/// The dump request's sequence number; every reply must carry it.
pub const DUMP_SEQ: u32 = 1;

/// The attributes the inspector asks for.
pub const SHOW: u32 = NDIAG_SHOW_GROUPS | NDIAG_SHOW_MEMINFO | NDIAG_SHOW_FLAGS;

/// How long to wait for each datagram of the dump.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(5);

/// Large enough for any datagram of a dump: the kernel fills dump datagrams
/// up to 32 KiB at most (`netlink_dump` in `net/netlink/af_netlink.c`).
pub const DUMP_BUFFER_LEN: usize = 32 * 1024;

/// What one dump returned: every reply in the order the kernel sent them,
/// and the socket that asked, so a report can tell it apart.
pub struct Dump {
    /// One entry per `SOCK_DIAG_BY_FAMILY` message.
    pub replies: Vec<SocketInfo>,
    /// The asking socket's inode.
    pub inspector_inode: u64,
    /// The asking socket, kept open so that `/proc/net/netlink`, read after
    /// the dump, lists it too.
    _inspector: Box<dyn AsRawFd + Send>,
}

impl Dump {
    /// The replies of a dump made with `inspector`.
    pub fn new(
        replies: Vec<SocketInfo>,
        inspector: impl AsRawFd + Send + 'static,
    ) -> Result<Self, SysError> {
        Ok(Dump {
            replies,
            inspector_inode: socket_inode(&inspector)?,
            _inspector: Box::new(inspector),
        })
    }
}

/// Why a dump failed.
#[derive(Debug)]
pub enum DumpError {
    /// `socket(NETLINK_SOCK_DIAG)` failed with `EPROTONOSUPPORT`.
    NoSockDiag(SysError),
    /// The kernel answered `ENOENT`: no handler for `AF_NETLINK` sockets,
    /// i.e. `netlink_diag` is neither built in nor loadable.
    NoNetlinkDiag,
    /// The kernel refused the request otherwise.
    Refused(Errno),
    /// A system call failed.
    Sys(SysError),
    /// A reply did not decode.
    Malformed(Malformed),
    /// No datagram within [`RECV_TIMEOUT`].
    Timeout,
    /// Something the dump protocol does not allow.
    Protocol(String),
}

// ANCHOR: errors
impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DumpError::NoSockDiag(e) => write!(
                f,
                "{e}: no kernel socket for NETLINK_SOCK_DIAG in this network namespace \
                 (net/core/sock_diag.c is built into every kernel with networking)"
            ),
            DumpError::NoNetlinkDiag => f.write_str(
                "the kernel answered the AF_NETLINK dump with ENOENT (2): no netlink_diag in \
                 this kernel. It is CONFIG_NETLINK_DIAG: built in, or the module netlink_diag \
                 (Debian: `modprobe netlink_diag` as root). In the VM lab the debug kernel has \
                 it built in: `cargo xtask lab --chapter ch04-nl-table --kernel debug`",
            ),
            DumpError::Refused(errno) => write!(f, "the kernel refused the dump: {errno}"),
            DumpError::Sys(e) => write!(f, "{e}"),
            DumpError::Malformed(e) => write!(f, "{e}"),
            DumpError::Timeout => write!(
                f,
                "the dump stopped: nothing received for {} s",
                RECV_TIMEOUT.as_secs()
            ),
            DumpError::Protocol(why) => f.write_str(why),
        }
    }
}
// ANCHOR_END: errors

impl std::error::Error for DumpError {}

impl From<SysError> for DumpError {
    fn from(e: SysError) -> Self {
        DumpError::Sys(e)
    }
}

impl From<Malformed> for DumpError {
    fn from(e: Malformed) -> Self {
        DumpError::Malformed(e)
    }
}

impl DumpError {
    /// Classify the `errno` of an `NLMSG_ERROR` answer or a failed `socket()`.
    pub fn from_errno(errno: Errno) -> Self {
        match errno {
            Errno(libc::ENOENT) => DumpError::NoNetlinkDiag,
            e => DumpError::Refused(e),
        }
    }
}

// ANCHOR: dump_raw
/// Dump every netlink socket of this network namespace with raw system
/// calls: one request, then datagrams until `NLMSG_DONE`.
pub fn dump_raw() -> Result<Dump, DumpError> {
    let sock = NlSocket::open(NETLINK_SOCK_DIAG).map_err(|e| {
        if e.errno == Errno(libc::EPROTONOSUPPORT) {
            DumpError::NoSockDiag(e)
        } else {
            DumpError::Sys(e)
        }
    })?;
    sock.set_recv_timeout(RECV_TIMEOUT)?;

    let request = diag::request(DUMP_SEQ, NDIAG_PROTO_ALL, SHOW)
        .map_err(|e| DumpError::Protocol(e.to_string()))?;
    // To the kernel (port 0). The first send binds the socket (autobind).
    sock.send_to(&request, 0, 0)?;
    let our_portid = sock.portid()?;

    let mut replies = Vec::new();
    let mut buf = vec![0u8; DUMP_BUFFER_LEN];
    loop {
        let got = sock.recv(&mut buf).map_err(|e| {
            if e.errno == Errno(libc::EAGAIN) {
                DumpError::Timeout
            } else {
                DumpError::Sys(e)
            }
        })?;
        if got.truncated() {
            return Err(DumpError::Protocol(format!(
                "a datagram of {} bytes did not fit in {}",
                got.datagram_len,
                buf.len()
            )));
        }
        if got.from_portid != 0 {
            return Err(DumpError::Protocol(format!(
                "a datagram came from port {}, not from the kernel",
                got.from_portid
            )));
        }
        for msg in NlMsgIter::new(&buf[..got.len]) {
            let msg = msg?;
            let h = msg.header;
            if h.nlmsg_seq != DUMP_SEQ || h.nlmsg_pid != our_portid {
                return Err(DumpError::Protocol(format!(
                    "a reply for seq {} and port {}, not for our request",
                    h.nlmsg_seq, h.nlmsg_pid
                )));
            }
            match h.nlmsg_type {
                SOCK_DIAG_BY_FAMILY => {
                    replies.push(diag::parse_socket(msg.payload, msg.offset + NLMSG_HDRLEN)?);
                }
                NLMSG_DONE => return Ok(Dump::new(replies, sock)?),
                NLMSG_ERROR => match NlMsgErr::parse(&msg)?.errno() {
                    Some(errno) => return Err(DumpError::from_errno(errno)),
                    None => {
                        return Err(DumpError::Protocol(
                            "an ACK arrived, but the dump did not ask for one".into(),
                        ));
                    }
                },
                other => {
                    return Err(DumpError::Protocol(format!(
                        "unexpected message type {other} in the dump"
                    )));
                }
            }
        }
    }
}
// ANCHOR_END: dump_raw

/// One socket after merging: its first report, and how many messages
/// described it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reported {
    /// The first message that described the socket.
    pub info: SocketInfo,
    /// 2 for a socket that is bound and subscribed: `__netlink_diag_dump`
    /// reports it from the hash table, then again from `mc_list`.
    pub times: usize,
}

// ANCHOR: dedupe
/// Merge the replies by inode (a socket bound and subscribed is reported
/// twice) and sort them by protocol, port id and inode.
pub fn dedupe(replies: &[SocketInfo]) -> Vec<Reported> {
    let mut by_inode: BTreeMap<u32, Reported> = BTreeMap::new();
    for info in replies {
        by_inode
            .entry(info.msg.inode)
            .and_modify(|r| r.times += 1)
            .or_insert_with(|| Reported {
                info: info.clone(),
                times: 1,
            });
    }
    let mut sockets: Vec<Reported> = by_inode.into_values().collect();
    sockets.sort_by_key(|r| (r.info.msg.protocol, r.info.msg.portid, r.info.msg.inode));
    sockets
}
// ANCHOR_END: dedupe

/// The live view: every socket of this namespace with its real port id and
/// inode (so it changes from run to run), `/proc/net/netlink`'s `Groups`
/// beside the dump's groups.
pub fn live_report(dump: &Dump, proc_entries: &[ProcEntry]) -> String {
    let sockets = dedupe(&dump.replies);
    let mut t = Table::new([
        "protocol",
        "port id",
        "inode",
        "groups",
        "/proc Groups",
        "rmem",
        "rcvbuf",
        "drops",
        "flags",
        "reported",
    ]);
    for r in &sockets {
        let m = &r.info.msg;
        let proc_groups = proc_entries
            .iter()
            .find(|e| e.inode == u64::from(m.inode))
            .map_or_else(
                || "(not listed)".to_owned(),
                |e| format!("{:08x}", e.groups),
            );
        let mut inode = m.inode.to_string();
        if u64::from(m.inode) == dump.inspector_inode {
            inode.push_str(" (this program)");
        }
        let (rmem, rcvbuf, drops) = mem_columns(&r.info);
        t.row([
            diag::protocol_name(m.protocol),
            m.portid.to_string(),
            inode,
            groups_column(&r.info),
            proc_groups,
            rmem,
            rcvbuf,
            drops,
            r.info
                .flags
                .map_or_else(|| "?".to_owned(), diag::flag_names),
            format!("{}x", r.times),
        ]);
    }
    format!(
        "{} netlink sockets in this network namespace ({} messages in the dump)\n{}",
        sockets.len(),
        dump.replies.len(),
        t.render()
    )
}

/// The groups of a socket, or `-` when it has no bitmap.
pub fn groups_column(info: &SocketInfo) -> String {
    info.groups
        .as_ref()
        .map_or_else(|| "-".to_owned(), |g| g.groups.to_string())
}

/// `rmem`, `rcvbuf` and `drops`, or `?` without `NETLINK_DIAG_MEMINFO`.
pub fn mem_columns(info: &SocketInfo) -> (String, String, String) {
    match info.meminfo {
        Some(m) => (
            m.rmem_alloc.to_string(),
            m.rcvbuf.to_string(),
            m.drops.to_string(),
        ),
        None => ("?".into(), "?".into(), "?".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{DiagMsg, GroupsAttr};
    use crate::groups::Groups;

    fn info(protocol: u8, portid: u32, inode: u32, groups: &[u32]) -> SocketInfo {
        SocketInfo {
            msg: DiagMsg {
                sock_type: 3,
                protocol,
                state: 0,
                portid,
                dst_portid: 0,
                dst_group: 0,
                inode,
                cookie: [0, 0],
            },
            groups: (!groups.is_empty()).then(|| GroupsAttr {
                raw: Vec::new(),
                groups: Groups::of(groups.iter().copied()),
            }),
            meminfo: None,
            flags: None,
        }
    }

    #[test]
    fn duplicates_merge_and_everything_sorts() {
        let replies = [
            info(16, 0, 9, &[]),
            info(0, 77, 5, &[1]),
            info(0, 0, 3, &[]),
            info(0, 77, 5, &[1]), // the mc_list pass
            info(0, 12, 8, &[36]),
            info(0, 12, 8, &[36]),
        ];
        let merged = dedupe(&replies);
        let keys: Vec<(u8, u32, u32, usize)> = merged
            .iter()
            .map(|r| {
                (
                    r.info.msg.protocol,
                    r.info.msg.portid,
                    r.info.msg.inode,
                    r.times,
                )
            })
            .collect();
        assert_eq!(
            keys,
            [(0, 0, 3, 1), (0, 12, 8, 2), (0, 77, 5, 2), (16, 0, 9, 1)]
        );
        assert_eq!(groups_column(&merged[1].info), "36");
        assert_eq!(groups_column(&merged[0].info), "-");
    }

    #[test]
    fn error_messages_say_what_to_do() {
        let e = DumpError::from_errno(Errno(libc::ENOENT));
        let text = e.to_string();
        assert!(text.contains("CONFIG_NETLINK_DIAG"), "{text}");
        assert!(text.contains("modprobe netlink_diag"), "{text}");
        assert!(text.contains("--kernel debug"), "{text}");
        assert_eq!(
            DumpError::from_errno(Errno(libc::EINVAL)).to_string(),
            "the kernel refused the dump: EINVAL (22)"
        );
    }

    #[test]
    fn a_live_dump_finds_our_sockets() {
        use nlbook_common::in_fresh_netns;
        use nlbook_common::membership::join_group;
        use nlbook_common::uapi::NETLINK_ROUTE;

        in_fresh_netns(|| {
            let s = NlSocket::open(NETLINK_ROUTE).unwrap();
            s.bind(0, 0).unwrap();
            join_group(&s, 33).unwrap();
            let inode = socket_inode(&s).unwrap();
            let dump = dump_raw().unwrap();
            let sockets = dedupe(&dump.replies);
            let ours = sockets
                .iter()
                .find(|r| u64::from(r.info.msg.inode) == inode)
                .unwrap();
            assert_eq!(ours.times, 2, "bound and subscribed: hash, then mc_list");
            assert_eq!(ours.info.msg.portid, s.portid().unwrap());
            assert_eq!(groups_column(&ours.info), "33");
            let me = sockets
                .iter()
                .find(|r| u64::from(r.info.msg.inode) == dump.inspector_inode)
                .unwrap();
            assert_eq!(me.times, 1);
            let proc_entries = crate::procfs::read().unwrap();
            let text = live_report(&dump, &proc_entries);
            assert!(text.contains("(this program)"), "{text}");
        })
        .unwrap();
    }
}
