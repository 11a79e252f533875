//! `ch01-echo-raw`: talk to the chapter's echo module (protocol 30) over a
//! raw netlink socket. Each argument is one message (default: "hello").
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
use nlbook_common::uapi::{NLM_F_REQUEST, NLMSG_ERROR};
use nlbook_common::{
    NLMSG_HDRLEN, NlMsgErr, NlMsgHdr, NlMsgIter, NlSocket, exit_code, nlmsg_length, nlmsg_space,
};

const PROGRAM: &str = "ch01-echo-raw";

fn main() -> ExitCode {
    exit_code(PROGRAM, run())
}

fn run() -> Result<()> {
    let texts = texts_from_args(std::env::args().skip(1));

    // ANCHOR: open
    // EPROTONOSUPPORT here: no kernel socket exists for protocol 30.
    let sock = NlSocket::open(ECHO_PROTOCOL).map_err(EchoError::from_socket)?;
    sock.bind(0, 0)?; // port id assigned by the kernel
    let our_portid = sock.portid()?;
    sock.set_recv_timeout(REPLY_TIMEOUT)?;
    // ANCHOR_END: open

    // Room for the longest reply the module can send, and then some.
    let mut buf = vec![0u8; 8192];
    for (seq, text) in (1u32..).zip(&texts) {
        // ANCHOR: send
        let payload = request_payload(text); // the text and a NUL
        let header = NlMsgHdr {
            nlmsg_len: u32::try_from(nlmsg_length(payload.len()))?, // no padding counted
            nlmsg_type: ECHO_TYPE,
            nlmsg_flags: NLM_F_REQUEST,
            nlmsg_seq: seq,
            // The kernel knows the sender without this, but modules written
            // after the classic tutorial reply to nlh->nlmsg_pid.
            nlmsg_pid: our_portid,
        };
        let mut datagram = vec![0u8; nlmsg_space(payload.len())]; // padding counted
        datagram[..NLMSG_HDRLEN].copy_from_slice(&header.to_bytes());
        datagram[NLMSG_HDRLEN..NLMSG_HDRLEN + payload.len()].copy_from_slice(&payload);
        sock.send_to(&datagram, 0, 0)?; // to port 0: the kernel
        println!("{}", sent_line(text, header.nlmsg_len, seq));
        // ANCHOR_END: send

        // ANCHOR: receive
        let got = sock
            .recv(&mut buf)
            .map_err(|e| EchoError::from_recv(e, seq, payload.len()))?;
        let malformed = |why: String| EchoError::MalformedReply { seq, why };
        if got.truncated() {
            return Err(malformed(format!("{} bytes did not fit", got.datagram_len)).into());
        }
        let reply = match NlMsgIter::new(&buf[..got.len]).next() {
            Some(msg) => msg?,
            None => return Err(malformed("an empty datagram".to_owned()).into()),
        };
        if reply.header.nlmsg_type == NLMSG_ERROR {
            let answer = NlMsgErr::parse(&reply)?;
            return Err(match answer.errno() {
                Some(errno) => EchoError::Rejected {
                    seq,
                    payload_len: payload.len(),
                    errno,
                },
                None => malformed("an ACK instead of a reply".to_owned()),
            }
            .into());
        }
        let h = reply.header;
        let text = check_reply(
            h.nlmsg_type,
            h.nlmsg_seq,
            reply.payload,
            got.from_portid,
            seq,
            text,
        )?;
        println!(
            "{}",
            reply_line(&text, h.nlmsg_len, h.nlmsg_seq, got.from_portid)
        );
        // ANCHOR_END: receive
    }
    Ok(())
}
