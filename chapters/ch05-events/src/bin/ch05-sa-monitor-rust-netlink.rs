//! `ch05-sa-monitor-rust-netlink`: `ch05-sa-monitor` written with the
//! rust-netlink crates: `netlink-sys`'s socket, `netlink-packet-xfrm`'s
//! typed XFRM messages, `netlink-packet-core`'s header and `NLMSG_ERROR`.
//! It prints the same report, line for line (`--hex`: the events' bytes
//! too): the crate's parsed events are converted into the chapter's
//! `SaEvent`, which the chapter's `render_with` prints.
//!
//! Where the crates stop, the program works on bytes itself, and says so
//! in a comment starting "By hand".

use std::io;
use std::net::IpAddr;
use std::ops::Range;
use std::process::ExitCode;

use ch05_events::monitor::{
    self, ACK_TIMEOUT, AUTH, CRYPT, DELSA_SEQ, DRAIN_TIMEOUT, Datagram, Decoded, MonitorError,
    NEWSA_SEQ, REQUESTER_PORTID, Report,
};
use ch05_events::xfrm::{Algorithm, SaAttr, SaEvent, SaId, SaInfo, family_name, xfrma_name};
use netlink_packet_core::{
    Emitable, ErrorMessage, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_REQUEST, NLMSG_ALIGNTO,
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, Nla, NlasIterator,
};
use netlink_packet_xfrm::state::{DelGetMessage, ModifyMessage};
use netlink_packet_xfrm::{
    AF_INET, AF_INET6, Address, Alg, AlgAuth, UserSaId, UserSaInfo, XFRM_ALG_NAME_LEN,
    XFRM_MSG_DELSA, XFRM_MSG_NEWSA, XFRM_USER_SA_ID_LEN, XFRM_USER_SA_INFO_LEN, XFRMA_ALG_AEAD,
    XFRMA_ALG_AUTH, XFRMA_ALG_AUTH_TRUNC, XFRMA_ALG_CRYPT, XFRMNLGRP_SA, XfrmAttrs, XfrmMessage,
};
use netlink_sys::protocols::NETLINK_XFRM;
use netlink_sys::{Socket, SocketAddr};
use nlbook_common::anyhow::{self, Context, Result, bail, ensure};
use nlbook_common::membership::{MembershipError, group_mask};
use nlbook_common::rtattr::cstr;
use nlbook_common::socket::set_recv_timeout;
use nlbook_common::{
    Errno, NLMSG_HDRLEN, NlMsgHdr, SysError, UsageError, exit_code, in_fresh_netns,
};

const PROGRAM: &str = "ch05-sa-monitor-rust-netlink";

/// Room for one datagram, as the raw program has.
const DATAGRAM_ROOM: usize = 16384;

/// `NLMSGERR_ATTR_MSG` of `enum nlmsgerr_attrs` (`<linux/netlink.h>`): the
/// extended ACK's text. By hand: netlink-packet-core has no name for it.
const NLMSGERR_ATTR_MSG: u16 = 1;

fn main() -> ExitCode {
    let mut hex = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--hex" => hex = true,
            other => {
                let usage = UsageError::new(
                    format!("unknown argument {other:?}"),
                    &format!("usage: {PROGRAM} [--hex]"),
                );
                return exit_code(PROGRAM, Err(usage));
            }
        }
    }
    let result = in_fresh_netns(run)
        .map_err(|e| anyhow::Error::new(MonitorError::Netns(e)))
        .and_then(|report| report)
        .and_then(|report| monitor::render_with(&report, hex, decode_datagram))
        .map(|text| print!("{text}"));
    exit_code(PROGRAM, result)
}

/// netlink-sys returns a bare `io::Error`; the chapter's errors name the
/// call that failed, so the messages read as the raw program's do.
fn sys(call: impl Into<String>) -> impl FnOnce(io::Error) -> MonitorError {
    move |e| MonitorError::Sys(sys_error(call, &e))
}

