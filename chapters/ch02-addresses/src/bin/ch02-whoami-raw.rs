//! `ch02-whoami-raw`: ask the `whoami` module (protocol 29) who we are,
//! writing a different `nlmsg_pid` each time, and see where each answer
//! lands.
//!
//! It needs the module, so it runs in the VM lab:
//!
//! ```text
//! cargo xtask lab --chapter ch02-addresses --test whoami
//! ```
//!
//! Two sockets: A, the process's first on protocol 29 (so its port id is
//! the process id), and B, its second. B sends every request; after each,
//! both sockets are read without waiting: the module answers inside B's
//! `sendmsg()`, so whatever it sent is queued by the time the call returns.

use std::process::ExitCode;

use anyhow::{Result, bail};
use ch02_addresses::module;
use ch02_addresses::ports::{
    NOBODY, PortNames, in_autobind_range, message, process_id, recv_now, set_nonblocking,
    single_message, yes_no,
};
use ch02_addresses::whoami::{Answer, MODULE, WHOAMI, WHOAMI_BY_HEADER, type_name};
use nlbook_common::uapi::{NLM_F_REQUEST, NLMSG_ERROR};
use nlbook_common::{Errno, NlMsgErr, NlMsgIter, NlSocket, exit_code};

const PROGRAM: &str = "ch02-whoami-raw";

fn main() -> ExitCode {
    if let Err(usage) = nlbook_common::no_arguments(PROGRAM) {
        return nlbook_common::exit_code(PROGRAM, Err(usage));
    }
    exit_code(PROGRAM, run())
}

/// Where one request's answer went.
enum Landed {
    /// At this socket, with this content.
    Answer { at: &'static str, answer: Answer },
    /// An `NLMSG_ERROR` at B, with this error.
    Error(Errno),
    /// Nowhere we can see.
    Nowhere,
}

fn run() -> Result<()> {
    // ANCHOR: sockets
    let a = module::open_bound(MODULE)?; // the process's first: port id = process id
    let b = module::open_bound(MODULE)?; // the second: a negative port id
    set_nonblocking(&a)?;
    set_nonblocking(&b)?;
    let (a_port, b_port, pid) = (a.portid()?, b.portid()?, process_id());
    // ANCHOR_END: sockets
    println!(
        "socket A, the process's first on protocol {}: port id == process id: {}",
        module::PROTOCOL,
        yes_no(a_port == pid)
    );
    println!(
        "socket B, its second: port id == process id: {}; a negative one: {}",
        yes_no(b_port == pid),
        yes_no(in_autobind_range(b_port))
    );
    if a_port != pid {
        bail!("socket A did not get the process id: another socket of protocol 29 holds it");
    }

    let mut names = PortNames::new();
    names.name(pid, "A (the process id)");
    names.name(b_port, "B");
    names.name(0, "0");
    names.name(NOBODY, format!("{NOBODY} (nobody)"));

    // ANCHOR: requests
    // (type, nlmsg_pid written in the header), all sent by B.
    let requests = [
        (WHOAMI, pid), // what the classic tutorial's client writes: getpid()
        (WHOAMI, NOBODY),
        (WHOAMI, 0),
        (WHOAMI_BY_HEADER, b_port), // honest
        (WHOAMI_BY_HEADER, pid),    // the tutorial's client, from a second socket
        (WHOAMI_BY_HEADER, NOBODY),
        (WHOAMI_BY_HEADER, 0),
    ];
    // ANCHOR_END: requests

    println!("every request is sent by B; the module answers NETLINK_CB(skb).portid or nlmsg_pid");
    println!(
        "{}",
        row(
            "request",
            "nlmsg_pid written",
            "module saw sender",
            "answer arrived at"
        )
    );
    for (seq, (request_type, claimed)) in (1u32..).zip(requests) {
        // ANCHOR: ask
        let request = message(request_type, NLM_F_REQUEST, seq, claimed, &[])?;
        b.send_to(&request, 0, 0)?; // to port 0: the module's kernel socket
        let landed = match (
            collect(&a, request_type, seq)?,
            collect(&b, request_type, seq)?,
        ) {
            (None, None) => Landed::Nowhere,
            (Some(Ok(answer)), None) => Landed::Answer { at: "A", answer },
            (None, Some(Ok(answer))) => Landed::Answer { at: "B", answer },
            (None, Some(Err(errno))) => Landed::Error(errno),
            _ => bail!("request {seq}: both sockets got something, or A got an error"),
        };
        // ANCHOR_END: ask
        let (saw, arrived) = match landed {
            Landed::Answer { at, answer } => {
                if answer.claimed != claimed {
                    bail!("request {seq}: the module read another nlmsg_pid than we wrote");
                }
                (names.of(answer.sender), at.to_owned())
            }
            Landed::Error(errno) => ("-".to_owned(), format!("B, as NLMSG_ERROR {errno}")),
            Landed::Nowhere => ("-".to_owned(), "nowhere".to_owned()),
        };
        println!(
            "{}",
            row(type_name(request_type), &names.of(claimed), &saw, &arrived)
        );
    }
    println!("every answer came from port 0 and named its receiver in nlmsg_pid: yes");
    Ok(())
}

/// One line of the report's table.
fn row(request: &str, written: &str, saw: &str, arrived: &str) -> String {
    format!("{request:<17} {written:<20} {saw:<22} {arrived}")
}

// ANCHOR: collect
/// What `sock` holds right now for request `seq`: nothing, an answer, or
/// an `NLMSG_ERROR`. Checks that an answer comes from the kernel (port 0)
/// and names `sock`'s port id in its `nlmsg_pid`.
fn collect(sock: &NlSocket, request_type: u16, seq: u32) -> Result<Option<Result<Answer, Errno>>> {
    let mut buf = [0u8; 1024];
    let Some(got) = recv_now(sock, &mut buf)? else {
        return Ok(None);
    };
    let (header, payload) = single_message(&buf[..got.len])?;
    if header.nlmsg_type == NLMSG_ERROR {
        let Some(msg) = NlMsgIter::new(&buf[..got.len]).next() else {
            bail!("an empty datagram");
        };
        return match NlMsgErr::parse(&msg?)?.errno() {
            Some(errno) => Ok(Some(Err(errno))),
            None => bail!("an ACK nobody asked for"),
        };
    }
    let answer = Answer::parse(&header, &payload, got.from_portid, request_type, seq)?;
    if header.nlmsg_pid != sock.portid()? {
        bail!("an answer whose nlmsg_pid is not its receiver's port id");
    }
    if recv_now(sock, &mut buf)?.is_some() {
        bail!("more than one datagram for one request");
    }
    Ok(Some(Ok(answer)))
}
// ANCHOR_END: collect
