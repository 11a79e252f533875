//! The protocol of `kmod/ch06-enobufs/burst_sender.c`.

use std::time::Duration;

use nlbook_common::uapi::{NLM_F_ACK, NLM_F_REQUEST, NLMSG_ERROR, NLMSG_MIN_TYPE};
use nlbook_common::{
    Errno, Malformed, MsgBuilder, NLMSG_HDRLEN, NlMsgErr, NlMsgIter, NlSocket, Problem, SysError,
};

/// `NETLINK_NLBOOK_BURST`: the module's protocol number.
pub const PROTOCOL: i32 = 23;
/// `NLBOOK_BURST_GROUP`: where the burst goes.
pub const GROUP: u32 = 1;
/// `NLBOOK_BURST_REQUEST`: payload one u32, the count.
pub const REQUEST: u16 = NLMSG_MIN_TYPE;
/// `NLBOOK_BURST_MESSAGE`: payload one u32, the message's number from 1.
pub const MESSAGE: u16 = NLMSG_MIN_TYPE + 1;
/// `NLBOOK_BURST_MAX`.
pub const MAX: u32 = 256;

/// Why a burst was not sent.
#[derive(Debug)]
pub enum BurstError {
    /// A socket call failed.
    Sys(SysError),
    /// The module refused the request.
    Refused(Errno),
    /// No acknowledgement within the timeout, or a malformed one.
    NoAnswer,
}

impl std::fmt::Display for BurstError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BurstError::Sys(e) if e.errno == Errno(libc::EPROTONOSUPPORT) => write!(
                f,
                "{e}: nothing serves protocol {PROTOCOL}: load the chapter's module \
                 (kmod/ch06-enobufs/burst_sender.ko, `cargo xtask lab --chapter ch06-enobufs`)"
            ),
            BurstError::Sys(e) => write!(f, "{e}"),
            BurstError::Refused(e) => write!(f, "the module refused the burst: {e}"),
            BurstError::NoAnswer => f.write_str("the module did not acknowledge the burst"),
        }
    }
}

impl std::error::Error for BurstError {}

impl From<SysError> for BurstError {
    fn from(e: SysError) -> Self {
        BurstError::Sys(e)
    }
}

/// The module's socket, for requests.
pub fn open() -> Result<NlSocket, BurstError> {
    let sock = NlSocket::open(PROTOCOL)?;
    sock.bind(0, 0)?;
    sock.set_recv_timeout(Duration::from_secs(5))?;
    Ok(sock)
}

// ANCHOR: request
/// Ask for a burst of `count` messages and wait for the acknowledgement.
/// The module multicasts the whole burst inside this `sendmsg()`, so when
/// the ACK arrives every listener's queue holds what it could.
pub fn request(sock: &NlSocket, count: u32) -> Result<(), BurstError> {
    const SEQ: u32 = 1;
    let msg = MsgBuilder::new(REQUEST, NLM_F_REQUEST | NLM_F_ACK, SEQ)
        .fixed(&count.to_ne_bytes())
        .finish()
        .map_err(|_| BurstError::NoAnswer)?;
    sock.send_to(&msg, 0, 0)?;
    let mut buf = [0u8; 1024];
    let got = sock.recv(&mut buf)?;
    for msg in NlMsgIter::new(&buf[..got.len]) {
        let Ok(msg) = msg else { break };
        if msg.header.nlmsg_type != NLMSG_ERROR || msg.header.nlmsg_seq != SEQ {
            continue;
        }
        let Ok(answer) = NlMsgErr::parse(&msg) else {
            break;
        };
        return match answer.errno() {
            None => Ok(()),
            Some(e) => Err(BurstError::Refused(e)),
        };
    }
    Err(BurstError::NoAnswer)
}
// ANCHOR_END: request

/// The number a burst message carries, or why `datagram` is not one whole
/// burst message.
pub fn message_number(datagram: &[u8]) -> Result<u32, Malformed> {
    let malformed = |offset, problem| Malformed {
        what: "burst message",
        offset,
        problem,
    };
    let msg = NlMsgIter::new(datagram).next().ok_or_else(|| {
        malformed(
            0,
            Problem::Truncated {
                have: 0,
                need: NLMSG_HDRLEN + 4,
            },
        )
    })??;
    if msg.header.nlmsg_type != MESSAGE {
        return Err(malformed(
            0,
            Problem::Invalid(format!(
                "type {:#x}, not NLBOOK_BURST_MESSAGE ({MESSAGE:#x})",
                msg.header.nlmsg_type
            )),
        ));
    }
    let Some(bytes) = msg.payload.first_chunk::<4>() else {
        return Err(malformed(
            NLMSG_HDRLEN,
            Problem::Truncated {
                have: msg.payload.len(),
                need: 4,
            },
        ));
    };
    Ok(u32::from_ne_bytes(*bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_number_or_says_why_not() {
        let m = MsgBuilder::new(MESSAGE, 0, 0)
            .fixed(&7u32.to_ne_bytes())
            .finish()
            .unwrap();
        assert_eq!(message_number(&m), Ok(7));
        assert_eq!(
            message_number(&[]).unwrap_err().to_string(),
            "malformed burst message at offset 0: needs 20 bytes, only 0 left"
        );
        let other = MsgBuilder::new(REQUEST, 0, 0).finish().unwrap();
        assert_eq!(
            message_number(&other).unwrap_err().to_string(),
            "malformed burst message at offset 0: type 0x10, not NLBOOK_BURST_MESSAGE (0x11)"
        );
        let short = MsgBuilder::new(MESSAGE, 0, 0)
            .fixed(&[1, 0])
            .finish()
            .unwrap();
        let err = message_number(&short[..18]).unwrap_err();
        assert_eq!(err.what, "nlmsghdr");
        let mut short = short;
        short[0..4].copy_from_slice(&18u32.to_ne_bytes());
        assert_eq!(
            message_number(&short[..18]).unwrap_err().to_string(),
            "malformed burst message at offset 16: needs 4 bytes, only 2 left"
        );
    }
}