fn sys_error(call: impl Into<String>, e: &io::Error) -> SysError {
    SysError {
        call: call.into(),
        errno: Errno(e.raw_os_error().unwrap_or_default()),
    }
}

// ANCHOR: sockets
/// `socket(AF_NETLINK, SOCK_DGRAM, NETLINK_XFRM)`: netlink-sys opens
/// `SOCK_DGRAM`, which netlink treats as `SOCK_RAW`.
fn open() -> Result<Socket, MonitorError> {
    Socket::new(NETLINK_XFRM).map_err(|e| {
        let sys = sys_error(
            format!("socket(AF_NETLINK, SOCK_DGRAM, {NETLINK_XFRM})"),
            &e,
        );
        if sys.errno == Errno(libc::EPROTONOSUPPORT) {
            MonitorError::NoXfrmUser(sys)
        } else {
            MonitorError::Sys(sys)
        }
    })
}

/// B, S and C, as the raw program makes them.
fn sockets() -> Result<(Socket, Socket, Socket), MonitorError> {
    // B: the group's bit in bind()'s nl_groups; SocketAddr is the
    // sockaddr_nl, port id and group bitmask.
    let mut bound = open()?;
    let mask = group_mask(XFRMNLGRP_SA).unwrap_or_default();
    bound
        .bind(&SocketAddr::new(0, mask))
        .map_err(sys(format!("bind(AF_NETLINK, portid 0, groups {mask:#x})")))?;
    // S: the group's number, with NETLINK_ADD_MEMBERSHIP.
    let mut joined = open()?;
    joined
        .bind(&SocketAddr::new(0, 0))
        .map_err(sys("bind(AF_NETLINK, portid 0, groups 0x0)"))?;
    joined.add_membership(XFRMNLGRP_SA).map_err(|e| {
        let call = format!("setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, {XFRMNLGRP_SA})");
        MonitorError::Join(MembershipError::classify(sys_error(call, &e), XFRMNLGRP_SA))
    })?;
    // C: the requests; a fixed port id, in no group.
    let mut requester = open()?;
    requester
        .bind(&SocketAddr::new(REQUESTER_PORTID, 0))
        .map_err(sys(format!(
            "bind(AF_NETLINK, portid {REQUESTER_PORTID}, groups 0x0)"
        )))?;
    // NETLINK_EXT_ACK: the kernel's reason in errors, where it has one
    // (kernels before 4.12 refuse the option, and say nothing more).
    let _ = requester.set_ext_ack(true);
    // By hand: netlink-sys has no SO_RCVTIMEO; the chapter library sets it
    // on the socket's descriptor.
    set_recv_timeout(&requester, ACK_TIMEOUT)?;
    Ok((bound, joined, requester))
}
// ANCHOR_END: sockets

/// Subscribe two ways, add the SA, delete it, drain: the raw program's
/// `run`.
fn run() -> Result<Report> {
    let (bound, joined, requester) = sockets()?;
    let newsa = request(newsa(), NEWSA_SEQ);
    request_ack(&requester, &newsa, NEWSA_SEQ, "XFRM_MSG_NEWSA")?;
    let delsa = request(delsa(), DELSA_SEQ);
    request_ack(&requester, &delsa, DELSA_SEQ, "XFRM_MSG_DELSA")?;
    Ok(Report {
        bound: drain(&bound)?,
        joined: drain(&joined)?,
        requester: drain(&requester)?,
    })
}

