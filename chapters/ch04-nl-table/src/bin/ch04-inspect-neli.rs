//! `ch04-inspect-neli`: the inspector with the dump done by neli 0.7. Same
//! arguments and same report as `ch04-inspect`:
//!
//! ```text
//! ch04-inspect-neli           the sockets of the namespace this runs in
//! ch04-inspect-neli --demo    a fresh namespace with sockets of known roles
//! ```

use nlbook_common::UsageError;
use std::process::ExitCode;

use anyhow::{Context, Result, bail, ensure};
use ch04_nl_table::diag::{self, NDIAG_PROTO_ALL, NETLINK_DIAG_REQ_LEN, SOCK_DIAG_BY_FAMILY};
use ch04_nl_table::inspect::{self, DUMP_SEQ, Dump, DumpError, RECV_TIMEOUT, SHOW};
use ch04_nl_table::{demo, procfs};
use neli::consts::nl::NlmF;
use neli::consts::socket::NlFamily;
use neli::err::SocketError;
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::Buffer;
use neli::utils::Groups;
use neli::{Size, ToBytes};
use nlbook_common::socket::set_recv_timeout;
use nlbook_common::{Errno, NLMSG_HDRLEN, exit_code};

const PROGRAM: &str = "ch04-inspect-neli";
const USAGE: &str = "usage: ch04-inspect-neli [--demo]";

fn main() -> ExitCode {
    exit_code(PROGRAM, run().map(|text| print!("{text}")))
}

fn run() -> Result<String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => {
            let dump = dump_neli()?;
            Ok(inspect::live_report(&dump, &procfs::read()?))
        }
        [flag] if flag == "--demo" => demo::run(dump_neli),
        _ => Err(UsageError::new("unexpected arguments", USAGE).into()),
    }
}

// ANCHOR: request_type
/// `struct netlink_diag_req` (`include/uapi/linux/netlink_diag.h`). neli has
/// no sock_diag types; its derive macros write the (de)serialization: the
/// fields in order, host byte order, no padding of their own.
#[derive(Debug, Size, ToBytes)]
struct NetlinkDiagReq {
    sdiag_family: u8,
    sdiag_protocol: u8,
    pad: u16,
    ndiag_ino: u32,
    ndiag_show: u32,
    /// `__u32 ndiag_cookie[2]`, unused here: neli implements its traits
    /// for byte arrays, not for arrays of `u32`.
    ndiag_cookie: [u8; 8],
}
// ANCHOR_END: request_type

/// The errno inside a neli socket error, if it is an I/O error.
fn errno_of(e: &SocketError) -> Option<Errno> {
    match e {
        SocketError::Io(io) => io.raw_os_error().map(Errno),
        _ => None,
    }
}

// ANCHOR: dump
/// The dump, with neli doing the socket, the framing and the walk over each
/// datagram. The payloads stay bytes (`Buffer`) and go through the same
/// decoder as the raw dump's, which names the offset of whatever is wrong.
fn dump_neli() -> Result<Dump> {
    let sock =
        NlSocketHandle::connect(NlFamily::SockOrInetDiag, None, Groups::empty()).map_err(|e| {
            match errno_of(&e) {
                Some(Errno(libc::EPROTONOSUPPORT)) => anyhow::anyhow!(
                    "socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG): {e}: this kernel has no \
                 NETLINK_SOCK_DIAG"
                ),
                _ => e.into(),
            }
        })?;
    set_recv_timeout(&sock, RECV_TIMEOUT)?;

    let req = NetlinkDiagReq {
        sdiag_family: libc::AF_NETLINK as u8,
        sdiag_protocol: NDIAG_PROTO_ALL,
        pad: 0,
        ndiag_ino: 0,
        ndiag_show: SHOW,
        ndiag_cookie: [0; 8],
    };
    ensure!(
        req.unpadded_size() == NETLINK_DIAG_REQ_LEN,
        "netlink_diag_req is 20 bytes"
    );
    let msg = NlmsghdrBuilder::default()
        .nl_type(SOCK_DIAG_BY_FAMILY)
        .nl_flags(NlmF::REQUEST | NlmF::DUMP)
        .nl_seq(DUMP_SEQ)
        .nl_payload(NlPayload::Payload(req))
        .build()?;
    sock.send(&msg)?;

    let mut replies = Vec::new();
    'dump: loop {
        let (messages, _groups) = match sock.recv::<u16, Buffer>() {
            Ok(received) => received,
            Err(e) if errno_of(&e) == Some(Errno(libc::EAGAIN)) => {
                return Err(DumpError::Timeout.into());
            }
            Err(e) => return Err(e.into()),
        };
        for msg in messages {
            let msg = msg?;
            ensure!(
                *msg.nl_seq() == DUMP_SEQ && *msg.nl_pid() == sock.pid(),
                "a reply for seq {} and port {}, not for our request",
                msg.nl_seq(),
                msg.nl_pid()
            );
            match msg.nl_payload() {
                // Offsets in errors count from the start of the message:
                // neli does not say where in the datagram it was.
                NlPayload::Payload(payload) if *msg.nl_type() == SOCK_DIAG_BY_FAMILY => {
                    replies.push(diag::parse_socket(payload.as_ref(), NLMSG_HDRLEN)?);
                }
                NlPayload::DumpExtAck(done) => {
                    let status = *done.error();
                    if status != 0 {
                        return Err(DumpError::from_errno(Errno(status.saturating_neg())).into());
                    }
                    break 'dump;
                }
                NlPayload::Err(e) => {
                    return Err(DumpError::from_errno(Errno(e.error().saturating_neg())).into());
                }
                other => bail!("unexpected message in the dump: {other:?}"),
            }
        }
    }
    Dump::new(replies, sock).context("the inspector's socket")
}
// ANCHOR_END: dump
