//! What the kernel sent back, owned and classified: an ACK, a refusal with
//! its errno (and extended-ACK text), or a reply the target describes.

use nlbook_common::uapi::{NLMSG_DONE, NLMSG_ERROR};
use nlbook_common::{Errno, Malformed, NlMsgErr, NlMsgHdr, NlMsgIter};

/// One message the kernel sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    pub header: NlMsgHdr,
    pub payload: Vec<u8>,
}

/// What an `NLMSG_ERROR` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// `None` for an ACK.
    pub errno: Option<Errno>,
    /// The extended ACK's text, if any.
    pub message: Option<String>,
}

impl Msg {
    /// Every message of one received datagram; a datagram that does not
    /// hold together is an error (the kernel never sends one).
    pub fn parse_datagram(bytes: &[u8]) -> Result<Vec<Msg>, Malformed> {
        NlMsgIter::new(bytes)
            .map(|m| {
                m.map(|m| Msg {
                    header: m.header,
                    payload: m.payload.to_vec(),
                })
            })
            .collect()
    }

    pub fn seq(&self) -> u32 {
        self.header.nlmsg_seq
    }

    /// The `NLMSG_ERROR` payload, if this is one and it holds together.
    pub fn refusal(&self) -> Option<Refusal> {
        if self.header.nlmsg_type != NLMSG_ERROR {
            return None;
        }
        let msg = nlbook_common::NlMsg {
            header: self.header,
            payload: &self.payload,
            offset: 0,
        };
        let err = NlMsgErr::parse(&msg).ok()?;
        Some(Refusal {
            errno: err.errno(),
            message: err.message.map(str::to_owned),
        })
    }

    /// An ACK: `NLMSG_ERROR` with error 0.
    pub fn is_ack(&self) -> bool {
        self.refusal().is_some_and(|r| r.errno.is_none())
    }

    /// A refusal with `errno`.
    pub fn is_refusal(&self, errno: i32) -> bool {
        self.refusal().and_then(|r| r.errno) == Some(Errno(errno))
    }
}

/// The control messages, named; `None` for anything a target describes.
pub fn describe_control(msg: &Msg) -> Option<String> {
    match msg.header.nlmsg_type {
        NLMSG_ERROR => Some(match msg.refusal() {
            None => format!(
                "NLMSG_ERROR, {} bytes (not a struct nlmsgerr)",
                msg.payload.len()
            ),
            Some(Refusal { errno: None, .. }) => "ACK".to_string(),
            Some(Refusal {
                errno: Some(errno),
                message,
            }) => match message {
                Some(text) => format!("NLMSG_ERROR {} \"{text}\"", errno.name()),
                None => format!("NLMSG_ERROR {}", errno.name()),
            },
        }),
        NLMSG_DONE => Some("NLMSG_DONE".to_string()),
        _ => None,
    }
}

/// The category of an answer in a flood: its kind and errno, no content.
pub fn category(msg: &Msg) -> String {
    match msg.refusal() {
        Some(Refusal { errno: None, .. }) => "ACK".to_string(),
        Some(Refusal {
            errno: Some(errno), ..
        }) => format!("NLMSG_ERROR {}", errno.name()),
        None if msg.header.nlmsg_type == NLMSG_DONE => "NLMSG_DONE".to_string(),
        None => "reply".to_string(),
    }
}

/// Payload text as a module sends it: printable ASCII, maybe a final NUL.
pub fn text(payload: &[u8]) -> Option<&str> {
    let body = payload.strip_suffix(&[0]).unwrap_or(payload);
    if body.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        std::str::from_utf8(body).ok()
    } else {
        None
    }
}

/// Several descriptions in one cell: runs of the same text counted.
pub fn join(descriptions: &[String]) -> String {
    if descriptions.is_empty() {
        return "nothing".to_string();
    }
    let mut parts: Vec<(String, usize)> = Vec::new();
    for d in descriptions {
        match parts.last_mut() {
            Some((last, n)) if last == d => *n += 1,
            _ => parts.push((d.clone(), 1)),
        }
    }
    parts
        .into_iter()
        .map(|(d, n)| if n == 1 { d } else { format!("{n} x {d}") })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// Messages as a module sends them, for the crate's unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::Msg;
    use crate::datagram::message;
    use nlbook_common::uapi::{NLM_F_REQUEST, NLMSG_ERROR};

    /// A message of type `ty`, sequence number `seq`, from the kernel.
    pub fn msg(ty: u16, seq: u32, payload: &[u8]) -> Msg {
        Msg::parse_datagram(&message(ty, 0, seq, payload))
            .unwrap()
            .remove(0)
    }

    /// The NLMSG_ERROR answering request `seq` with `error`: 0 is an ACK,
    /// a negative errno a refusal.
    pub fn nlmsgerr(seq: u32, error: i32) -> Msg {
        let mut payload = error.to_ne_bytes().to_vec();
        payload.extend_from_slice(&message(0x10, NLM_F_REQUEST, seq, b""));
        msg(NLMSG_ERROR, seq, &payload)
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{msg, nlmsgerr};
    use super::*;
    use crate::datagram::message;

    fn error_msg(error: i32) -> Msg {
        nlmsgerr(5, error)
    }

    #[test]
    fn acks_and_refusals_are_named() {
        let ack = error_msg(0);
        assert!(ack.is_ack());
        assert_eq!(describe_control(&ack).as_deref(), Some("ACK"));
        let refused = error_msg(-libc::EINVAL);
        assert!(refused.is_refusal(libc::EINVAL));
        assert_eq!(
            describe_control(&refused).as_deref(),
            Some("NLMSG_ERROR EINVAL")
        );
        assert_eq!(category(&refused), "NLMSG_ERROR EINVAL");
        let reply = msg(0x10, 5, b"hi\0");
        assert_eq!(describe_control(&reply), None);
        assert_eq!(category(&reply), "reply");
    }

    #[test]
    fn text_and_joining() {
        assert_eq!(
            text(b"hello from kernel: ping\0"),
            Some("hello from kernel: ping")
        );
        assert_eq!(text(b"ping"), Some("ping"));
        assert_eq!(text(&[1, 2, 3]), None);
        let d = |s: &str| s.to_string();
        assert_eq!(join(&[]), "nothing");
        assert_eq!(join(&[d("ACK")]), "ACK");
        assert_eq!(join(&[d("a"), d("a"), d("ACK")]), "2 x a + ACK");
    }

    #[test]
    fn a_broken_datagram_is_an_error() {
        let mut bytes = message(0x10, 0, 1, b"abcd");
        bytes[0..4].copy_from_slice(&200u32.to_ne_bytes());
        assert!(Msg::parse_datagram(&bytes).is_err());
    }
}