// ANCHOR: request
/// `XFRM_MSG_NEWSA` for the chapter's SA: `UserSaInfo` is
/// `struct xfrm_usersa_info` as named fields, and the algorithms are typed
/// attributes.
fn newsa() -> XfrmMessage {
    let sa = monitor::the_sa();
    // Default: an empty selector (family AF_UNSPEC, which the kernel fills
    // in) and lifetimes without limits (XFRM_INF) or expiry (0).
    let mut info = UserSaInfo::default();
    info.source(&sa.src); // saddr, and family from the address
    info.destination(&sa.dst); // id.daddr
    info.id.spi = sa.spi; // a number: the crate writes it big-endian
    info.id.proto = sa.proto;
    info.reqid = sa.reqid;
    info.mode = sa.mode;
    info.replay_window = sa.replay_window;
    let crypt = Alg {
        alg_name: alg_name(CRYPT.0),
        alg_key_len: key_bits(&CRYPT.1),
        alg_key: CRYPT.1.to_vec(),
    };
    let auth = AlgAuth {
        alg_name: alg_name(AUTH.0),
        alg_key_len: key_bits(&AUTH.1),
        alg_trunc_len: AUTH.2,
        alg_key: AUTH.1.to_vec(),
    };
    XfrmMessage::AddSa(ModifyMessage {
        user_sa_info: info,
        nlas: vec![
            XfrmAttrs::EncryptionAlg(crypt),
            XfrmAttrs::AuthenticationAlgTrunc(auth),
        ],
    })
}

/// `XFRM_MSG_DELSA`: `struct xfrm_usersa_id`, the SA's destination, SPI
/// and protocol.
fn delsa() -> XfrmMessage {
    let sa = monitor::the_sa();
    let mut id = UserSaId::default();
    id.destination(&sa.dst); // daddr, and family from the address
    id.spi = sa.spi;
    id.proto = sa.proto;
    XfrmMessage::DeleteSa(DelGetMessage {
        user_sa_id: id,
        nlas: Vec::new(),
    })
}

/// The message with its header, as bytes to send: `finalize()` sets
/// `nlmsg_len` and `nlmsg_type` from the payload.
fn request(message: XfrmMessage, seq: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_ACK;
    header.sequence_number = seq;
    let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(message));
    packet.finalize();
    let mut bytes = vec![0; packet.buffer_len()];
    packet.serialize(&mut bytes);
    bytes
}

/// By hand: the crate keeps `alg_name` as the C array, `[u8; 64]`; the
/// caller copies the name in and leaves a NUL (the kernel wants one inside
/// the 64 bytes).
fn alg_name(name: &str) -> [u8; XFRM_ALG_NAME_LEN] {
    let mut b = [0u8; XFRM_ALG_NAME_LEN];
    let n = name.len().min(XFRM_ALG_NAME_LEN - 1);
    b[..n].copy_from_slice(&name.as_bytes()[..n]);
    b
}

/// By hand: `alg_key_len` is in bits, and the crate does not derive it
/// from `alg_key`.
fn key_bits(key: &[u8]) -> u32 {
    u32::try_from(key.len() * 8).unwrap_or(u32::MAX)
}
// ANCHOR_END: request

// ANCHOR: ack
/// Send `request` and wait for its `NLMSG_ERROR`: error 0 is the ACK. The
/// errors are the raw program's, word for word.
fn request_ack(sock: &Socket, request: &[u8], seq: u32, what: &'static str) -> Result<()> {
    sock.send_to(request, &SocketAddr::new(0, 0), 0)
        .map_err(sys("sendto(AF_NETLINK, portid 0)"))?;
    let mut buf = vec![0u8; DATAGRAM_ROOM];
    loop {
        let Some(d) = recv_datagram(sock, &mut buf)? else {
            return Err(MonitorError::NoAnswer { request: what }.into());
        };
        if d.from_portid != 0 {
            continue;
        }
        for range in messages(&d.bytes)? {
            let bytes = d.bytes.get(range).unwrap_or_default();
            let msg = NetlinkMessage::<XfrmMessage>::deserialize(bytes)
                .with_context(|| format!("an answer to {what} that does not parse"))?;
            let NetlinkPayload::Error(answer) = msg.payload else {
                continue;
            };
            if msg.header.sequence_number != seq {
                continue;
            }
            // `code` is None for the ACK, the negative errno otherwise.
            let Some(code) = answer.code else {
                return Ok(());
            };
            let message = ext_ack_message(msg.header.flags, &answer);
            return Err(match Errno(code.get().saturating_neg()) {
                Errno(libc::EPROTONOSUPPORT) if seq == NEWSA_SEQ => MonitorError::NoEsp,
                Errno(libc::ENOSYS) if seq == NEWSA_SEQ => MonitorError::NoAlgorithm { message },
                Errno(libc::EPERM) => MonitorError::NeedCapNetAdmin { request: what },
                errno => MonitorError::Kernel {
                    request: what,
                    errno,
                    message,
                },
            }
            .into());
        }
    }
}

