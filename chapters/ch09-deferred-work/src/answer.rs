//! What comes back from the module: a reply, a refusal, an ACK, or nothing
//! before the timeout. The kernel sends each in a datagram of its own.

use std::fmt;

use anyhow::{Result, anyhow, bail};
use nlbook_common::uapi::NLMSG_ERROR;
use nlbook_common::{Errno, NlMsgErr, NlMsgIter, NlSocket};

/// Room for any answer the modules send; `MSG_TRUNC` tells if not.
const ANSWER_BUF_LEN: usize = 8192;

/// One answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A message of a type other than `NLMSG_ERROR`.
    Reply {
        seq: u32,
        msg_type: u16,
        payload: Vec<u8>,
    },
    /// An `NLMSG_ERROR` with a non-zero error.
    Refused { seq: u32, errno: Errno },
    /// An `NLMSG_ERROR` with error 0.
    Ack { seq: u32 },
    /// Nothing arrived within the socket's receive timeout.
    Nothing,
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Reply { payload, .. } => write!(f, "a reply of {} bytes", payload.len()),
            Answer::Refused { errno, .. } => write!(f, "refused: {errno}"),
            Answer::Ack { .. } => f.write_str("an ACK"),
            Answer::Nothing => f.write_str("no answer"),
        }
    }
}

/// Wait for the next answer on `sock` (its receive timeout applies).
pub fn read_answer(sock: &NlSocket) -> Result<Answer> {
    let mut buf = vec![0u8; ANSWER_BUF_LEN];
    let got = match sock.recv(&mut buf) {
        Ok(got) => got,
        Err(e) if e.errno == Errno(libc::EAGAIN) => return Ok(Answer::Nothing),
        Err(e) => return Err(e.into()),
    };
    if got.from_portid != 0 {
        bail!(
            "a datagram from port id {}, not the kernel",
            got.from_portid
        );
    }
    if got.truncated() {
        bail!(
            "an answer of {} bytes: longer than any the module sends",
            got.datagram_len
        );
    }
    parse_answer(&buf[..got.len])
}

/// Decode the one message of an answer datagram.
pub fn parse_answer(datagram: &[u8]) -> Result<Answer> {
    let mut messages = NlMsgIter::new(datagram);
    let msg = messages
        .next()
        .ok_or_else(|| anyhow!("an empty datagram"))?
        .map_err(|e| anyhow!("a malformed answer: {e}"))?;
    if messages.next().is_some() {
        bail!("more than one message in an answer datagram");
    }
    let seq = msg.header.nlmsg_seq;
    if msg.header.nlmsg_type != NLMSG_ERROR {
        return Ok(Answer::Reply {
            seq,
            msg_type: msg.header.nlmsg_type,
            payload: msg.payload.to_vec(),
        });
    }
    let err = NlMsgErr::parse(&msg).map_err(|e| anyhow!("a malformed NLMSG_ERROR: {e}"))?;
    Ok(match err.errno() {
        Some(errno) => Answer::Refused { seq, errno },
        None => Answer::Ack { seq },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlbook_common::NlMsgHdr;
    use nlbook_common::uapi::NLM_F_CAPPED;

    fn message(msg_type: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = NlMsgHdr {
            nlmsg_len: u32::try_from(16 + payload.len()).unwrap(),
            nlmsg_type: msg_type,
            nlmsg_flags: flags,
            nlmsg_seq: seq,
            nlmsg_pid: 0,
        }
        .to_bytes()
        .to_vec();
        v.extend_from_slice(payload);
        v
    }

    fn error_payload(error: i32, request_seq: u32) -> Vec<u8> {
        let mut p = error.to_ne_bytes().to_vec();
        p.extend_from_slice(&crate::request::request_claiming(request_seq, 16, &[])[..16]);
        p
    }

    #[test]
    fn a_reply_keeps_its_payload() {
        let d = message(0x10, 0, 3, b"hello");
        assert_eq!(
            parse_answer(&d).unwrap(),
            Answer::Reply {
                seq: 3,
                msg_type: 0x10,
                payload: b"hello".to_vec()
            }
        );
    }

    #[test]
    fn an_error_is_a_refusal_and_zero_is_an_ack() {
        let refused = message(NLMSG_ERROR, NLM_F_CAPPED, 4, &error_payload(-22, 4));
        assert_eq!(
            parse_answer(&refused).unwrap(),
            Answer::Refused {
                seq: 4,
                errno: Errno(libc::EINVAL)
            }
        );
        assert_eq!(
            parse_answer(&refused).unwrap().to_string(),
            "refused: EINVAL (22)"
        );
        let ack = message(NLMSG_ERROR, NLM_F_CAPPED, 5, &error_payload(0, 5));
        assert_eq!(parse_answer(&ack).unwrap(), Answer::Ack { seq: 5 });
    }

    #[test]
    fn a_broken_answer_is_an_error_not_a_panic() {
        assert!(parse_answer(&[1, 2, 3]).is_err());
        assert!(parse_answer(&[]).is_err());
        let short_error = message(NLMSG_ERROR, 0, 1, &[0, 0]);
        assert!(parse_answer(&short_error).is_err());
    }
}
