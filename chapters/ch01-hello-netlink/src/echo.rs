//! The chapter's echo module and its clients.
//!
//! The module (`kmod/ch01-hello-netlink`) creates a kernel socket for
//! protocol 30. To any message of type `NLMSG_MIN_TYPE` or above carrying a
//! text, it answers the sender with a message of the same type whose payload
//! is `"hello from kernel: "` followed by that text, NUL-terminated.
//! It rejects payloads longer than 256 bytes.
//!
//! `ch01-echo-raw` and `ch01-echo-neli` print the same lines, built here.

use std::fmt;
use std::time::Duration;

use nlbook_common::uapi::NLMSG_MIN_TYPE;
use nlbook_common::{Errno, SysError};

// ANCHOR: protocol
/// The module's protocol number. Unregistered numbers below `MAX_LINKS` (32)
/// are free for out-of-tree modules; 30 is the classic tutorials' choice.
pub const ECHO_PROTOCOL: i32 = 30;

/// The type of the messages we send: the first one that is not a control
/// message (`NLMSG_MIN_TYPE`, 0x10). The reply carries the same type.
pub const ECHO_TYPE: u16 = NLMSG_MIN_TYPE;

/// What the module puts before the text it received.
pub const REPLY_PREFIX: &str = "hello from kernel: ";

/// The longest payload the module accepts.
pub const MAX_PAYLOAD: usize = 256;

/// How long to wait for each reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
// ANCHOR_END: protocol

/// The texts to send: the program's arguments, or `"hello"` if none.
pub fn texts_from_args(args: impl Iterator<Item = String>) -> Vec<String> {
    let texts: Vec<String> = args.collect();
    if texts.is_empty() {
        vec!["hello".to_owned()]
    } else {
        texts
    }
}

/// The payload for `text`: its bytes and a NUL, as a C module expects.
pub fn request_payload(text: &str) -> Vec<u8> {
    let mut payload = Vec::with_capacity(text.len() + 1);
    payload.extend_from_slice(text.as_bytes());
    payload.push(0);
    payload
}

/// `sent: "hello" (nlmsg_len 22, seq 1)`.
pub fn sent_line(text: &str, nlmsg_len: u32, seq: u32) -> String {
    format!("sent: {text:?} (nlmsg_len {nlmsg_len}, seq {seq})")
}

/// `reply: "hello from kernel: hello" (nlmsg_len 41, seq 1, from port 0)`.
pub fn reply_line(text: &str, nlmsg_len: u32, seq: u32, from_portid: u32) -> String {
    format!("reply: {text:?} (nlmsg_len {nlmsg_len}, seq {seq}, from port {from_portid})")
}

/// Why an echo client gives up.
#[derive(Debug)]
pub enum EchoError {
    /// `socket()` answered `EPROTONOSUPPORT`: no kernel socket for protocol 30.
    ModuleNotLoaded(SysError),
    /// Another system call failed.
    Sys(SysError),
    /// No reply within [`REPLY_TIMEOUT`].
    Timeout {
        /// The unanswered message.
        seq: u32,
        /// Its payload length.
        payload_len: usize,
    },
    /// The kernel answered with `NLMSG_ERROR`.
    Rejected {
        /// The rejected message.
        seq: u32,
        /// Its payload length.
        payload_len: usize,
        /// The error.
        errno: Errno,
    },
    /// The reply does not follow the protocol.
    MalformedReply {
        /// The message it answers.
        seq: u32,
        /// What is wrong.
        why: String,
    },
}

impl EchoError {
    /// Classify a failed `socket()` call.
    pub fn from_socket(e: SysError) -> Self {
        if e.errno == Errno(libc::EPROTONOSUPPORT) {
            EchoError::ModuleNotLoaded(e)
        } else {
            EchoError::Sys(e)
        }
    }

    /// Classify a failed receive: `EAGAIN` after `SO_RCVTIMEO` is a timeout.
    pub fn from_recv(e: SysError, seq: u32, payload_len: usize) -> Self {
        if e.errno == Errno(libc::EAGAIN) {
            EchoError::Timeout { seq, payload_len }
        } else {
            EchoError::Sys(e)
        }
    }
}

fn too_long_hint(payload_len: usize) -> String {
    if payload_len > MAX_PAYLOAD {
        format!(" (the payload was {payload_len} bytes; the module takes at most {MAX_PAYLOAD})")
    } else {
        String::new()
    }
}

// ANCHOR: errors
impl fmt::Display for EchoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EchoError::ModuleNotLoaded(e) => write!(
                f,
                "{e}: no kernel socket for protocol {ECHO_PROTOCOL}: is the chapter-1 echo \
                 module loaded? (`cargo xtask lab --chapter ch01-hello-netlink`)"
            ),
            EchoError::Sys(e) => write!(f, "{e}"),
            EchoError::Timeout { seq, payload_len } => write!(
                f,
                "no reply to message seq {seq} within {} s{}: is the echo module answering? \
                 (see dmesg)",
                REPLY_TIMEOUT.as_secs(),
                too_long_hint(*payload_len)
            ),
            EchoError::Rejected {
                seq,
                payload_len,
                errno,
            } => write!(
                f,
                "the kernel rejected message seq {seq}: {errno}{}",
                too_long_hint(*payload_len)
            ),
            EchoError::MalformedReply { seq, why } => {
                write!(f, "malformed reply to message seq {seq}: {why}")
            }
        }
    }
}
// ANCHOR_END: errors