/// By hand: `ErrorMessage::header` is every byte after the error code, as
/// one vector: the echoed request (its header alone when `NLM_F_CAPPED`),
/// then, when the answer's flags say `NLM_F_ACK_TLVS`, the extended-ACK
/// attributes. netlink-packet-core walks attributes (`NlasIterator`) but
/// does not find these; the program skips the echo and looks for
/// `NLMSGERR_ATTR_MSG`.
fn ext_ack_message(flags: u16, answer: &ErrorMessage) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    let echoed = if flags & NLM_F_CAPPED != 0 {
        NLMSG_HDRLEN
    } else {
        NetlinkBuffer::new_checked(answer.header.as_slice())
            .ok()?
            .length() as usize
    };
    let tlvs = answer
        .header
        .get(echoed.next_multiple_of(usize::from(NLMSG_ALIGNTO))..)?;
    NlasIterator::new(tlvs)
        .map_while(Result::ok)
        .find(|nla| nla.kind() == NLMSGERR_ATTR_MSG)
        .and_then(|nla| cstr(nla.value()).map(str::to_owned))
}
// ANCHOR_END: ack

/// One datagram, with its sender; `None` when the receive timeout ran out.
fn recv_datagram(sock: &Socket, buf: &mut [u8]) -> Result<Option<Datagram>> {
    // MSG_TRUNC: the call returns the datagram's real length, so that a
    // datagram cut short is seen.
    match sock.recv_from(&mut &mut buf[..], libc::MSG_TRUNC) {
        Ok((len, from)) => {
            ensure!(
                len <= buf.len(),
                "a datagram of {len} bytes did not fit in {} bytes",
                buf.len()
            );
            Ok(Some(Datagram {
                groups: from.multicast_groups(),
                from_portid: from.port_number(),
                bytes: buf.get(..len).unwrap_or_default().to_vec(),
            }))
        }
        // SO_RCVTIMEO ran out; ENOBUFS and the rest are errors like any other.
        Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => Ok(None),
        Err(e) => Err(sys("recvfrom(AF_NETLINK)")(e).into()),
    }
}

/// Everything queued, until the queue stays empty for `DRAIN_TIMEOUT`.
fn drain(sock: &Socket) -> Result<Vec<Datagram>> {
    set_recv_timeout(sock, DRAIN_TIMEOUT).map_err(MonitorError::Sys)?;
    let mut buf = vec![0u8; DATAGRAM_ROOM];
    let mut got = Vec::new();
    while let Some(d) = recv_datagram(sock, &mut buf)? {
        got.push(d);
    }
    Ok(got)
}

// ANCHOR: walk
/// The messages of one datagram, as byte ranges. By hand:
/// netlink-packet-core parses the message at the start of a buffer
/// (`NetlinkBuffer::new_checked` checks its `nlmsg_len` against the bytes);
/// the next one starts `NLMSG_ALIGN(nlmsg_len)` further on, and finding it
/// is the caller's job.
fn messages(datagram: &[u8]) -> Result<Vec<Range<usize>>> {
    let mut ranges = Vec::new();
    let mut at = 0;
    while let Some(rest) = datagram.get(at..).filter(|rest| !rest.is_empty()) {
        let len = NetlinkBuffer::new_checked(rest)
            .with_context(|| format!("the message at offset {at} of a datagram"))?
            .length() as usize;
        ranges.push(at..at + len);
        at += len.next_multiple_of(usize::from(NLMSG_ALIGNTO));
    }
    Ok(ranges)
}
// ANCHOR_END: walk

