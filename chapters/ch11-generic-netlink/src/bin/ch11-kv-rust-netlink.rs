//! `ch11-kv-rust-netlink`: the NLBOOK_KV client of `ch11-kv-neli`, written
//! with the rust-netlink crates, printing the same report line for line.
//! `genetlink` resolves the family and its "events" group by name, on a
//! current-thread tokio runtime; the requests and events are
//! `netlink-packet-generic` messages of a family type of our own
//! (`GenlFamily`), inside `netlink-packet-core`'s `NetlinkMessage`, over
//! plain `netlink-sys` sockets.
//!
//! It needs the module, so it runs in the VM lab:
//!
//! ```text
//! cargo xtask lab --chapter ch11-generic-netlink --test kv-rust-netlink
//! ```
//!
//! Without the module it stops at resolving the family (ENOENT).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use ch11_generic_netlink::ext_ack::{Refusal, attr_at};
use ch11_generic_netlink::genl_socket::{RECV_BUFFER, REPLY_TIMEOUT};
use ch11_generic_netlink::kv::{
    ATTR_KEY, ATTR_VALUE, CMD_DEL, CMD_GET, CMD_SET, Entry, FAMILY_NAME, MCGRP_EVENTS, cmd_name,
};
use ch11_generic_netlink::nlctrl::ResolveError;
use genetlink::GenetlinkError;
use netlink_packet_core::{
    DefaultNla, ErrorMessage, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP, NLM_F_DUMP_INTR,
    NLM_F_REQUEST, NetlinkMessage, NetlinkPayload, NlasIterator, parse_string, parse_u32,
};
use netlink_packet_generic::GenlMessage;
use netlink_sys::protocols::NETLINK_GENERIC;
use netlink_sys::{Socket, SocketAddr};
use nlbook_common::socket::set_recv_timeout;
use nlbook_common::uapi::{NLMSGERR_ATTR_MISS_TYPE, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS};
use nlbook_common::{Errno, NlMsgHdr, NlMsgIter, nlmsg_align};

use self::family::{Kv, KvAttr};

const PROGRAM: &str = "ch11-kv-rust-netlink";

fn main() -> ExitCode {
    nlbook_common::main_in_fresh_netns(PROGRAM, run)
}

/// The NLBOOK_KV family as netlink-packet-generic types: the payload type
/// `GenlMessage<Kv>` carries, and its attributes. (A module of its own: the
/// crate's `ErrorContext::context` and anyhow's `Context::context` would
/// clash on `Result<_, DecodeError>`.)
mod family {
    use ch11_generic_netlink::kv::{
        ATTR_GENERATION, ATTR_KEY, ATTR_VALUE, FAMILY_NAME, FAMILY_VERSION,
    };
    use netlink_packet_core::{
        DecodeError, DefaultNla, Emitable, ErrorContext, Nla, NlaBuffer, NlasIterator, Parseable,
        ParseableParametrized, parse_string, parse_u32,
    };
    use netlink_packet_generic::{GenlFamily, GenlHeader};

