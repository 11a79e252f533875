//! `ch02-registered-raw`: register a socket with the `registered_port`
//! module (or its fixed twin `registered_release`), have the module send
//! to it, close it, and see what the module does with a port id whose
//! socket is gone, and with one that a new socket has been given since.
//!
//! It needs one of the modules, so it runs in the VM lab:
//!
//! ```text
//! cargo xtask lab --chapter ch02-addresses --test registered
//! ```
//!
//! Every socket is read without waiting: the module runs inside the
//! sender's `sendmsg()`, so its acknowledgement and its event are queued
//! by the time the call returns.

use std::cell::Cell;
use std::process::ExitCode;

use anyhow::{Result, bail};
use ch02_addresses::module;
use ch02_addresses::ports::{
    message, payload_text, process_id, recv_now, set_nonblocking, single_message, text_payload,
    yes_no,
};
use ch02_addresses::registry::{EVENT, MODULES, NOTIFY, REGISTER};
use nlbook_common::uapi::{NETLINK_EXT_ACK, NLM_F_ACK, NLM_F_REQUEST, NLMSG_ERROR, SOL_NETLINK};
use nlbook_common::{NlMsgErr, NlMsgIter, NlSocket, exit_code};

const PROGRAM: &str = "ch02-registered-raw";

fn main() -> ExitCode {
    if let Err(usage) = nlbook_common::no_arguments(PROGRAM) {
        return nlbook_common::exit_code(PROGRAM, Err(usage));
    }
    exit_code(PROGRAM, run())
}

/// A socket of protocol 29 with a kernel-chosen port id, read without
/// waiting, asking for the kernel's error messages (extended ACK).
fn open() -> Result<NlSocket> {
    let sock = module::open_bound(MODULES)?;
    set_nonblocking(&sock)?;
    sock.set_option(SOL_NETLINK, NETLINK_EXT_ACK, 1)?;
    Ok(sock)
}

// ANCHOR: request
/// Send one request with `NLM_F_ACK` to the module (port 0) and return its
/// acknowledgement as a line: `ACK`, or the error and the module's message.
fn request(sock: &NlSocket, nlmsg_type: u16, seq: u32, payload: &[u8]) -> Result<String> {
    let msg = message(nlmsg_type, NLM_F_REQUEST | NLM_F_ACK, seq, 0, payload)?;
    sock.send_to(&msg, 0, 0)?;
    let mut buf = [0u8; 1024];
    let Some(got) = recv_now(sock, &mut buf)? else {
        bail!("no acknowledgement for request {seq}");
    };
    let Some(reply) = NlMsgIter::new(&buf[..got.len]).next() else {
        bail!("an empty datagram");
    };
    let reply = reply?;
    if got.from_portid != 0 || reply.header.nlmsg_type != NLMSG_ERROR {
        bail!("request {seq}: expected an acknowledgement from the kernel");
    }
    let ack = NlMsgErr::parse(&reply)?;
    if ack.request.nlmsg_seq != seq {
        bail!(
            "request {seq}: the acknowledgement is for seq {}",
            ack.request.nlmsg_seq
        );
    }
    Ok(match (ack.errno(), ack.message) {
        (None, _) => "ACK".to_owned(),
        (Some(errno), Some(text)) => format!("{errno} {text:?}"),
        (Some(errno), None) => errno.to_string(),
    })
}
// ANCHOR_END: request

// ANCHOR: event
/// What `sock` holds right now: an EVENT's text, checked to come from the
/// kernel (port 0) and to name `sock` in `nlmsg_pid`; or `None`.
fn event(sock: &NlSocket) -> Result<Option<String>> {
    let mut buf = [0u8; 1024];
    let Some(got) = recv_now(sock, &mut buf)? else {
        return Ok(None);
    };
    let (header, payload) = single_message(&buf[..got.len])?;
    if header.nlmsg_type != EVENT || got.from_portid != 0 {
        bail!("expected an EVENT from the kernel");
    }
    if header.nlmsg_pid != sock.portid()? {
        bail!("an EVENT whose nlmsg_pid does not name its receiver");
    }
    Ok(Some(payload_text(&payload)))
}
// ANCHOR_END: event

fn shown(event: Option<String>) -> String {
    event.map_or_else(|| "nothing".to_owned(), |text| format!("EVENT {text:?}"))
}

fn run() -> Result<()> {
    let pid = process_id();
    let seq = Cell::new(0u32);
    let next_seq = || {
        seq.set(seq.get() + 1);
        seq.get()
    };
    let register = |name: &str, sock: &NlSocket| -> Result<()> {
        let ack = request(sock, REGISTER, next_seq(), &[])?;
        println!("{name}: REGISTER -> {ack}");
        Ok(())
    };

    // ANCHOR: register
    let l1 = open()?;
    let n = open()?;
    let notify = |text: &str| -> Result<()> {
        let ack = request(&n, NOTIFY, next_seq(), &text_payload(text))?;
        println!("N: NOTIFY {text:?} -> {ack}");
        Ok(())
    };
    println!(
        "L1, the process's first socket on protocol {}: port id == process id: {}",
        module::PROTOCOL,
        yes_no(l1.portid()? == pid)
    );
    println!("N, its second socket, sends every NOTIFY");
    register("L1", &l1)?;
    notify("first event")?;
    println!("   L1 got: {}", shown(event(&l1)?));
    // ANCHOR_END: register

    // ANCHOR: closed
    drop(l1);
    println!("L1 closed");
    notify("second event")?;
    notify("third event")?;
    // ANCHOR_END: closed

    // ANCHOR: reused
    let l2 = open()?;
    println!(
        "L2, a new socket: port id == process id, which was L1's: {}",
        yes_no(l2.portid()? == pid)
    );
    register("L2", &l2)?;
    drop(l2);
    println!("L2 closed");
    let l3 = open()?;
    println!(
        "L3, a new socket that never registers: port id == process id, which was L2's: {}",
        yes_no(l3.portid()? == pid)
    );
    notify("fourth event")?;
    println!("   L3 got: {}", shown(event(&l3)?));
    // ANCHOR_END: reused

    if let Some(stray) = event(&n)? {
        bail!("N, which never registered, got an EVENT {stray:?}");
    }
    Ok(())
}