// ANCHOR: decode
/// Every event of a datagram, parsed by netlink-packet-xfrm and converted
/// into the chapter's `SaEvent`, for the chapter's report.
fn decode_datagram(datagram: &[u8]) -> Result<Vec<Decoded>> {
    let mut events = Vec::new();
    for range in messages(datagram)? {
        let bytes = datagram.get(range.clone()).unwrap_or_default();
        let event = decode_event(bytes)
            .with_context(|| format!("the event at offset {} of a datagram", range.start))?;
        events.push((range, event));
    }
    Ok(events)
}

fn decode_event(bytes: &[u8]) -> Result<SaEvent> {
    let buffer = NetlinkBuffer::new_checked(bytes)?;
    // By hand: the crate's ModifyMessage::parse and DelGetMessage::parse
    // slice the payload to their fixed structure's size without checking
    // it (`&buf[..size_of::<UserSaInfoBuffer>()]`): a short message would
    // panic. The length is checked here first.
    let fixed = match buffer.message_type() {
        XFRM_MSG_NEWSA => XFRM_USER_SA_INFO_LEN,
        XFRM_MSG_DELSA => XFRM_USER_SA_ID_LEN,
        other => bail!(
            "type {other} is not XFRM_MSG_NEWSA ({XFRM_MSG_NEWSA}) or XFRM_MSG_DELSA \
             ({XFRM_MSG_DELSA})"
        ),
    };
    ensure!(
        buffer.payload_length() >= fixed,
        "a payload of {} bytes, shorter than the {fixed}-byte structure it must start with",
        buffer.payload_length()
    );
    let msg = NetlinkMessage::<XfrmMessage>::deserialize(bytes)
        .context("netlink-packet-xfrm does not parse it")?;
    let header = header_of(&msg.header);
    // The attributes follow the fixed part, which is 4-aligned here.
    let attrs_at = NLMSG_HDRLEN + fixed;
    match msg.payload {
        NetlinkPayload::InnerMessage(XfrmMessage::AddSa(m)) => Ok(SaEvent::New {
            header,
            sa: sa_info(&m.user_sa_info, NLMSG_HDRLEN)?,
            attrs: sa_attrs(&m.nlas, attrs_at)?,
        }),
        NetlinkPayload::InnerMessage(XfrmMessage::DeleteSa(m)) => Ok(SaEvent::Deleted {
            header,
            id: sa_id(&m.user_sa_id)?,
            attrs: sa_attrs(&m.nlas, attrs_at)?,
        }),
        _ => bail!("the crate parsed it as another kind of message"),
    }
}
// ANCHOR_END: decode

// ANCHOR: convert
/// The crate's header, as the fields the report prints.
fn header_of(h: &NetlinkHeader) -> NlMsgHdr {
    NlMsgHdr {
        nlmsg_len: h.length,
        nlmsg_type: h.message_type,
        nlmsg_flags: h.flags,
        nlmsg_seq: h.sequence_number,
        nlmsg_pid: h.port_number,
    }
}

// ANCHOR: address
/// By hand: the crate keeps each `xfrm_address_t` as its 16 bytes
/// (`Address`) and offers `to_ipv4()` and `to_ipv6()`; which one applies
/// is for the family next to it to say, and the caller must look.
fn ip(addr: &Address, family: u16, what: &str) -> Result<IpAddr> {
    match family {
        AF_INET => Ok(IpAddr::V4(addr.to_ipv4())),
        AF_INET6 => Ok(IpAddr::V6(addr.to_ipv6())),
        _ => bail!("{what}: {} is not AF_INET or AF_INET6", family_name(family)),
    }
}
// ANCHOR_END: address