    // ANCHOR: family
    /// One NLBOOK_KV message after its genl header: the command, and the
    /// attributes. The crate writes and reads the headers around it.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Kv {
        /// `CMD_SET`, `CMD_GET` or `CMD_DEL`.
        pub cmd: u8,
        /// The attributes, in order.
        pub attrs: Vec<KvAttr>,
    }

    impl GenlFamily for Kv {
        /// The name the resolver asks nlctrl for. The id is not ours to
        /// fix: `family_id()` keeps its default, 0, and the id resolved at
        /// run time goes into each message (`set_resolved_family_id`).
        fn family_name() -> &'static str {
            FAMILY_NAME
        }

        fn command(&self) -> u8 {
            self.cmd
        }

        fn version(&self) -> u8 {
            FAMILY_VERSION
        }
    }

    // ANCHOR_END: family

    /// The attributes, one variant per type the module's policy knows.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum KvAttr {
        /// `KEY`: written with its NUL.
        Key(String),
        /// `VALUE`: a u32.
        Value(u32),
        /// `GENERATION`: a u32 (kernel to user only).
        Generation(u32),
        /// Any type and payload, as given: a type the family does not
        /// know, or a payload of the wrong shape (the refused requests).
        Raw(DefaultNla),
    }

    impl Nla for KvAttr {
        fn value_len(&self) -> usize {
            match self {
                KvAttr::Key(key) => key.len() + 1,
                KvAttr::Value(_) | KvAttr::Generation(_) => 4,
                KvAttr::Raw(nla) => nla.value_len(),
            }
        }

        fn kind(&self) -> u16 {
            match self {
                KvAttr::Key(_) => ATTR_KEY,
                KvAttr::Value(_) => ATTR_VALUE,
                KvAttr::Generation(_) => ATTR_GENERATION,
                KvAttr::Raw(nla) => nla.kind(),
            }
        }

        /// `buffer` is exactly `value_len()` bytes (the crate's `Emitable`
        /// for every `Nla` sizes it so).
        fn emit_value(&self, buffer: &mut [u8]) {
            match self {
                KvAttr::Key(key) => {
                    let (text, nul) = buffer.split_at_mut(key.len());
                    text.copy_from_slice(key.as_bytes());
                    nul.fill(0);
                }
                KvAttr::Value(v) | KvAttr::Generation(v) => {
                    buffer.copy_from_slice(&v.to_ne_bytes())
                }
                KvAttr::Raw(nla) => nla.emit_value(buffer),
            }
        }
    }

    impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for KvAttr {
        fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
            let payload = buf.value();
            Ok(match buf.kind() {
                ATTR_KEY => KvAttr::Key(parse_string(payload).context("invalid KEY")?),
                ATTR_VALUE => KvAttr::Value(parse_u32(payload).context("invalid VALUE")?),
                ATTR_GENERATION => {
                    KvAttr::Generation(parse_u32(payload).context("invalid GENERATION")?)
                }
                // A newer module may send more: kept, not an error.
                _ => KvAttr::Raw(DefaultNla::parse(buf)?),
            })
        }
    }

    impl Emitable for Kv {
        fn buffer_len(&self) -> usize {
            self.attrs.as_slice().buffer_len()
        }

        fn emit(&self, buffer: &mut [u8]) {
            self.attrs.as_slice().emit(buffer);
        }
    }

    impl ParseableParametrized<[u8], GenlHeader> for Kv {
        fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
            let attrs = NlasIterator::new(buf)
                .map(|nla| nla.and_then(|nla| KvAttr::parse(&nla)))
                .collect::<Result<Vec<_>, _>>()
                .context("NLBOOK_KV attributes")?;
            Ok(Kv {
                cmd: header.cmd,
                attrs,
            })
        }
    }
}

/// The library's entry, from the crate's parsed attributes.
fn entry_of(msg: &Kv) -> Result<Entry> {
    let (mut key, mut value, mut generation) = (None, None, None);
    for attr in &msg.attrs {
        match attr {
            KvAttr::Key(k) => key = Some(k.clone()),
            KvAttr::Value(v) => value = Some(*v),
            KvAttr::Generation(g) => generation = Some(*g),
            KvAttr::Raw(_) => {}
        }
    }
    match (key, value, generation) {
        (Some(key), Some(value), Some(generation)) => Ok(Entry {
            key,
            value,
            generation,
        }),
        _ => bail!(
            "{} message: an entry without KEY, VALUE and GENERATION",
            cmd_name(msg.cmd)
        ),
    }
}

