//! `ch01-echo-check`: a hostile client for the echo module. Each case sends
//! one request whose lengths are chosen to expose a module that trusts
//! them, and checks the answer byte for byte:
//!
//! - `short`: "hi" and its NUL: the reply is exactly the prefix and "hi".
//! - `unterminated`: "hi" without a NUL, followed in the same datagram by
//!   padding bytes that are not zero: a module that reads past `nlmsg_len`
//!   echoes them.
//! - `empty`: no payload at all: the module must refuse it (`EINVAL`).
//! - `too-long`: 300 bytes: the module must refuse them (`EMSGSIZE`).
//! - `longest`: exactly 256 bytes: accepted and echoed whole.
//!
//! Without arguments every case runs. Exit status 0 only if every case
//! got exactly the answer it should.

use nlbook_common::UsageError;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use ch01_hello_netlink::echo::{
    ECHO_PROTOCOL, ECHO_TYPE, MAX_PAYLOAD, REPLY_PREFIX, REPLY_TIMEOUT,
};
use nlbook_common::uapi::{NLM_F_ACK, NLM_F_REQUEST, NLMSG_ERROR};
use nlbook_common::{
    NLMSG_HDRLEN, NlMsgErr, NlMsgHdr, NlMsgIter, NlSocket, exit_code, nlmsg_align,
};

const PROGRAM: &str = "ch01-echo-check";

/// What a case must get back.
enum Expect {
    Reply(Vec<u8>),
    Refused(i32),
}

struct Case {
    name: &'static str,
    /// The bytes after the header that `nlmsg_len` counts.
    payload: Vec<u8>,
    /// Bytes after `nlmsg_len` in the same datagram (alignment padding).
    trailing: Vec<u8>,
    expect: Expect,
}

fn reply_of(text: &[u8]) -> Vec<u8> {
    let mut reply = REPLY_PREFIX.as_bytes().to_vec();
    reply.extend_from_slice(text);
    reply.push(0);
    reply
}

fn cases() -> Vec<Case> {
    let longest = vec![b'x'; MAX_PAYLOAD];
    vec![
        Case {
            name: "short",
            payload: b"hi\0".to_vec(),
            trailing: vec![0],
            expect: Expect::Reply(reply_of(b"hi")),
        },
        Case {
            name: "unterminated",
            payload: b"hi".to_vec(),
            trailing: b"XY".to_vec(),
            expect: Expect::Reply(reply_of(b"hi")),
        },
        Case {
            name: "empty",
            payload: Vec::new(),
            trailing: Vec::new(),
            expect: Expect::Refused(libc::EINVAL),
        },
        Case {
            name: "too-long",
            payload: vec![b'y'; 300],
            trailing: Vec::new(),
            expect: Expect::Refused(libc::EMSGSIZE),
        },
        Case {
            name: "longest",
            payload: longest.clone(),
            trailing: Vec::new(),
            expect: Expect::Reply(reply_of(&longest)),
        },
    ]
}

fn main() -> ExitCode {
    exit_code(PROGRAM, run())
}

fn run() -> Result<()> {
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    let all = cases();
    for name in &wanted {
        if !all.iter().any(|c| c.name == name) {
            let usage = format!("usage: {PROGRAM} [short|unterminated|empty|too-long|longest]...");
            return Err(UsageError::new(format!("no case `{name}`"), &usage).into());
        }
    }
    let sock = NlSocket::open(ECHO_PROTOCOL)
        .context("opening protocol 30 (is the echo module loaded?)")?;
    sock.bind(0, 0)?;
    sock.set_recv_timeout(REPLY_TIMEOUT)?;
    let mut wrong = Vec::new();
    for (seq, case) in (1u32..).zip(
        all.iter()
            .filter(|c| wanted.is_empty() || wanted.iter().any(|w| w == c.name)),
    ) {
        match check(&sock, case, seq) {
            Ok(()) => println!("{:<13} ok", case.name),
            Err(why) => {
                println!("{:<13} WRONG: {why:#}", case.name);
                wrong.push(format!("{}: {why:#}", case.name));
            }
        }
    }
    if !wrong.is_empty() {
        bail!("wrong answers: {}", wrong.join("; "));
    }
    Ok(())
}

fn check(sock: &NlSocket, case: &Case, seq: u32) -> Result<()> {
    let nlmsg_len = u32::try_from(NLMSG_HDRLEN + case.payload.len())?;
    let header = NlMsgHdr {
        nlmsg_len,
        nlmsg_type: ECHO_TYPE,
        // ACK: so that a refusal comes back as an NLMSG_ERROR.
        nlmsg_flags: NLM_F_REQUEST | NLM_F_ACK,
        nlmsg_seq: seq,
        nlmsg_pid: 0,
    };
    let mut datagram = header.to_bytes().to_vec();
    datagram.extend_from_slice(&case.payload);
    datagram.extend_from_slice(&case.trailing);
    datagram.resize(nlmsg_align(datagram.len()), 0);
    sock.send_to(&datagram, 0, 0)?;

    let mut buf = vec![0u8; 8192];
    let mut reply: Option<Vec<u8>> = None;
    // A reply (then the ACK), or an error: read until the NLMSG_ERROR.
    loop {
        let got = sock.recv(&mut buf).context("no answer within 5 s")?;
        if got.truncated() {
            bail!(
                "an answer of {} bytes: longer than any right one",
                got.datagram_len
            );
        }
        for msg in NlMsgIter::new(&buf[..got.len]) {
            let msg = msg.map_err(|e| anyhow::anyhow!("malformed answer: {e}"))?;
            if msg.header.nlmsg_seq != seq {
                bail!(
                    "an answer for seq {} while waiting for {seq}",
                    msg.header.nlmsg_seq
                );
            }
            if msg.header.nlmsg_type != NLMSG_ERROR {
                reply = Some(msg.payload.to_vec());
                continue;
            }
            let err =
                NlMsgErr::parse(&msg).map_err(|e| anyhow::anyhow!("malformed NLMSG_ERROR: {e}"))?;
            return judge(&case.expect, reply.as_deref(), err.error);
        }
    }
}

fn judge(expect: &Expect, reply: Option<&[u8]>, error: i32) -> Result<()> {
    match expect {
        Expect::Reply(want) => {
            if error != 0 {
                bail!("refused with errno {} where a reply was due", -error);
            }
            match reply {
                Some(got) if got == want.as_slice() => Ok(()),
                Some(got) => bail!(
                    "reply of {} bytes, {:?}; expected {} bytes",
                    got.len(),
                    String::from_utf8_lossy(&got[..got.len().min(48)]),
                    want.len()
                ),
                None => bail!("an ACK but no reply"),
            }
        }
        Expect::Refused(errno) => {
            if reply.is_some() {
                bail!(
                    "answered with a reply where errno {errno} was due: the module trusted the length"
                );
            }
            if -error != *errno {
                bail!("errno {} where {errno} was due", -error);
            }
            Ok(())
        }
    }
}