/// `UserSaInfo` as the chapter's `SaInfo`. `offset` is where the structure
/// starts in the message; the crate keeps no offsets.
fn sa_info(info: &UserSaInfo, offset: usize) -> Result<SaInfo> {
    let sel = &info.selector;
    let selector = if sel.family == 0 {
        None
    } else {
        Some((
            ip(&sel.saddr, sel.family, "sel.saddr")?,
            sel.prefixlen_s,
            ip(&sel.daddr, sel.family, "sel.daddr")?,
            sel.prefixlen_d,
        ))
    };
    Ok(SaInfo {
        family: info.family,
        proto: info.id.proto,
        spi: info.id.spi, // the crate has turned it into a number
        src: ip(&info.saddr, info.family, "saddr")?,
        dst: ip(&info.id.daddr, info.family, "id.daddr")?,
        mode: info.mode,
        reqid: info.reqid,
        replay_window: info.replay_window,
        flags: info.flags,
        sel_family: sel.family,
        selector,
        offset,
    })
}

fn sa_id(id: &UserSaId) -> Result<SaId> {
    Ok(SaId {
        dst: ip(&id.daddr, id.family, "daddr")?,
        spi: id.spi,
        family: id.family,
        proto: id.proto,
    })
}

/// The crate's attributes as the chapter's, in the kernel's order. `at` is
/// where the first one starts in the message.
fn sa_attrs(nlas: &[XfrmAttrs], mut at: usize) -> Result<Vec<SaAttr>> {
    let mut attrs = Vec::new();
    for nla in nlas {
        let payload_at = at + 4;
        attrs.push(match nla {
            XfrmAttrs::AuthenticationAlg(a) => {
                algorithm(XFRMA_ALG_AUTH, &a.alg_name, a.alg_key_len, None, &a.alg_key)?
            }
            XfrmAttrs::EncryptionAlg(a) => algorithm(
                XFRMA_ALG_CRYPT,
                &a.alg_name,
                a.alg_key_len,
                None,
                &a.alg_key,
            )?,
            XfrmAttrs::AuthenticationAlgTrunc(a) => algorithm(
                XFRMA_ALG_AUTH_TRUNC,
                &a.alg_name,
                a.alg_key_len,
                Some(a.alg_trunc_len),
                &a.alg_key,
            )?,
            XfrmAttrs::EncryptionAlgAead(a) => algorithm(
                XFRMA_ALG_AEAD,
                &a.alg_name,
                a.alg_key_len,
                Some(a.alg_icv_len),
                &a.alg_key,
            )?,
            XfrmAttrs::SaInfo(info) => SaAttr::Sa(sa_info(info, payload_at)?),
            // The rest by type and length. The crate keeps no lengths
            // either: value_len() is the length it would write, the same
            // as received for these fixed-size attributes.
            other => SaAttr::Other {
                kind: other.kind(),
                len: other.value_len(),
            },
        });
        // By hand: where the next attribute starts, from this one's length
        // as the crate would write it (header, value, padding).
        at += nla.buffer_len();
    }
    Ok(attrs)
}

/// By hand: the crate keeps `alg_name` as 64 raw bytes and `alg_key` as
/// whatever follows the fixed part, without comparing it with
/// `alg_key_len`; the checks are the chapter decoder's.
fn algorithm(
    kind: u16,
    name: &[u8; XFRM_ALG_NAME_LEN],
    key_bits: u32,
    icv_bits: Option<u32>,
    key: &[u8],
) -> Result<SaAttr> {
    let what = xfrma_name(kind);
    ensure!(
        name.contains(&0),
        "{what}: alg_name has no NUL in its 64 bytes"
    );
    let name = cstr(name).with_context(|| format!("{what}: alg_name is not UTF-8"))?;
    let key_len = usize::try_from(key_bits.div_ceil(8)).unwrap_or(usize::MAX);
    ensure!(
        key.len() >= key_len,
        "{what}: alg_key_len {key_bits} bits needs {key_len} key bytes, {} follow",
        key.len()
    );
    Ok(SaAttr::Algorithm(Algorithm {
        kind,
        name: name.to_owned(),
        key_bits,
        icv_bits,
    }))
}
// ANCHOR_END: convert