fn resolve() -> Result<(u16, u32)> {
    // ANCHOR: resolve
    // genetlink is asynchronous: its connection is a future that owns the
    // socket. A current-thread runtime runs it on this thread, so the
    // socket is opened in this thread's network namespace.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a current-thread tokio runtime")?;
    let family = runtime.block_on(async {
        let (connection, handle, _unsolicited) =
            genetlink::new_connection().context("socket(AF_NETLINK, NETLINK_GENERIC)")?;
        tokio::spawn(connection);
        // CTRL_CMD_GETFAMILY for Kv::family_name(): the id and every group.
        match handle.resolve_family::<Kv>().await {
            Ok(family) => Ok(family),
            // nlctrl's NLMSG_ERROR arrives as a std::io::Error: the errno.
            Err(GenetlinkError::NetlinkError(e)) if e.raw_os_error() == Some(libc::ENOENT) => {
                Err(ResolveError::NotFound(FAMILY_NAME.to_owned()).into())
            }
            Err(e) => Err(anyhow::Error::new(e).context(format!("resolving {FAMILY_NAME}"))),
        }
    })?;
    // The groups come as a map from name to id.
    let Some(&events) = family.multicast_groups.get(MCGRP_EVENTS) else {
        return Err(ResolveError::NoGroup {
            family: FAMILY_NAME.to_owned(),
            group: MCGRP_EVENTS.to_owned(),
        }
        .into());
    };
    // ANCHOR_END: resolve
    Ok((family.id, events))
}

/// A bound socket of `NETLINK_GENERIC` with a receive timeout; requests go
/// to the kernel (port 0).
fn genl_socket() -> Result<Socket> {
    let mut sock = Socket::new(NETLINK_GENERIC).context("socket(AF_NETLINK, NETLINK_GENERIC)")?;
    sock.bind_auto().context("bind()")?;
    sock.connect(&SocketAddr::new(0, 0))
        .context("connect() to the kernel")?;
    // netlink-sys has no receive timeout of its own; the descriptor takes one.
    set_recv_timeout(&sock, REPLY_TIMEOUT)?;
    Ok(sock)
}

/// Receive one datagram into `buf`, whole. netlink-sys's `recv` copies what
/// fits in the buffer's spare room and returns `recv(2)`'s count; asked
/// with `MSG_TRUNC`, that count is the datagram's real length, so a
/// datagram that did not fit is caught here rather than parsed cut short.
fn recv_datagram(sock: &Socket, buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.clear();
    buf.reserve(RECV_BUFFER);
    let len = sock.recv(buf, libc::MSG_TRUNC)?;
    if len > buf.len() {
        return Err(std::io::Error::other(format!(
            "a {len}-byte datagram did not fit in {} bytes",
            buf.len()
        )));
    }
    Ok(())
}

/// The messages of one datagram, parsed by the crate.
/// `NetlinkMessage::deserialize` reads the message at the start of a
/// buffer; stepping to the next one is the caller's work: the book's checked
/// walk finds each message, the crate parses it.
fn messages(datagram: &[u8]) -> impl Iterator<Item = Result<NetlinkMessage<GenlMessage<Kv>>>> {
    NlMsgIter::new(datagram).map(|found| {
        let found = found.context("a malformed datagram")?;
        let end = found.offset + found.header.nlmsg_len as usize;
        let bytes = datagram
            .get(found.offset..end)
            .context("a message past the datagram")?;
        NetlinkMessage::<GenlMessage<Kv>>::deserialize(bytes)
            .context("a message the crate cannot parse")
    })
}

// ANCHOR: refusal
/// What the kernel's extended ACK says. netlink-packet-core 0.9 parses an
/// `NLMSG_ERROR` into its code and `header`, a `Vec<u8>` of everything
/// after the code: the echoed request and, after it, the extended-ACK
/// attributes, which it leaves undecoded (nor does it name the
/// `NLMSGERR_ATTR_*` types). So this is done by hand: the flags of the
/// `NLMSG_ERROR` say whether attributes follow and how much of the request
/// was echoed; the crate's own `NlasIterator` then walks them.
fn refusal(flags: u16, e: &ErrorMessage, request: &[u8]) -> Result<Refusal> {
    let (mut message, mut offset, mut missing_type) = (None, None, None);
    if flags & NLM_F_ACK_TLVS != 0 {
        // The echoed request: its header alone when the ACK is capped,
        // else the whole request (its nlmsg_len, the first 4 bytes), padded.
        let echoed = if flags & NLM_F_CAPPED != 0 {
            NlMsgHdr::LEN
        } else {
            let header = NlMsgHdr::from_bytes(&e.header)
                .context("an NLMSG_ERROR without the request's header")?;
            nlmsg_align(header.nlmsg_len as usize)
        };
        let tlvs = e
            .header
            .get(echoed..)
            .context("an NLMSG_ERROR shorter than the request it echoes")?;
        for nla in NlasIterator::new(tlvs) {
            let nla = nla.context("a malformed extended-ACK attribute")?;
            match nla.kind() {
                NLMSGERR_ATTR_MSG => {
                    message = Some(parse_string(nla.value()).context("NLMSGERR_ATTR_MSG")?);
                }
                NLMSGERR_ATTR_OFFS => {
                    offset = Some(parse_u32(nla.value()).context("NLMSGERR_ATTR_OFFS")?);
                }
                NLMSGERR_ATTR_MISS_TYPE => {
                    missing_type = Some(parse_u32(nla.value()).context("NLMSGERR_ATTR_MISS_TYPE")?);
                }
                _ => {}
            }
        }
    }
    Ok(Refusal {
        errno: Errno(e.raw_code().saturating_neg()),
        message,
        attr_at_offset: offset.and_then(|o| attr_at(request, o)),
        offset,
        missing_type,
    })
}
// ANCHOR_END: refusal

