//! The protocol of the ported module (`kmod/ch10-porting-legacy/kthread_ported.c`),
//! and what its client prints.
//!
//! The protocol is the legacy module's: NETLINK_TEST (25), a text request
//! answered by a kernel thread, a timer that reminds the last sender a
//! second later, and a request that cancels the reminder.

use std::fmt;
use std::time::Duration;

use nlbook_common::uapi::NLMSG_ERROR;
use nlbook_common::{Errno, Malformed, NLMSG_HDRLEN, NlMsg, NlMsgErr, NlMsgHdr, Problem};

// ANCHOR: protocol
/// The legacy protocol number, `NETLINK_TEST`.
pub const NETLINK_TEST: i32 = 25;
/// A text for the kernel thread to answer; arms the reminder.
pub const REQUEST: u16 = 0x10;
/// Forget the pending reminder: ACK if one was pending, else `ENOENT`.
pub const CANCEL: u16 = 0x11;
/// What the timer sends.
pub const REMINDER: u16 = 0x12;
/// The longest text the module takes (the legacy `MAX_PAYLOAD`, now checked).
pub const TEXT_MAX: usize = 100;
/// How long after the last request the timer fires.
pub const REMIND_DELAY: Duration = Duration::from_millis(1000);
/// What the kernel thread puts before the text it answers.
pub const REPLY_PREFIX: &str = "kthread: ";
/// What the timer sends.
pub const REMINDER_TEXT: &str = "reminder from the timer";
// ANCHOR_END: protocol

/// One netlink message: header and payload, `nlmsg_len` exactly their
/// length (no trailing padding), `nlmsg_pid` 0 (the kernel knows the sender).
pub fn message(nlmsg_type: u16, nlmsg_flags: u16, nlmsg_seq: u32, payload: &[u8]) -> Vec<u8> {
    let header = NlMsgHdr {
        nlmsg_len: u32::try_from(NLMSG_HDRLEN + payload.len()).unwrap_or(u32::MAX),
        nlmsg_type,
        nlmsg_flags,
        nlmsg_seq,
        nlmsg_pid: 0,
    };
    let mut bytes = header.to_bytes().to_vec();
    bytes.extend_from_slice(payload);
    bytes
}

/// What came back for one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A message carrying text: a reply or a reminder.
    Text {
        nlmsg_type: u16,
        seq: u32,
        text: String,
    },
    /// `NLMSG_ERROR` with error 0.
    Ack { seq: u32 },
    /// `NLMSG_ERROR` with an errno, and the extended ACK's message if any.
    Rejected {
        seq: u32,
        errno: Errno,
        message: Option<String>,
    },
}

/// Decodes one message from the module. A text must end in its one NUL
/// and be UTF-8; anything else is [`Malformed`], at the offset of what is
/// wrong in the datagram `msg` came in.
pub fn answer(msg: &NlMsg<'_>) -> Result<Answer, Malformed> {
    let seq = msg.header.nlmsg_seq;
    if msg.header.nlmsg_type == NLMSG_ERROR {
        let err = NlMsgErr::parse(msg)?;
        let seq = err.request.nlmsg_seq;
        return Ok(match err.errno() {
            None => Answer::Ack { seq },
            Some(errno) => Answer::Rejected {
                seq,
                errno,
                message: err.message.map(str::to_owned),
            },
        });
    }
    let payload_at = msg.offset + NLMSG_HDRLEN;
    let invalid = |offset, why: String| Malformed {
        what: "text answer",
        offset,
        problem: Problem::Invalid(format!(
            "type {:#x} seq {seq}: {why}",
            msg.header.nlmsg_type
        )),
    };
    let Some((&0, text)) = msg.payload.split_last() else {
        return Err(invalid(
            payload_at,
            format!(
                "payload without a trailing NUL: {:?}",
                String::from_utf8_lossy(msg.payload)
            ),
        ));
    };
    if let Some(nul) = text.iter().position(|&b| b == 0) {
        return Err(invalid(payload_at + nul, "a NUL inside the text".into()));
    }
    let text = std::str::from_utf8(text)
        .map_err(|e| invalid(payload_at + e.valid_up_to(), "the text is not UTF-8".into()))?;
    Ok(Answer::Text {
        nlmsg_type: msg.header.nlmsg_type,
        seq,
        text: text.to_owned(),
    })
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Text {
                nlmsg_type,
                seq,
                text,
            } => write!(f, "type {nlmsg_type:#x}, seq {seq}: {text:?}"),
            Answer::Ack { seq } => write!(f, "ACK for seq {seq}"),
            Answer::Rejected {
                seq,
                errno,
                message,
            } => {
                write!(f, "seq {seq} rejected: {errno}")?;
                if let Some(m) = message {
                    write!(f, " {m:?}")?;
                }
                Ok(())
            }
        }
    }
}