#[cfg(test)]
mod tests {
    use super::*;
    use ch05_events::xfrm::{
        XFRMA_ALG_AUTH_TRUNC, XFRMA_ALG_CRYPT, decode_sa_event, usersa_id, usersa_info, xfrm_algo,
        xfrm_algo_auth,
    };
    use nlbook_common::MsgBuilder;

    /// The crate's requests are the raw program's, byte for byte.
    #[test]
    fn requests_are_the_raw_programs() {
        let sa = monitor::the_sa();
        let raw_newsa = MsgBuilder::new(XFRM_MSG_NEWSA, NLM_F_REQUEST | NLM_F_ACK, NEWSA_SEQ)
            .fixed(&usersa_info(&sa))
            .attr(XFRMA_ALG_CRYPT, &xfrm_algo(CRYPT.0, &CRYPT.1))
            .attr(
                XFRMA_ALG_AUTH_TRUNC,
                &xfrm_algo_auth(AUTH.0, &AUTH.1, AUTH.2),
            )
            .finish()
            .unwrap();
        assert_eq!(request(newsa(), NEWSA_SEQ), raw_newsa);
        let raw_delsa = MsgBuilder::new(XFRM_MSG_DELSA, NLM_F_REQUEST | NLM_F_ACK, DELSA_SEQ)
            .fixed(&usersa_id(sa.dst, sa.spi, sa.proto))
            .finish()
            .unwrap();
        assert_eq!(request(delsa(), DELSA_SEQ), raw_delsa);
    }

    /// A NEWSA cut inside its fixed part is refused, not a panic in the
    /// crate.
    #[test]
    fn a_short_event_is_an_error() {
        let mut bytes = request(newsa(), NEWSA_SEQ);
        bytes.truncate(NLMSG_HDRLEN + 100);
        let len = u32::try_from(bytes.len()).unwrap();
        bytes[..4].copy_from_slice(&len.to_ne_bytes());
        let err = decode_event(&bytes).unwrap_err();
        assert!(
            format!("{err:#}").contains("shorter than the 224-byte"),
            "{err:#}"
        );
    }

    /// The events the VM lab captured (`ch05-sa-monitor --hex`), one
    /// vector of bytes each.
    fn captured(snapshot: &str) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        for line in snapshot.lines() {
            if line.starts_with("    bytes (") {
                out.push(Vec::new());
            } else if let (Some(current), Some((offset, hex))) =
                (out.last_mut(), line.trim_start().split_once(": "))
                && offset.len() == 4
                && usize::from_str_radix(offset, 16) == Ok(current.len())
            {
                current.extend(hex.split(' ').map(|b| u8::from_str_radix(b, 16).unwrap()));
            }
        }
        out
    }

    /// Parsed by the crate and converted, the captured events are what the
    /// chapter's decoder makes of them, offsets included.
    #[test]
    fn the_crate_decodes_the_captured_events_as_the_chapter_does() {
        for snapshot in [
            include_str!("../../../../tests/snapshots/lab/ch05-events__sa-monitor-bytes@6.1.snap"),
            include_str!("../../../../tests/snapshots/lab/ch05-events__sa-monitor-bytes@6.12.snap"),
        ] {
            let events = captured(snapshot);
            assert_eq!(events.len(), 2);
            for bytes in events {
                assert_eq!(
                    decode_event(&bytes).unwrap(),
                    decode_sa_event(&bytes).unwrap()
                );
            }
        }
    }
}
