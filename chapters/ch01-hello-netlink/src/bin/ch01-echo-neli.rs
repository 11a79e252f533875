//! `ch01-echo-neli`: `ch01-echo-raw` written with neli. Same arguments, same
//! output lines, except `nlmsg_len`: neli counts the padding in it.
//!
//! It needs the module, so it runs in the VM lab:
//!
//! ```text
//! cargo xtask lab --chapter ch01-hello-netlink
//! ```
//!
//! Without the module it stops at `socket()` with `EPROTONOSUPPORT`.

use std::process::ExitCode;

use anyhow::Result;
use ch01_hello_netlink::echo::{
    ECHO_PROTOCOL, ECHO_TYPE, EchoError, REPLY_TIMEOUT, check_reply, reply_line, request_payload,
    sent_line, texts_from_args,
};
use neli::consts::nl::NlmF;
use neli::consts::socket::NlFamily;
use neli::err::SocketError;
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::Buffer;
use neli::utils::Groups;
use nlbook_common::socket::{peek, set_recv_timeout};
use nlbook_common::{Errno, SysError, exit_code};

const PROGRAM: &str = "ch01-echo-neli";

fn main() -> ExitCode {
    exit_code(PROGRAM, run())
}

/// A neli socket error as the failed call and its errno, when it has one.
fn sys_error(call: &str, e: SocketError) -> anyhow::Error {
    match &e {
        SocketError::Io(io) => match io.raw_os_error() {
            Some(errno) => SysError {
                call: call.to_owned(),
                errno: Errno(errno),
            }
            .into(),
            None => e.into(),
        },
        _ => e.into(),
    }
}

fn run() -> Result<()> {
    let texts = texts_from_args(std::env::args().skip(1));

    // ANCHOR: open
    // neli names the protocols it knows; any other number goes in the
    // catch-all variant every neli constant enum has.
    let family = NlFamily::UnrecognizedConst(ECHO_PROTOCOL);
    let sock = match NlSocketHandle::connect(family, None, Groups::empty()) {
        Ok(sock) => sock,
        Err(SocketError::Io(io)) if io.raw_os_error() == Some(libc::EPROTONOSUPPORT) => {
            return Err(EchoError::from_socket(SysError {
                call: format!("socket(AF_NETLINK, SOCK_RAW, {ECHO_PROTOCOL})"),
                errno: Errno(libc::EPROTONOSUPPORT),
            })
            .into());
        }
        Err(e) => return Err(sys_error("socket(AF_NETLINK) + bind", e)),
    };
    set_recv_timeout(&sock, REPLY_TIMEOUT)?;
    // ANCHOR_END: open

    for (seq, text) in (1u32..).zip(&texts) {
        // ANCHOR: send
        let payload = request_payload(text); // the text and a NUL
        let request = NlmsghdrBuilder::default()
            .nl_type(ECHO_TYPE) // a plain u16: neli has no name for it
            .nl_flags(NlmF::REQUEST)
            .nl_seq(seq)
            .nl_pid(sock.pid()) // see ch01-echo-raw
            .nl_payload(NlPayload::Payload(Buffer::from(payload.as_slice())))
            .build()?;
        sock.send(&request).map_err(|e| sys_error("sendmsg", e))?;
        // nl_len includes the padding: NLMSG_SPACE, not NLMSG_LENGTH.
        println!("{}", sent_line(text, *request.nl_len(), seq));
        // ANCHOR_END: send

        // ANCHOR: receive
        // neli's recv() does not say who sent the datagram: peek at the
        // sender's address first (this also waits, up to the timeout).
        let sender = peek(&sock).map_err(|e| EchoError::from_recv(e, seq, payload.len()))?;
        let (mut messages, _groups) = sock
            .recv::<u16, Buffer>()
            .map_err(|e| sys_error("recvmsg", e))?;
        let reply = match messages.next() {
            Some(msg) => msg.map_err(|e| EchoError::MalformedReply {
                seq,
                why: e.to_string(),
            })?,
            None => {
                let why = "an empty datagram".to_owned();
                return Err(EchoError::MalformedReply { seq, why }.into());
            }
        };
        let body = match reply.nl_payload() {
            NlPayload::Payload(body) => body.as_ref(),
            NlPayload::Err(e) => {
                return Err(EchoError::Rejected {
                    seq,
                    payload_len: payload.len(),
                    errno: Errno(e.error().saturating_neg()),
                }
                .into());
            }
            NlPayload::Ack(_) => {
                let why = "an ACK instead of a reply".to_owned();
                return Err(EchoError::MalformedReply { seq, why }.into());
            }
            // Any other control message: check_reply names its type.
            NlPayload::DumpExtAck(_) | NlPayload::Empty => &[],
        };
        let text = check_reply(
            *reply.nl_type(),
            *reply.nl_seq(),
            body,
            sender.from_portid,
            seq,
            text,
        )?;
        println!(
            "{}",
            reply_line(&text, *reply.nl_len(), *reply.nl_seq(), sender.from_portid)
        );
        // ANCHOR_END: receive
    }
    Ok(())
}
