//! `ch11-kv-neli`: a neli client of the NLBOOK_KV family, in a fresh
//! network namespace. It resolves the family and its "events" group by
//! name, joins the group on a second socket, sets, reads, dumps and
//! deletes entries, prints the events they caused, and then sends
//! requests the family refuses, printing each extended ACK.
//!
//! It needs the module, so it runs in the VM lab:
//!
//! ```text
//! cargo xtask lab --chapter ch11-generic-netlink --test kv-neli
//! ```
//!
//! Without the module it stops at resolving the family (ENOENT).

use std::io::Cursor;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use ch11_generic_netlink::ext_ack::{Refusal, attr_at};
use ch11_generic_netlink::genl_socket::REPLY_TIMEOUT;
use ch11_generic_netlink::kv::{
    ATTR_GENERATION, ATTR_KEY, ATTR_VALUE, CMD_DEL, CMD_GET, CMD_SET, Entry, FAMILY_NAME,
    FAMILY_VERSION, MCGRP_EVENTS, cmd_name,
};
use ch11_generic_netlink::nlctrl::ResolveError;
use neli::consts::nl::{NlmF, NlmsgerrAttr};
use neli::consts::socket::NlFamily;
use neli::err::{Nlmsgerr, NlmsghdrErr, RouterError, SocketError};
use neli::genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, Nlattr, NlattrBuilder};
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::router::synchronous::NlRouter;
use neli::socket::synchronous::NlSocketHandle;
use neli::types::{Buffer, GenlBuffer};
use neli::utils::Groups;
use neli::{Size, ToBytes};
use nlbook_common::Errno;
use nlbook_common::socket::set_recv_timeout;

const PROGRAM: &str = "ch11-kv-neli";

/// NLBOOK_KV messages: a u8 command, u16 attribute types, no family header.
type KvMsg = Genlmsghdr<u8, u16>;

/// One attribute, as neli holds it once built.
type Attr = Nlattr<u16, Buffer>;

fn main() -> ExitCode {
    nlbook_common::main_in_fresh_netns(PROGRAM, run)
}

/// One attribute with any payload neli can write: `&str` (with its NUL),
/// `u32`, `u16`, `&[u8]`.
fn attr<P: Size + ToBytes>(kind: u16, payload: P) -> Result<Attr> {
    Ok(NlattrBuilder::default()
        .nla_type(AttrTypeBuilder::default().nla_type(kind).build()?)
        .nla_payload(payload)
        .build()?)
}

/// The entries of an answer (replies or dump messages).
fn entries(msg: &KvMsg) -> Result<Entry> {
    Entry::from_attrs(
        msg.attrs()
            .iter()
            .map(|a| (*a.nla_type().nla_type(), a.nla_payload().as_ref())),
    )
    .map_err(|why| anyhow!("{} message: {why}", cmd_name(*msg.cmd())))
}

// ANCHOR: refusal
/// What the kernel's extended ACK says, read from neli's error.
fn refusal(e: &Nlmsgerr<NlmsghdrErr<u16, KvMsg>>, request: &[u8]) -> Refusal {
    let (mut message, mut offset, mut missing_type) = (None, None, None);
    for a in e.ext_ack().iter() {
        let payload = a.nla_payload().as_ref();
        let as_u32 = || payload.try_into().ok().map(u32::from_ne_bytes);
        match *a.nla_type().nla_type() {
            NlmsgerrAttr::Msg => {
                message = nlbook_common::rtattr::cstr(payload).map(str::to_owned);
            }
            NlmsgerrAttr::Offset => offset = as_u32(),
            // NLMSGERR_ATTR_MISS_TYPE (5, Linux 6.0) has no name in neli.
            other if u16::from(other) == 5 => missing_type = as_u32(),
            _ => {}
        }
    }
    Refusal {
        errno: Errno(e.error().saturating_neg()),
        message,
        attr_at_offset: offset.and_then(|o| attr_at(request, o)),
        offset,
        missing_type,
    }
}
// ANCHOR_END: refusal

/// The family's answer to one request: its messages, or its refusal.
type Answer = std::result::Result<Vec<Entry>, Refusal>;