impl std::error::Error for EchoError {}

impl From<SysError> for EchoError {
    fn from(e: SysError) -> Self {
        EchoError::Sys(e)
    }
}

// ANCHOR: check_reply
/// Check a reply against the protocol and return its text.
///
/// `from_portid` is the sender's address as `recvmsg` reported it: only the
/// kernel (port 0) may answer; any process could otherwise send us a message.
pub fn check_reply(
    nlmsg_type: u16,
    nlmsg_seq: u32,
    payload: &[u8],
    from_portid: u32,
    seq: u32,
    sent: &str,
) -> Result<String, EchoError> {
    let malformed = |why: String| EchoError::MalformedReply { seq, why };
    if from_portid != 0 {
        return Err(malformed(format!(
            "it came from port {from_portid}, not from the kernel (port 0)"
        )));
    }
    if nlmsg_type != ECHO_TYPE {
        return Err(malformed(format!(
            "nlmsg_type is {nlmsg_type:#x}, expected {ECHO_TYPE:#x}"
        )));
    }
    if nlmsg_seq != seq {
        return Err(malformed(format!(
            "nlmsg_seq is {nlmsg_seq}: the module must copy the request's seq"
        )));
    }
    // The text ends at the first NUL; without one, at the end of the payload.
    let end = payload
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(payload.len());
    let text = std::str::from_utf8(&payload[..end])
        .map_err(|e| malformed(format!("the payload is not UTF-8 text ({e})")))?;
    if text.strip_prefix(REPLY_PREFIX) != Some(sent) {
        return Err(malformed(format!(
            "expected {:?}, got {text:?}",
            format!("{REPLY_PREFIX}{sent}")
        )));
    }
    Ok(text.to_owned())
}
// ANCHOR_END: check_reply

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_text() {
        assert_eq!(texts_from_args(std::iter::empty()), ["hello"]);
        assert_eq!(
            texts_from_args(["a".to_owned(), "b c".to_owned()].into_iter()),
            ["a", "b c"]
        );
    }

    #[test]
    fn lines() {
        assert_eq!(
            sent_line("hello", 22, 1),
            r#"sent: "hello" (nlmsg_len 22, seq 1)"#
        );
        assert_eq!(
            reply_line("hello from kernel: hello", 41, 1, 0),
            r#"reply: "hello from kernel: hello" (nlmsg_len 41, seq 1, from port 0)"#
        );
        assert_eq!(request_payload("hi"), b"hi\0");
    }

    #[test]
    fn good_reply() {
        let text = check_reply(0x10, 3, b"hello from kernel: hi\0\0\0", 0, 3, "hi").unwrap();
        assert_eq!(text, "hello from kernel: hi");
        // Without the NUL too.
        assert!(check_reply(0x10, 3, b"hello from kernel: hi", 0, 3, "hi").is_ok());
    }

    #[test]
    fn bad_replies() {
        let msg = |r: Result<String, EchoError>| r.unwrap_err().to_string();
        assert_eq!(
            msg(check_reply(
                0x10,
                1,
                b"hello from kernel: hi\0",
                4242,
                1,
                "hi"
            )),
            "malformed reply to message seq 1: it came from port 4242, not from the kernel (port 0)"
        );
        assert_eq!(
            msg(check_reply(0x3, 1, b"", 0, 1, "hi")),
            "malformed reply to message seq 1: nlmsg_type is 0x3, expected 0x10"
        );
        assert_eq!(
            msg(check_reply(0x10, 0, b"hello from kernel: hi\0", 0, 1, "hi")),
            "malformed reply to message seq 1: nlmsg_seq is 0: the module must copy the request's seq"
        );
        assert_eq!(
            msg(check_reply(0x10, 1, b"hi\0", 0, 1, "hi")),
            r#"malformed reply to message seq 1: expected "hello from kernel: hi", got "hi""#
        );
        assert!(msg(check_reply(0x10, 1, b"\xff\0", 0, 1, "hi")).contains("not UTF-8"));
    }

    #[test]
    fn error_messages() {
        let e = EchoError::from_socket(SysError {
            call: "socket(AF_NETLINK, SOCK_RAW, 30)".into(),
            errno: Errno(libc::EPROTONOSUPPORT),
        });
        assert_eq!(
            e.to_string(),
            "socket(AF_NETLINK, SOCK_RAW, 30) failed: EPROTONOSUPPORT (93): no kernel socket \
             for protocol 30: is the chapter-1 echo module loaded? \
             (`cargo xtask lab --chapter ch01-hello-netlink`)"
        );
        let e = EchoError::Rejected {
            seq: 2,
            payload_len: 300,
            errno: Errno(libc::EMSGSIZE),
        };
        assert_eq!(
            e.to_string(),
            "the kernel rejected message seq 2: EMSGSIZE (90) (the payload was 300 bytes; \
             the module takes at most 256)"
        );
        let e = EchoError::from_recv(
            SysError {
                call: "recvmsg".into(),
                errno: Errno(libc::EAGAIN),
            },
            1,
            6,
        );
        assert_eq!(
            e.to_string(),
            "no reply to message seq 1 within 5 s: is the echo module answering? (see dmesg)"
        );
    }
}
