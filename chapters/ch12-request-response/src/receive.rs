//! Reading the answer to one request: every message up to the one that
//! ends it, and which `recv` call brought each.
//!
//! What ends a request (the kernel's netlink documentation, "Netlink
//! message types" and "Dump consistency"):
//! - an `NLMSG_ERROR` with the request's sequence number: an error, or,
//!   with error 0, the ACK that `NLM_F_ACK` asked for;
//! - an `NLMSG_DONE`: the end of a dump (its payload is an error code too);
//! - for a request without `NLM_F_ACK` that succeeds, its one reply.

use anyhow::{Result, bail};
use nlbook_common::uapi::{NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR};
use nlbook_common::{Errno, NlMsgErr, NlMsgHdr, NlMsgIter, NlSocket};

use crate::RECV_TIMEOUT;
use crate::names::{reply_flags, type_name};

/// One message of an answer.
#[derive(Clone, Debug)]
pub struct Arrival {
    /// Which `recv` call brought it, counting from 1.
    pub recv: usize,
    pub header: NlMsgHdr,
    pub payload: Vec<u8>,
}

impl Arrival {
    /// The `NLMSG_ERROR` payload, decoded, if this is one.
    pub fn error(&self) -> Result<Option<ErrorReply>> {
        if self.header.nlmsg_type != NLMSG_ERROR {
            return Ok(None);
        }
        let mut bytes = self.header.to_bytes().to_vec();
        bytes.extend_from_slice(&self.payload);
        let Some(msg) = NlMsgIter::new(&bytes).next() else {
            bail!("an NLMSG_ERROR without a body");
        };
        let parsed = NlMsgErr::parse(&msg?)?;
        Ok(Some(ErrorReply {
            errno: parsed.errno(),
            request: parsed.request,
            echoed_len: self.payload.len(),
            message: parsed.message.map(str::to_owned),
            bad_attr_offset: parsed.bad_attr_offset,
        }))
    }

    /// The error code in an `NLMSG_DONE`'s payload (0: the dump is whole).
    pub fn done_error(&self) -> Option<i32> {
        let code: [u8; 4] = self.payload.get(..4)?.try_into().ok()?;
        (self.header.nlmsg_type == NLMSG_DONE).then(|| i32::from_ne_bytes(code))
    }
}

/// An `NLMSG_ERROR`, decoded and owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorReply {
    /// `None` for an ACK.
    pub errno: Option<Errno>,
    /// The header of the request it answers, as echoed by the kernel.
    pub request: NlMsgHdr,
    /// Bytes after the message header: error code, echoed request, TLVs.
    pub echoed_len: usize,
    /// The extended ACK's text.
    pub message: Option<String>,
    /// The extended ACK's pointer into the request.
    pub bad_attr_offset: Option<u32>,
}

// ANCHOR: until_finished
/// Receive with a `buf_len`-byte buffer until the request `seq` is
/// finished; `acked` says whether it carried `NLM_F_ACK`. `after_recv` runs
/// after each `recv` with its number, e.g. to change what a dump walks.
///
/// A datagram whose sender's `nl_groups` is not 0 was built for a group:
/// a notification, even when it carries `seq`, as the notification of a
/// change this request made does (and its copy for `NLM_F_ECHO`). It is
/// left out, and so are messages with another sequence number. A datagram
/// that did not fit in the buffer is an error: its end is lost.
pub fn until_finished(
    sock: &NlSocket,
    seq: u32,
    acked: bool,
    buf_len: usize,
    mut after_recv: impl FnMut(usize) -> Result<()>,
) -> Result<Vec<Arrival>> {
    let mut buf = vec![0u8; buf_len];
    let mut answer = Vec::new();
    for recv in 1.. {
        let got = match sock.recv(&mut buf) {
            Ok(got) => got,
            Err(e) if e.errno == Errno(libc::EAGAIN) => bail!(
                "no answer to request {seq} within {} s",
                RECV_TIMEOUT.as_secs()
            ),
            Err(e) => return Err(e.into()),
        };
        if got.truncated() {
            bail!(
                "recv {recv}: a {}-byte datagram did not fit in {buf_len} bytes (MSG_TRUNC): \
                 the rest of it is lost",
                got.datagram_len
            );
        }
        let mut finished = false;
        for msg in NlMsgIter::new(&buf[..got.len]) {
            let msg = msg?;
            let h = msg.header;
            if got.groups != 0 || h.nlmsg_seq != seq {
                continue;
            }
            finished |= h.nlmsg_type == NLMSG_ERROR
                || h.nlmsg_type == NLMSG_DONE
                || (!acked && h.nlmsg_flags & NLM_F_MULTI == 0);
            answer.push(Arrival {
                recv,
                header: h,
                payload: msg.payload.to_vec(),
            });
        }
        after_recv(recv)?;
        if finished {
            break;
        }
    }
    Ok(answer)
}
// ANCHOR_END: until_finished

/// One line per run of messages of the same type and flags from the same
/// `recv`, e.g. `recv 2: 50 x RTM_NEWADDR  NLM_F_MULTI`.
pub fn summary(answer: &[Arrival]) -> Vec<String> {
    let mut lines: Vec<(usize, u16, u16, usize)> = Vec::new();
    for a in answer {
        let key = (a.recv, a.header.nlmsg_type, a.header.nlmsg_flags);
        match lines.last_mut() {
            Some(last) if (last.0, last.1, last.2) == key => last.3 += 1,
            _ => lines.push((key.0, key.1, key.2, 1)),
        }
    }
    lines
        .into_iter()
        .map(|(recv, ty, flags, n)| {
            format!(
                "recv {recv}: {n:>3} x {:<12} {}",
                type_name(ty),
                reply_flags(ty, flags)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlbook_common::uapi::NLM_F_DUMP_INTR;

    fn arrival(recv: usize, ty: u16, flags: u16) -> Arrival {
        Arrival {
            recv,
            header: NlMsgHdr {
                nlmsg_len: 16,
                nlmsg_type: ty,
                nlmsg_flags: flags,
                nlmsg_seq: 1,
                nlmsg_pid: 0,
            },
            payload: vec![0; 4],
        }
    }

    #[test]
    fn summary_groups_runs_per_recv() {
        let answer = [
            arrival(1, 20, NLM_F_MULTI),
            arrival(1, 20, NLM_F_MULTI),
            arrival(2, 20, NLM_F_MULTI | NLM_F_DUMP_INTR),
            arrival(2, NLMSG_DONE, NLM_F_MULTI | NLM_F_DUMP_INTR),
        ];
        assert_eq!(
            summary(&answer),
            [
                "recv 1:   2 x RTM_NEWADDR  NLM_F_MULTI",
                "recv 2:   1 x RTM_NEWADDR  NLM_F_MULTI|NLM_F_DUMP_INTR",
                "recv 2:   1 x NLMSG_DONE   NLM_F_MULTI|NLM_F_DUMP_INTR",
            ]
        );
        assert_eq!(answer[3].done_error(), Some(0));
        assert_eq!(answer[0].done_error(), None);
    }

    #[test]
    fn a_short_error_payload_is_an_error_not_a_panic() {
        let mut a = arrival(1, NLMSG_ERROR, 0);
        a.header.nlmsg_len = 20;
        assert!(a.error().is_err());
    }
}