// ANCHOR: send
/// Send one request to the family and collect the answer: entries until
/// the ACK (or, for a dump, `NLMSG_DONE`), or the refusal.
///
/// This uses neli's plain socket, not `NlRouter`: the router converts every
/// answer to the caller's types and, in neli 0.7.5, drops the extended-ACK
/// attributes on the way (`Nlmsgerr::to_typed` in `err.rs` rebuilds the
/// error without them). `NlSocketHandle::recv` keeps them.
fn call(
    sock: &NlSocketHandle,
    seq: u32,
    family: u16,
    cmd: u8,
    flags: NlmF,
    attrs: Vec<Attr>,
) -> Result<Answer> {
    let msg: KvMsg = GenlmsghdrBuilder::default()
        .cmd(cmd)
        .version(FAMILY_VERSION)
        .attrs(attrs.into_iter().collect::<GenlBuffer<_, _>>())
        .build()?;
    let request = NlmsghdrBuilder::default()
        .nl_type(family)
        .nl_flags(flags | NlmF::REQUEST)
        .nl_seq(seq)
        .nl_pid(sock.pid())
        .nl_payload(NlPayload::Payload(msg))
        .build()?;
    // The request's bytes, to name the attribute an extended ACK points at.
    let mut bytes = Cursor::new(Vec::new());
    request.to_bytes(&mut bytes)?;
    let bytes = bytes.into_inner();
    sock.send(&request)
        .map_err(|e| anyhow!("sending {}: {e}", cmd_name(cmd)))?;

    let mut got = Vec::new();
    loop {
        let (answers, _groups) = sock
            .recv::<u16, KvMsg>()
            .map_err(|e| anyhow!("waiting for the answer to {}: {e}", cmd_name(cmd)))?;
        for answer in answers {
            let answer = answer.map_err(|e| anyhow!("an answer to {}: {e}", cmd_name(cmd)))?;
            if *answer.nl_seq() != seq {
                bail!("an answer with seq {} to request {seq}", answer.nl_seq());
            }
            match answer.nl_payload() {
                NlPayload::Payload(p) => got.push(entries(p)?),
                NlPayload::Err(e) => return Ok(Err(refusal(e, &bytes))),
                // The ACK ends a request, NLMSG_DONE a dump.
                NlPayload::Ack(_) | NlPayload::DumpExtAck(_) | NlPayload::Empty => {
                    return Ok(Ok(got));
                }
            }
        }
    }
}
// ANCHOR_END: send

/// Print a request's line: what was asked, and the answer.
fn show(what: &str, answer: &Answer) {
    match answer {
        Ok(entries) if entries.is_empty() => println!("  {what:<34} -> ACK"),
        Ok(entries) => {
            let list: Vec<String> = entries.iter().map(Entry::to_string).collect();
            println!("  {what:<34} -> {}", list.join(", "));
        }
        Err(r) => println!("  {what:<34} -> {r}"),
    }
}

fn resolve(router: &NlRouter) -> Result<(u16, u32)> {
    // ANCHOR: resolve
    let family = match router.resolve_genl_family(FAMILY_NAME) {
        Ok(id) => id,
        Err(RouterError::Nlmsgerr(e)) if *e.error() == -libc::ENOENT => {
            return Err(ResolveError::NotFound(FAMILY_NAME.to_owned()).into());
        }
        Err(e) => bail!("resolving {FAMILY_NAME}: {e}"),
    };
    let events = router
        .resolve_nl_mcast_group(FAMILY_NAME, MCGRP_EVENTS)
        .map_err(|e| anyhow!("resolving group {MCGRP_EVENTS} of {FAMILY_NAME}: {e}"))?;
    // ANCHOR_END: resolve
    Ok((family, events))
}

