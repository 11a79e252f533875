//! Protocol 31, the largest number below `MAX_LINKS`, and talking to the
//! kernel socket a module creates for it.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nlbook_common::uapi::{NLM_F_REQUEST, NLMSG_ERROR, NLMSG_MIN_TYPE};
use nlbook_common::{Errno, MsgBuilder, NlMsgErr, NlMsgIter, NlSocket, SysError};

// ANCHOR: protocol
/// The number the chapter's module (`max_links.ko`) and the exercise's
/// module (`claim.ko`) create their kernel socket for: the last slot of
/// `nl_table`.
pub const PROTOCOL: i32 = 31;
// ANCHOR_END: protocol

/// How long a client waits for the module's answer. It is queued before
/// `sendmsg()` returns (the module's `input` runs inside it); the limit only
/// keeps a broken module from hanging the client.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// `socket()` for protocol 31 failed.
#[derive(Debug)]
pub enum ModuleError {
    /// `EPROTONOSUPPORT`: nothing registered protocol 31.
    NotLoaded {
        /// The failed call.
        error: SysError,
        /// The module the program needs, e.g. `max_links.ko`.
        module: &'static str,
        /// Where it runs, e.g. `cargo xtask lab --chapter ch08-protocol-numbers`.
        command: &'static str,
    },
    /// Any other failure.
    Sys(SysError),
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModuleError::NotLoaded {
                error,
                module,
                command,
            } => write!(
                f,
                "{error}: nothing registered protocol {PROTOCOL}: is {module} loaded? \
                 It runs in the VM lab: `{command}`"
            ),
            ModuleError::Sys(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ModuleError {}

/// Open a socket for protocol 31, on behalf of a client of `module`, which
/// runs with `command`.
pub fn open(module: &'static str, command: &'static str) -> Result<NlSocket, ModuleError> {
    NlSocket::open(PROTOCOL).map_err(|error| {
        if error.errno == Errno(libc::EPROTONOSUPPORT) {
            ModuleError::NotLoaded {
                error,
                module,
                command,
            }
        } else {
            ModuleError::Sys(error)
        }
    })
}

/// The module's answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A message of the request's type: its text, up to the first NUL.
    Text(String),
    /// `NLMSG_ERROR` with this errno.
    Error(Errno),
}

// ANCHOR: ask
/// Send `text` to the kernel socket (port 0) of `sock`'s protocol as one
/// request of type `NLMSG_MIN_TYPE` and sequence number `seq`, and read the
/// answer. It must come from port 0 and carry `seq`.
pub fn ask(sock: &NlSocket, text: &str, seq: u32) -> Result<Answer> {
    let request = MsgBuilder::new(NLMSG_MIN_TYPE, NLM_F_REQUEST, seq)
        .fixed(text.as_bytes())
        .finish()?;
    sock.send_to(&request, 0, 0)?;
    sock.set_recv_timeout(ANSWER_TIMEOUT)?;
    let mut buf = [0u8; 4096];
    let got = sock
        .recv(&mut buf)
        .context("waiting for the module's answer")?;
    if got.truncated() {
        bail!(
            "the answer is {} bytes, more than the {}-byte buffer",
            got.datagram_len,
            buf.len()
        );
    }
    if got.from_portid != 0 {
        bail!(
            "the answer came from port {}, not the kernel",
            got.from_portid
        );
    }
    let mut messages = NlMsgIter::new(&buf[..got.len]);
    let msg = messages.next().context("an empty datagram")??;
    if messages.next().is_some() {
        bail!("more than one message in the answer");
    }
    if msg.header.nlmsg_seq != seq {
        bail!(
            "the answer carries seq {}, the request {seq}",
            msg.header.nlmsg_seq
        );
    }
    match msg.header.nlmsg_type {
        NLMSG_ERROR => {
            let err = NlMsgErr::parse(&msg)?;
            let errno = err.errno().context("an ACK, but no ACK was asked for")?;
            Ok(Answer::Error(errno))
        }
        NLMSG_MIN_TYPE => {
            let end = msg
                .payload
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(msg.payload.len());
            let text = std::str::from_utf8(&msg.payload[..end])
                .context("the answer's text is not UTF-8")?;
            Ok(Answer::Text(text.to_owned()))
        }
        other => bail!("an answer of type {other}, the request's was {NLMSG_MIN_TYPE}"),
    }
}
// ANCHOR_END: ask

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_module_says_where_it_runs() {
        let e = ModuleError::NotLoaded {
            error: SysError {
                call: "socket(AF_NETLINK, SOCK_RAW, 31)".into(),
                errno: Errno(libc::EPROTONOSUPPORT),
            },
            module: "max_links.ko",
            command: "cargo xtask lab --chapter ch08-protocol-numbers",
        };
        assert_eq!(
            e.to_string(),
            "socket(AF_NETLINK, SOCK_RAW, 31) failed: EPROTONOSUPPORT (93): nothing registered \
             protocol 31: is max_links.ko loaded? It runs in the VM lab: \
             `cargo xtask lab --chapter ch08-protocol-numbers`"
        );
    }
}