/// The answer the kernel thread owes a request for `text`.
pub fn expected_reply(seq: u32, text: &str) -> Answer {
    Answer::Text {
        nlmsg_type: REQUEST,
        seq,
        text: format!("{REPLY_PREFIX}{text}"),
    }
}

/// The timer's message.
pub fn expected_reminder() -> Answer {
    Answer::Text {
        nlmsg_type: REMINDER,
        seq: 0,
        text: REMINDER_TEXT.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlbook_common::NlMsgIter;

    #[test]
    fn a_message_is_its_header_and_payload_without_padding() {
        let bytes = message(REQUEST, 1, 7, b"hi\0");
        assert_eq!(bytes.len(), 19);
        let msg = NlMsgIter::new(&bytes).next().unwrap().unwrap();
        assert_eq!(msg.header.nlmsg_len, 19);
        assert_eq!(msg.header.nlmsg_seq, 7);
        assert_eq!(msg.payload, b"hi\0");
    }

    #[test]
    fn texts_must_end_in_one_nul() {
        let good = message(REMINDER, 0, 0, b"reminder from the timer\0");
        let msg = NlMsgIter::new(&good).next().unwrap().unwrap();
        assert_eq!(answer(&msg), Ok(expected_reminder()));
        for bad in [&b"no nul"[..], b"two\0nuls\0", b""] {
            let bytes = message(REQUEST, 0, 1, bad);
            let msg = NlMsgIter::new(&bytes).next().unwrap().unwrap();
            assert!(answer(&msg).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_bad_text_names_its_offset() {
        let bytes = message(REQUEST, 0, 1, b"two\0nuls\0");
        let msg = NlMsgIter::new(&bytes).next().unwrap().unwrap();
        assert_eq!(
            answer(&msg).unwrap_err().to_string(),
            "malformed text answer at offset 19: type 0x10 seq 1: a NUL inside the text"
        );
        let bytes = message(REQUEST, 0, 1, b"caf\xc3\0");
        let msg = NlMsgIter::new(&bytes).next().unwrap().unwrap();
        assert_eq!(answer(&msg).unwrap_err().offset, 19);
    }

    #[test]
    fn errors_and_acks_name_the_request_they_answer() {
        let request = message(CANCEL, 5, 3, b"");
        for (error, expected) in [
            (0, Answer::Ack { seq: 3 }),
            (
                -libc::ENOENT,
                Answer::Rejected {
                    seq: 3,
                    errno: Errno(libc::ENOENT),
                    message: None,
                },
            ),
        ] {
            let mut payload = i32::to_ne_bytes(error).to_vec();
            payload.extend_from_slice(&request[..NLMSG_HDRLEN]);
            let bytes = message(NLMSG_ERROR, 0, 3, &payload);
            let msg = NlMsgIter::new(&bytes).next().unwrap().unwrap();
            assert_eq!(answer(&msg), Ok(expected));
        }
    }

    #[test]
    fn answers_print_as_the_book_shows_them() {
        assert_eq!(
            expected_reply(1, "hello").to_string(),
            "type 0x10, seq 1: \"kthread: hello\""
        );
        let rejected = Answer::Rejected {
            seq: 2,
            errno: Errno(libc::ENOENT),
            message: Some("kthread_ported: no reminder pending".into()),
        };
        assert_eq!(
            rejected.to_string(),
            "seq 2 rejected: ENOENT (2) \"kthread_ported: no reminder pending\""
        );
    }
}
