//! The protocol of the chapter's module, `group_listeners`
//! (`kmod/ch04-nl-table/group_listeners.c`): a netlink protocol of its own
//! with 64 groups that answers "which groups have listeners?" with what
//! `netlink_has_listeners()` says, and multicasts to a group on request.

use std::fmt;
use std::time::Duration;

use nlbook_common::uapi::{NLM_F_REQUEST, NLMSG_ERROR, NLMSG_MIN_TYPE};
use nlbook_common::{
    Errno, Malformed, MsgBuilder, NLMSG_HDRLEN, NlMsgErr, NlMsgIter, NlSocket, Problem, SysError,
};

use crate::groups::{Groups, U32_BITS};

// ANCHOR: protocol
/// The module's protocol number: below `MAX_LINKS` (32), unused by the
/// kernel (its own end at 22) and by chapter 1's echo module (30).
pub const LISTENERS_PROTOCOL: i32 = 28;

/// How many groups the module asks for (`netlink_kernel_cfg.groups`).
pub const LISTENERS_GROUPS: u32 = 64;

/// Request: which groups have listeners? No payload. The reply has the same
/// type: a `u32` group count, then one bit per group in `u32` words.
pub const QUERY: u16 = NLMSG_MIN_TYPE;

/// Request: multicast to a group. Payload: the group, a `u32`. The reply
/// has the same type: group, `netlink_has_listeners()`, and what
/// `nlmsg_multicast()` returned, as three 32-bit integers.
pub const MULTICAST: u16 = NLMSG_MIN_TYPE + 1;

/// The message the module multicasts: its payload is the group, a `u32`.
pub const EVENT: u16 = NLMSG_MIN_TYPE + 2;
// ANCHOR_END: protocol

/// How long to wait for the module's reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request to the module failed.
#[derive(Debug)]
pub enum ModuleError {
    /// `socket()` answered `EPROTONOSUPPORT`: the module is not loaded.
    NotLoaded(SysError),
    /// A system call failed.
    Sys(SysError),
    /// The module answered with an error.
    Rejected {
        /// The errno.
        errno: Errno,
        /// The extended ACK's text, if any.
        message: Option<String>,
    },
    /// The reply does not decode.
    Malformed(Malformed),
    /// The reply is of another type, for another request, or not from the kernel.
    Unexpected(String),
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModuleError::NotLoaded(e) => write!(
                f,
                "{e}: no kernel socket for protocol {LISTENERS_PROTOCOL}: is the chapter-4 module \
                 group_listeners loaded? It runs in the VM lab: \
                 `cargo xtask lab --chapter ch04-nl-table`"
            ),
            ModuleError::Sys(e) => write!(f, "{e}"),
            ModuleError::Rejected { errno, message } => {
                write!(f, "the module answered {errno}")?;
                match message {
                    Some(m) => write!(f, ": \"{m}\""),
                    None => Ok(()),
                }
            }
            ModuleError::Malformed(e) => write!(f, "{e}"),
            ModuleError::Unexpected(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ModuleError {}

impl From<SysError> for ModuleError {
    fn from(e: SysError) -> Self {
        ModuleError::Sys(e)
    }
}

impl From<Malformed> for ModuleError {
    fn from(e: Malformed) -> Self {
        ModuleError::Malformed(e)
    }
}

/// Open a socket of the module's protocol.
pub fn open() -> Result<NlSocket, ModuleError> {
    NlSocket::open(LISTENERS_PROTOCOL).map_err(|e| {
        if e.errno == Errno(libc::EPROTONOSUPPORT) {
            ModuleError::NotLoaded(e)
        } else {
            ModuleError::Sys(e)
        }
    })
}

/// What `netlink_multicast` did for one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MulticastReply {
    /// The group.
    pub group: u32,
    /// `netlink_has_listeners(sk, group)` just before sending.
    pub has_listeners: bool,
    /// `nlmsg_multicast()`'s return: 0 if some socket got the message,
    /// `-ESRCH` if none did.
    pub result: i32,
}

// ANCHOR: decode
/// Decode the reply to [`QUERY`]: a group count, then exactly the `u32`
/// words that count needs. `base` is the payload's offset, for errors.
pub fn parse_query_reply(payload: &[u8], base: usize) -> Result<(u32, Groups), Malformed> {
    let malformed = |problem| Malformed {
        what: "listeners reply",
        offset: base,
        problem,
    };
    let Some(count) = payload.get(..4) else {
        return Err(malformed(Problem::Truncated {
            have: payload.len(),
            need: 4,
        }));
    };
    let ngroups = u32::from_ne_bytes([count[0], count[1], count[2], count[3]]);
    let need = 4 + ngroups.div_ceil(U32_BITS) as usize * 4;
    if payload.len() != need {
        return Err(malformed(Problem::Invalid(format!(
            "{} bytes for {ngroups} groups, expected {need}",
            payload.len()
        ))));
    }
    let words: Vec<u32> = payload[4..]
        .chunks_exact(4)
        .map(|w| u32::from_ne_bytes([w[0], w[1], w[2], w[3]]))
        .collect();
    Ok((ngroups, Groups::from_u32_words(&words)))
}

/// Decode the reply to [`MULTICAST`]: exactly three 32-bit integers.
pub fn parse_multicast_reply(payload: &[u8], base: usize) -> Result<MulticastReply, Malformed> {
    let Ok(b) = <[u8; 12]>::try_from(payload) else {
        return Err(Malformed {
            what: "multicast reply",
            offset: base,
            problem: Problem::Invalid(format!("{} bytes, expected 12", payload.len())),
        });
    };
    Ok(MulticastReply {
        group: u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
        has_listeners: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]) != 0,
        result: i32::from_ne_bytes([b[8], b[9], b[10], b[11]]),
    })
}
// ANCHOR_END: decode