/// The family's answer to one request: its messages, or its refusal.
type Answer = std::result::Result<Vec<Entry>, Refusal>;

// ANCHOR: request
/// One request to the family, as bytes to send.
fn request_bytes(seq: u32, family: u16, cmd: u8, flags: u16, attrs: Vec<KvAttr>) -> Vec<u8> {
    // from_payload fills the genl header from GenlFamily (cmd, version);
    // the id resolved at run time becomes nlmsg_type in finalize().
    let mut genl = GenlMessage::from_payload(Kv { cmd, attrs });
    genl.set_resolved_family_id(family);
    let mut request = NetlinkMessage::from(genl);
    request.header.flags = NLM_F_REQUEST | flags;
    request.header.sequence_number = seq;
    request.finalize();
    // serialize() panics on a buffer of the wrong size: size it from the
    // message.
    let mut bytes = vec![0; request.buffer_len()];
    request.serialize(&mut bytes);
    bytes
}
// ANCHOR_END: request

// ANCHOR: send
/// Send one request to the family and collect the answer: entries until
/// the ACK (or, for a dump, `NLMSG_DONE`), or the refusal.
fn call(
    sock: &Socket,
    seq: u32,
    family: u16,
    cmd: u8,
    flags: u16,
    attrs: Vec<KvAttr>,
) -> Result<Answer> {
    // Kept: an extended ACK's offset points into these bytes.
    let bytes = request_bytes(seq, family, cmd, flags, attrs);
    sock.send(&bytes, 0)
        .with_context(|| format!("sending {}", cmd_name(cmd)))?;

    // Pairing the answers with the request, and knowing when it is
    // complete, is the caller's work.
    let mut got = Vec::new();
    let mut datagram = Vec::new();
    loop {
        recv_datagram(sock, &mut datagram)
            .with_context(|| format!("waiting for the answer to {}", cmd_name(cmd)))?;
        for msg in messages(&datagram) {
            let msg = msg.with_context(|| format!("an answer to {}", cmd_name(cmd)))?;
            let header = msg.header;
            ensure!(
                header.sequence_number == seq,
                "an answer with seq {} to request {seq}",
                header.sequence_number
            );
            // The crate leaves header flags to the caller: a dump the
            // store changed under is marked here, and nowhere else.
            ensure!(
                header.flags & NLM_F_DUMP_INTR == 0,
                "the dump was interrupted by a change (NLM_F_DUMP_INTR): dump again"
            );
            match msg.payload {
                NetlinkPayload::InnerMessage(reply) => got.push(entry_of(&reply.payload)?),
                // An ACK is an NLMSG_ERROR without an error code.
                NetlinkPayload::Error(e) if e.code.is_none() => return Ok(Ok(got)),
                NetlinkPayload::Error(e) => return Ok(Err(refusal(header.flags, &e, &bytes)?)),
                NetlinkPayload::Done(done) => {
                    ensure!(
                        done.code == 0,
                        "the dump ended with {}",
                        Errno(done.code.saturating_neg())
                    );
                    return Ok(Ok(got));
                }
                other => bail!(
                    "unexpected message type {} in the answer to {}",
                    other.message_type(),
                    cmd_name(cmd)
                ),
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

fn run() -> Result<()> {
    let (family, events) = resolve().map_err(ch11_generic_netlink::without_module)?;
    println!(
        "resolved through nlctrl: family {FAMILY_NAME} = {family:#x}, group {MCGRP_EVENTS} = {events}"
    );

    // ANCHOR: listen
    let listener = genl_socket()?;
    listener
        .add_membership(events)
        .context("NETLINK_ADD_MEMBERSHIP")?;
    // ANCHOR_END: listen
    println!("a second socket joined {MCGRP_EVENTS}");

    // ANCHOR: requester
    let requester = genl_socket()?;
    requester
        .set_ext_ack(true)
        .context("setsockopt(NETLINK_EXT_ACK)")?;
    // ANCHOR_END: requester
    let seqs = std::cell::Cell::new(0u32);
    let call = |cmd: u8, flags: u16, attrs: Vec<KvAttr>| {
        seqs.set(seqs.get() + 1);
        call(&requester, seqs.get(), family, cmd, flags, attrs)
    };
    let key = |k: &str| KvAttr::Key(k.to_owned());

    println!("requests (NLM_F_ACK):");
    let set = |k: &str, value: u32| call(CMD_SET, NLM_F_ACK, vec![key(k), KvAttr::Value(value)]);
    show("SET colour=7", &set("colour", 7)?);
    show("SET size=42", &set("size", 42)?);
    show("SET colour=9", &set("colour", 9)?);
    show(
        "GET colour",
        &call(CMD_GET, NLM_F_ACK, vec![key("colour")])?,
    );
    show("GET, NLM_F_DUMP", &call(CMD_GET, NLM_F_DUMP, vec![])?);
    show("DEL size", &call(CMD_DEL, NLM_F_ACK, vec![key("size")])?);

    // ANCHOR: events
    println!("events received by the second socket:");
    let mut datagram = Vec::new();
    for _ in 0..4 {
        recv_datagram(&listener, &mut datagram).context("waiting for an event")?;
        for msg in messages(&datagram) {
            let msg = msg.context("an event")?;
            let NetlinkPayload::InnerMessage(event) = msg.payload else {
                bail!("an event that is not an NLBOOK_KV message");
            };
            println!(
                "  {} {}",
                cmd_name(event.header.cmd),
                entry_of(&event.payload)?
            );
        }
    }
    // ANCHOR_END: events

    // ANCHOR: bad
    println!("refused requests and their extended ACKs:");
    // Payloads of the wrong shape are DefaultNla: a type and bytes, as given.
    let raw = |kind: u16, payload: &[u8]| KvAttr::Raw(DefaultNla::new(kind, payload.to_vec()));
    let bad: [(&str, u8, Vec<KvAttr>); 8] = [
        (
            "SET, VALUE as a u16",
            CMD_SET,
            vec![key("colour"), raw(ATTR_VALUE, &7u16.to_ne_bytes())],
        ),
        (
            "SET, KEY without its NUL",
            CMD_SET,
            vec![raw(ATTR_KEY, b"colour"), KvAttr::Value(7)],
        ),
        (
            "SET, KEY of 40 bytes",
            CMD_SET,
            vec![key(&"k".repeat(40)), KvAttr::Value(7)],
        ),
        (
            "SET, attribute type 9",
            CMD_SET,
            vec![key("colour"), raw(9, &7u32.to_ne_bytes())],
        ),
        (
            "SET, GENERATION from user space",
            CMD_SET,
            vec![key("colour"), KvAttr::Value(7), KvAttr::Generation(1)],
        ),
        ("SET without VALUE", CMD_SET, vec![key("colour")]),
        ("GET, empty KEY", CMD_GET, vec![key("")]),
        ("GET nosuchkey", CMD_GET, vec![key("nosuchkey")]),
    ];
    for (what, cmd, attrs) in bad {
        show(what, &call(cmd, NLM_F_ACK, attrs)?);
    }
    // ANCHOR_END: bad

    // Refused requests change nothing, so they announce nothing.
    set_recv_timeout(&listener, Duration::from_millis(200))?;
    match recv_datagram(&listener, &mut datagram) {
        Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
            println!("no events for the refused requests");
        }
        Err(e) => return Err(anyhow::Error::new(e).context("listening for events")),
        Ok(()) => bail!("an event after a refused request"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ch11_generic_netlink::kv::FAMILY_VERSION;
    use nlbook_common::MsgBuilder;
    use nlbook_common::genl::request;
    use nlbook_common::uapi::NLMSG_ERROR;

    /// The crate's request is the raw client's, byte for byte, malformed
    /// attributes included: the offsets of the extended ACKs agree.
    #[test]
    fn requests_are_the_raw_clients_bytes() {
        let ours = request_bytes(
            3,
            0x20,
            CMD_SET,
            NLM_F_ACK,
            vec![
                KvAttr::Key("colour".into()),
                KvAttr::Raw(DefaultNla::new(ATTR_VALUE, 7u16.to_ne_bytes().to_vec())),
            ],
        );
        let raw = request(0x20, NLM_F_REQUEST | NLM_F_ACK, 3, CMD_SET, FAMILY_VERSION)
            .attr_str(ATTR_KEY, "colour")
            .attr(ATTR_VALUE, &7u16.to_ne_bytes())
            .finish()
            .unwrap();
        assert_eq!(ours, raw);
    }

    fn nlmsg_error(
        flags: u16,
        echoed: &[u8],
        tlvs: impl FnOnce(MsgBuilder) -> MsgBuilder,
    ) -> Vec<u8> {
        let msg = MsgBuilder::new(NLMSG_ERROR, flags, 3)
            .fixed(&(-libc::EINVAL).to_ne_bytes())
            .fixed(echoed);
        tlvs(msg).finish().unwrap()
    }

    fn refusal_in(datagram: &[u8], request: &[u8]) -> String {
        let msg = messages(datagram).next().unwrap().unwrap();
        let NetlinkPayload::Error(e) = &msg.payload else {
            panic!("not an NLMSG_ERROR: {msg:?}");
        };
        refusal(msg.header.flags, e, request).unwrap().to_string()
    }

    #[test]
    fn an_extended_ack_is_decoded_behind_the_echoed_request() {
        let request = request_bytes(
            3,
            0x20,
            CMD_SET,
            NLM_F_ACK,
            vec![
                KvAttr::Key("colour".into()),
                KvAttr::Raw(DefaultNla::new(ATTR_VALUE, vec![7, 0])),
            ],
        );
        let tlvs = |b: MsgBuilder| {
            b.attr_str(NLMSGERR_ATTR_MSG, "invalid attribute length")
                .attr(NLMSGERR_ATTR_OFFS, &32u32.to_ne_bytes())
        };
        let expected =
            "EINVAL (22) \"invalid attribute length\", attribute at offset 32 (VALUE = 2)";
        // The whole request echoed, then the attributes.
        let whole = nlmsg_error(NLM_F_ACK_TLVS, &request, tlvs);
        assert_eq!(refusal_in(&whole, &request), expected);
        // NETLINK_CAP_ACK: only the request's header echoed.
        let capped = nlmsg_error(NLM_F_ACK_TLVS | NLM_F_CAPPED, &request[..16], tlvs);
        assert_eq!(refusal_in(&capped, &request), expected);
        // No extended ACK: the errno alone.
        let bare = nlmsg_error(0, &request, |b| b);
        assert_eq!(refusal_in(&bare, &request), "EINVAL (22) (no message)");
    }

    #[test]
    fn a_short_nlmsg_error_is_an_error_not_a_panic() {
        let request = request_bytes(3, 0x20, CMD_GET, NLM_F_ACK, vec![KvAttr::Key("k".into())]);
        // Claims the whole request was echoed, but only its header is there.
        let short = nlmsg_error(NLM_F_ACK_TLVS, &request[..16], |b| b);
        let msg = messages(&short).next().unwrap().unwrap();
        let NetlinkPayload::Error(e) = &msg.payload else {
            panic!("not an NLMSG_ERROR: {msg:?}");
        };
        assert!(refusal(msg.header.flags, e, &request).is_err());
    }
}
