//! A raw generic netlink socket: `NETLINK_GENERIC`, extended ACKs on, a
//! receive timeout, and requests paired with their answers by sequence
//! number.

use std::cell::Cell;
use std::fmt;
use std::time::Duration;

use nlbook_common::genl::GenlMsgHdr;
use nlbook_common::uapi::{NETLINK_EXT_ACK, NLMSG_DONE, NLMSG_ERROR, SOL_NETLINK};
use nlbook_common::{Malformed, NlMsgErr, NlMsgHdr, NlMsgIter, NlSocket, SysError};

use crate::ext_ack::{Refusal, attr_at};

/// `NETLINK_GENERIC` (`include/uapi/linux/netlink.h`).
pub const NETLINK_GENERIC: i32 = 16;

/// How long to wait for the kernel's answer before giving up.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// Room for one datagram: the kernel sizes dump datagrams to the reader's
/// earlier buffers, up to 32 KiB (`netlink_recvmsg()`).
pub const RECV_BUFFER: usize = 32 * 1024;

/// What can go wrong talking to a generic netlink family.
#[derive(Debug)]
pub enum GenlError {
    /// A system call failed (including `EAGAIN`: no answer in time).
    Sys(SysError),
    /// The kernel's answer does not hold together.
    Malformed(Malformed),
    /// The kernel refused the request.
    Refused(Refusal),
    /// An answer that makes no sense here.
    Unexpected(String),
}

impl fmt::Display for GenlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenlError::Sys(e) => e.fmt(f),
            GenlError::Malformed(e) => e.fmt(f),
            GenlError::Refused(r) => write!(f, "refused: {r}"),
            GenlError::Unexpected(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for GenlError {}

impl From<SysError> for GenlError {
    fn from(e: SysError) -> Self {
        GenlError::Sys(e)
    }
}

impl From<Malformed> for GenlError {
    fn from(e: Malformed) -> Self {
        GenlError::Malformed(e)
    }
}

/// One generic netlink message of an answer.
#[derive(Clone, Debug)]
pub struct GenlMsg {
    /// Its netlink header (the flags show `NLM_F_DUMP_INTR`).
    pub header: NlMsgHdr,
    /// Its genl header.
    pub genl: GenlMsgHdr,
    /// The attributes after the genl header.
    pub attrs: Vec<u8>,
}

/// A raw `NETLINK_GENERIC` socket, bound, with extended ACKs.
#[derive(Debug)]
pub struct GenlSocket {
    sock: NlSocket,
    seq: Cell<u32>,
}

impl GenlSocket {
    /// Open, bind, set the receive timeout, and turn on `NETLINK_EXT_ACK`.
    pub fn open() -> Result<Self, SysError> {
        let sock = NlSocket::open(NETLINK_GENERIC)?;
        sock.bind(0, 0)?;
        sock.set_recv_timeout(REPLY_TIMEOUT)?;
        sock.set_option(SOL_NETLINK, NETLINK_EXT_ACK, 1)?;
        Ok(GenlSocket {
            sock,
            seq: Cell::new(0),
        })
    }

    /// The underlying socket.
    pub fn socket(&self) -> &NlSocket {
        &self.sock
    }

    /// The sequence number for the next request.
    pub fn next_seq(&self) -> u32 {
        let seq = self.seq.get().wrapping_add(1);
        self.seq.set(seq);
        seq
    }

    /// Send a finished request to the kernel.
    pub fn send(&self, request: &[u8]) -> Result<(), SysError> {
        self.sock.send_to(request, 0, 0).map(drop)
    }

    /// Receive one datagram into a buffer of `room` bytes; a datagram that
    /// does not fit is an error, never silently cut.
    pub fn recv_datagram(&self, room: usize) -> Result<Vec<u8>, GenlError> {
        let mut buf = vec![0u8; room];
        let got = self.sock.recv(&mut buf)?;
        if got.truncated() {
            return Err(GenlError::Unexpected(format!(
                "a {}-byte datagram did not fit in {room} bytes",
                got.datagram_len
            )));
        }
        buf.truncate(got.len);
        Ok(buf)
    }

    /// Send `request` (whose `nlmsg_seq` is `seq`) and collect its answer:
    /// the messages before the final ACK (`NLM_F_ACK`) or `NLMSG_DONE` (a
    /// dump). An `NLMSG_ERROR` with an error becomes [`GenlError::Refused`].
    pub fn transact(&self, request: &[u8], seq: u32) -> Result<Vec<GenlMsg>, GenlError> {
        self.send(request)?;
        let mut answer = Vec::new();
        loop {
            let datagram = self.recv_datagram(RECV_BUFFER)?;
            for msg in NlMsgIter::new(&datagram) {
                let msg = msg?;
                if msg.header.nlmsg_seq != seq {
                    return Err(GenlError::Unexpected(format!(
                        "an answer with seq {} to request {seq}",
                        msg.header.nlmsg_seq
                    )));
                }
                match msg.header.nlmsg_type {
                    NLMSG_ERROR => {
                        let err = NlMsgErr::parse(&msg)?;
                        return match err.errno() {
                            None => Ok(answer),
                            Some(errno) => Err(GenlError::Refused(Refusal {
                                errno,
                                message: err.message.map(str::to_owned),
                                offset: err.bad_attr_offset,
                                attr_at_offset: err
                                    .bad_attr_offset
                                    .and_then(|o| attr_at(request, o)),
                                missing_type: err.missing_attr_type,
                            })),
                        };
                    }
                    NLMSG_DONE => return Ok(answer),
                    _ => {
                        let (genl, attrs) = GenlMsgHdr::parse(&msg)?;
                        answer.push(GenlMsg {
                            header: msg.header,
                            genl,
                            attrs: attrs.to_vec(),
                        });
                    }
                }
            }
        }
    }
}