/// A socket that asks the module questions.
#[derive(Debug)]
pub struct Client {
    sock: NlSocket,
    seq: u32,
}

impl Client {
    /// Open, bind, and turn on extended ACKs so that refusals say why.
    pub fn new() -> Result<Self, ModuleError> {
        let sock = open()?;
        sock.bind(0, 0)?;
        sock.set_recv_timeout(REPLY_TIMEOUT)?;
        sock.set_option(
            nlbook_common::uapi::SOL_NETLINK,
            nlbook_common::uapi::NETLINK_EXT_ACK,
            1,
        )?;
        Ok(Client { sock, seq: 0 })
    }

    /// Send a request of `msg_type` with `payload`; return the reply's payload.
    pub fn request(&mut self, msg_type: u16, payload: &[u8]) -> Result<Vec<u8>, ModuleError> {
        self.seq += 1;
        let mut msg = MsgBuilder::new(msg_type, NLM_F_REQUEST, self.seq)
            .fixed(payload)
            .finish()
            .map_err(|e| ModuleError::Unexpected(e.to_string()))?;
        // The builder counts the padding after an odd-sized payload in
        // nlmsg_len; the module checks the payload's length to the byte.
        let len = u32::try_from(NLMSG_HDRLEN + payload.len())
            .map_err(|_| ModuleError::Unexpected("request too long".into()))?;
        msg[0..4].copy_from_slice(&len.to_ne_bytes());
        self.sock.send_to(&msg, 0, 0)?;

        let mut buf = vec![0u8; 4096];
        let got = self.sock.recv(&mut buf)?;
        if got.from_portid != 0 || got.truncated() {
            return Err(ModuleError::Unexpected(
                "a reply that is not the kernel's, or did not fit".into(),
            ));
        }
        let msg = NlMsgIter::new(&buf[..got.len])
            .next()
            .ok_or_else(|| ModuleError::Unexpected("an empty datagram".into()))??;
        if msg.header.nlmsg_seq != self.seq {
            return Err(ModuleError::Unexpected(format!(
                "a reply to seq {}, expected {}",
                msg.header.nlmsg_seq, self.seq
            )));
        }
        if msg.header.nlmsg_type == NLMSG_ERROR {
            let e = NlMsgErr::parse(&msg)?;
            return Err(match e.errno() {
                Some(errno) => ModuleError::Rejected {
                    errno,
                    message: e.message.map(str::to_owned),
                },
                None => ModuleError::Unexpected("an ACK instead of a reply".into()),
            });
        }
        if msg.header.nlmsg_type != msg_type {
            return Err(ModuleError::Unexpected(format!(
                "a reply of type {:#x} to a request of type {msg_type:#x}",
                msg.header.nlmsg_type
            )));
        }
        Ok(msg.payload.to_vec())
    }

    /// Ask which groups have listeners.
    pub fn query(&mut self) -> Result<(u32, Groups), ModuleError> {
        let payload = self.request(QUERY, &[])?;
        Ok(parse_query_reply(&payload, NLMSG_HDRLEN)?)
    }

    /// Ask the module to multicast to `group`.
    pub fn multicast(&mut self, group: u32) -> Result<MulticastReply, ModuleError> {
        let payload = self.request(MULTICAST, &group.to_ne_bytes())?;
        Ok(parse_multicast_reply(&payload, NLMSG_HDRLEN)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(ngroups: u32, w: &[u32]) -> Vec<u8> {
        let mut v = ngroups.to_ne_bytes().to_vec();
        for x in w {
            v.extend_from_slice(&x.to_ne_bytes());
        }
        v
    }

    #[test]
    fn query_replies() {
        let (n, g) = parse_query_reply(&words(64, &[0x5, 0x80]), 16).unwrap();
        assert_eq!(n, 64);
        assert_eq!(g, Groups::of([1, 3, 40]));
        assert_eq!(
            parse_query_reply(&words(64, &[0x5]), 16)
                .unwrap_err()
                .to_string(),
            "malformed listeners reply at offset 16: 8 bytes for 64 groups, expected 12"
        );
        assert_eq!(
            parse_query_reply(&[1, 0], 16).unwrap_err().to_string(),
            "malformed listeners reply at offset 16: needs 4 bytes, only 2 left"
        );
        // A count that would need more words than any buffer has.
        assert!(parse_query_reply(&words(u32::MAX, &[]), 16).is_err());
    }

    #[test]
    fn multicast_replies() {
        let mut b = 7u32.to_ne_bytes().to_vec();
        b.extend_from_slice(&1u32.to_ne_bytes());
        b.extend_from_slice(&(-libc::ESRCH).to_ne_bytes());
        let r = parse_multicast_reply(&b, 16).unwrap();
        assert_eq!((r.group, r.has_listeners, r.result), (7, true, -3));
        assert_eq!(
            parse_multicast_reply(&b[..8], 16).unwrap_err().to_string(),
            "malformed multicast reply at offset 16: 8 bytes, expected 12"
        );
    }

    #[test]
    fn without_the_module_the_error_says_what_to_do() {
        // The host kernel of this project cannot load modules.
        let e = open().unwrap_err();
        assert!(matches!(e, ModuleError::NotLoaded(_)), "{e}");
        assert!(
            e.to_string()
                .contains("cargo xtask lab --chapter ch04-nl-table")
        );
    }
}