fn run() -> Result<()> {
    let (router, _multicast) = NlRouter::connect(NlFamily::Generic, None, Groups::empty())
        .context("socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC)")?;
    router.enable_ext_ack(true)?;
    let (family, events) = resolve(&router).map_err(ch11_generic_netlink::without_module)?;
    drop(router);
    println!(
        "resolved through nlctrl: family {FAMILY_NAME} = {family:#x}, group {MCGRP_EVENTS} = {events}"
    );

    // ANCHOR: listen
    let listener = NlSocketHandle::connect(NlFamily::Generic, None, Groups::empty())?;
    listener
        .add_mcast_membership(Groups::new_groups(&[events]))
        .context("NETLINK_ADD_MEMBERSHIP")?;
    set_recv_timeout(&listener, REPLY_TIMEOUT)?;
    // ANCHOR_END: listen
    println!("a second socket joined {MCGRP_EVENTS}");

    // ANCHOR: requester
    let requester = NlSocketHandle::connect(NlFamily::Generic, None, Groups::empty())?;
    requester.enable_ext_ack(true)?;
    set_recv_timeout(&requester, REPLY_TIMEOUT)?;
    // ANCHOR_END: requester
    let seqs = std::cell::Cell::new(0u32);
    let call = |cmd: u8, flags: NlmF, attrs: Vec<Attr>| {
        seqs.set(seqs.get() + 1);
        call(&requester, seqs.get(), family, cmd, flags, attrs)
    };

    println!("requests (NLM_F_ACK):");
    let set = |key: &str, value: u32| -> Result<Answer> {
        call(
            CMD_SET,
            NlmF::ACK,
            vec![attr(ATTR_KEY, key)?, attr(ATTR_VALUE, value)?],
        )
    };
    show("SET colour=7", &set("colour", 7)?);
    show("SET size=42", &set("size", 42)?);
    show("SET colour=9", &set("colour", 9)?);
    let get = call(CMD_GET, NlmF::ACK, vec![attr(ATTR_KEY, "colour")?])?;
    show("GET colour", &get);
    let dump = call(CMD_GET, NlmF::DUMP, vec![])?;
    show("GET, NLM_F_DUMP", &dump);
    let del = call(CMD_DEL, NlmF::ACK, vec![attr(ATTR_KEY, "size")?])?;
    show("DEL size", &del);

    // ANCHOR: events
    println!("events received by the second socket:");
    for _ in 0..4 {
        let (mut msgs, _groups) = listener
            .recv::<u16, KvMsg>()
            .map_err(|e| anyhow!("waiting for an event: {e}"))?;
        for msg in msgs.by_ref() {
            let msg = msg.map_err(|e| anyhow!("an event: {e}"))?;
            let Some(event) = msg.get_payload() else {
                bail!("an event without payload");
            };
            println!("  {} {}", cmd_name(*event.cmd()), entries(event)?);
        }
    }
    // ANCHOR_END: events

    // ANCHOR: bad
    println!("refused requests and their extended ACKs:");
    let bad: [(&str, u8, Vec<Attr>); 8] = [
        (
            "SET, VALUE as a u16",
            CMD_SET,
            vec![attr(ATTR_KEY, "colour")?, attr(ATTR_VALUE, 7u16)?],
        ),
        (
            "SET, KEY without its NUL",
            CMD_SET,
            vec![attr(ATTR_KEY, &b"colour"[..])?, attr(ATTR_VALUE, 7u32)?],
        ),
        (
            "SET, KEY of 40 bytes",
            CMD_SET,
            vec![
                attr(ATTR_KEY, "k".repeat(40).as_str())?,
                attr(ATTR_VALUE, 7u32)?,
            ],
        ),
        (
            "SET, attribute type 9",
            CMD_SET,
            vec![attr(ATTR_KEY, "colour")?, attr(9, 7u32)?],
        ),
        (
            "SET, GENERATION from user space",
            CMD_SET,
            vec![
                attr(ATTR_KEY, "colour")?,
                attr(ATTR_VALUE, 7u32)?,
                attr(ATTR_GENERATION, 1u32)?,
            ],
        ),
        (
            "SET without VALUE",
            CMD_SET,
            vec![attr(ATTR_KEY, "colour")?],
        ),
        ("GET, empty KEY", CMD_GET, vec![attr(ATTR_KEY, "")?]),
        ("GET nosuchkey", CMD_GET, vec![attr(ATTR_KEY, "nosuchkey")?]),
    ];
    for (what, cmd, attrs) in bad {
        show(what, &call(cmd, NlmF::ACK, attrs)?);
    }
    // ANCHOR_END: bad

    // Refused requests change nothing, so they announce nothing.
    set_recv_timeout(&listener, Duration::from_millis(200))?;
    match listener.recv::<u16, KvMsg>() {
        Err(SocketError::Io(e)) if e.raw_os_error() == Some(libc::EAGAIN) => {
            println!("no events for the refused requests");
        }
        Err(e) => bail!("listening for events: {e}"),
        Ok(_) => bail!("an event after a refused request"),
    }
    Ok(())
}
