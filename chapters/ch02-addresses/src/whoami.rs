//! The `whoami` module (`kmod/ch02-addresses/whoami.c`): it answers each
//! request with the `nlmsg_pid` the request's header claimed and the port
//! id the kernel recorded for the sending socket (`NETLINK_CB(skb).portid`).

use anyhow::{Result, bail};
use nlbook_common::NlMsgHdr;
use nlbook_common::uapi::NLMSG_MIN_TYPE;

/// The module file the clients need.
pub const MODULE: &str = "whoami.ko";

// ANCHOR: types
/// Answer the socket that sent the request: `NETLINK_CB(skb).portid`.
pub const WHOAMI: u16 = NLMSG_MIN_TYPE;
/// Answer whatever port id the request's header names: `nlh->nlmsg_pid`,
/// as the classic tutorials do.
pub const WHOAMI_BY_HEADER: u16 = NLMSG_MIN_TYPE + 1;
// ANCHOR_END: types

/// The name of a request type, as reports print it.
pub fn type_name(nlmsg_type: u16) -> &'static str {
    match nlmsg_type {
        WHOAMI => "WHOAMI",
        WHOAMI_BY_HEADER => "WHOAMI_BY_HEADER",
        _ => "(unknown)",
    }
}

// ANCHOR: answer
/// The payload of an answer (`struct whoami_answer`): two `u32`s in host
/// byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    /// What the request's `nlmsg_pid` said.
    pub claimed: u32,
    /// `NETLINK_CB(skb).portid`: the port id of the socket that sent it.
    pub sender: u32,
}

impl Answer {
    /// The payload's size.
    pub const LEN: usize = 8;

    /// Decode and check an answer: from the kernel (port 0), with the
    /// request's type and sequence number, and exactly [`Answer::LEN`] bytes.
    pub fn parse(
        header: &NlMsgHdr,
        payload: &[u8],
        from_portid: u32,
        request_type: u16,
        seq: u32,
    ) -> Result<Self> {
        if from_portid != 0 {
            bail!("an answer came from a port id other than the kernel's (0)");
        }
        if header.nlmsg_type != request_type || header.nlmsg_seq != seq {
            bail!(
                "an answer of type {:#x}, seq {}, to a request of type {request_type:#x}, seq {seq}",
                header.nlmsg_type,
                header.nlmsg_seq
            );
        }
        let Ok(bytes) = <[u8; Self::LEN]>::try_from(payload) else {
            bail!(
                "an answer payload of {} bytes, expected {}",
                payload.len(),
                Self::LEN
            );
        };
        let [c0, c1, c2, c3, s0, s1, s2, s3] = bytes;
        Ok(Answer {
            claimed: u32::from_ne_bytes([c0, c1, c2, c3]),
            sender: u32::from_ne_bytes([s0, s1, s2, s3]),
        })
    }
}
// ANCHOR_END: answer

#[cfg(test)]
mod tests {
    use super::*;

    fn header(nlmsg_type: u16, seq: u32) -> NlMsgHdr {
        NlMsgHdr {
            nlmsg_len: 24,
            nlmsg_type,
            nlmsg_flags: 0,
            nlmsg_seq: seq,
            nlmsg_pid: 5,
        }
    }

    #[test]
    fn parses_an_answer() {
        let mut payload = 4242u32.to_ne_bytes().to_vec();
        payload.extend_from_slice(&5u32.to_ne_bytes());
        let a = Answer::parse(&header(WHOAMI, 3), &payload, 0, WHOAMI, 3).unwrap();
        assert_eq!(
            a,
            Answer {
                claimed: 4242,
                sender: 5
            }
        );
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let payload = [0u8; 8];
        assert!(Answer::parse(&header(WHOAMI, 3), &payload, 7, WHOAMI, 3).is_err());
        assert!(Answer::parse(&header(WHOAMI, 2), &payload, 0, WHOAMI, 3).is_err());
        assert!(Answer::parse(&header(WHOAMI_BY_HEADER, 3), &payload, 0, WHOAMI, 3).is_err());
        assert!(Answer::parse(&header(WHOAMI, 3), &payload[..7], 0, WHOAMI, 3).is_err());
        assert_eq!(type_name(WHOAMI_BY_HEADER), "WHOAMI_BY_HEADER");
    }
}
