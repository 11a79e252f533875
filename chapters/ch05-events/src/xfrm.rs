//! The XFRM structures of `<linux/xfrm.h>` that an SA request and an SA
//! event carry, built and decoded byte by byte (host byte order, except
//! the SPI and the addresses, which are network byte order, `__be32`).
//!
//! Sizes and offsets are x86_64's (and every 64-bit Linux's):
//! `struct xfrm_usersa_info` holds `__u64` lifetimes, so it is 8-aligned and
//! 224 bytes long (217 bytes of fields, 7 of tail padding).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nlbook_common::rtattr::cstr;
use nlbook_common::{Malformed, NLMSG_HDRLEN, NlMsgHdr, Problem, RtAttrIter, rta_align};

// ANCHOR: numbers
/// `NETLINK_XFRM` (`<linux/netlink.h>`).
pub const NETLINK_XFRM: i32 = 6;
/// `XFRM_MSG_NEWSA`: add an SA (request), an SA was added (event).
pub const XFRM_MSG_NEWSA: u16 = 0x10;
/// `XFRM_MSG_DELSA`: delete an SA (request), an SA was deleted (event).
pub const XFRM_MSG_DELSA: u16 = 0x11;
/// `XFRMNLGRP_SA` of `enum xfrm_nlgroups`: SA added, deleted, updated, flushed.
pub const XFRMNLGRP_SA: u32 = 3;
/// `IPPROTO_ESP`.
pub const IPPROTO_ESP: u8 = 50;
/// `XFRM_MODE_TRANSPORT`.
pub const XFRM_MODE_TRANSPORT: u8 = 0;
/// `XFRM_INF`: "no limit" for the lifetime limits.
pub const XFRM_INF: u64 = u64::MAX;

/// `XFRMA_ALG_AUTH`: `struct xfrm_algo`, authentication.
pub const XFRMA_ALG_AUTH: u16 = 1;
/// `XFRMA_ALG_CRYPT`: `struct xfrm_algo`, encryption.
pub const XFRMA_ALG_CRYPT: u16 = 2;
/// `XFRMA_SA`: a whole `struct xfrm_usersa_info` (in DELSA events).
pub const XFRMA_SA: u16 = 6;
/// `XFRMA_ALG_AEAD`: `struct xfrm_algo_aead`.
pub const XFRMA_ALG_AEAD: u16 = 18;
/// `XFRMA_ALG_AUTH_TRUNC`: `struct xfrm_algo_auth`, with the ICV length.
pub const XFRMA_ALG_AUTH_TRUNC: u16 = 20;

/// `sizeof(struct xfrm_usersa_info)`.
pub const USERSA_INFO_LEN: usize = 224;
/// `sizeof(struct xfrm_usersa_id)`.
pub const USERSA_ID_LEN: usize = 24;
/// `sizeof(struct xfrm_algo)`: `char alg_name[64]`, `unsigned int
/// alg_key_len` (in bits), then the key.
pub const XFRM_ALGO_LEN: usize = 68;
/// `sizeof(struct xfrm_algo_auth)` and `sizeof(struct xfrm_algo_aead)`:
/// one more `unsigned int` (truncation or ICV length, in bits).
pub const XFRM_ALGO_AUTH_LEN: usize = 72;
/// `alg_name`'s size.
const ALG_NAME_LEN: usize = 64;
// ANCHOR_END: numbers

/// The names of `enum xfrm_attr_type_t` (6.12's; 6.1 ends at 32).
const XFRMA_NAMES: [&str; 36] = [
    "XFRMA_UNSPEC",
    "XFRMA_ALG_AUTH",
    "XFRMA_ALG_CRYPT",
    "XFRMA_ALG_COMP",
    "XFRMA_ENCAP",
    "XFRMA_TMPL",
    "XFRMA_SA",
    "XFRMA_POLICY",
    "XFRMA_SEC_CTX",
    "XFRMA_LTIME_VAL",
    "XFRMA_REPLAY_VAL",
    "XFRMA_REPLAY_THRESH",
    "XFRMA_ETIMER_THRESH",
    "XFRMA_SRCADDR",
    "XFRMA_COADDR",
    "XFRMA_LASTUSED",
    "XFRMA_POLICY_TYPE",
    "XFRMA_MIGRATE",
    "XFRMA_ALG_AEAD",
    "XFRMA_KMADDRESS",
    "XFRMA_ALG_AUTH_TRUNC",
    "XFRMA_MARK",
    "XFRMA_TFCPAD",
    "XFRMA_REPLAY_ESN_VAL",
    "XFRMA_SA_EXTRA_FLAGS",
    "XFRMA_PROTO",
    "XFRMA_ADDRESS_FILTER",
    "XFRMA_PAD",
    "XFRMA_OFFLOAD_DEV",
    "XFRMA_SET_MARK",
    "XFRMA_SET_MARK_MASK",
    "XFRMA_IF_ID",
    "XFRMA_MTIMER_THRESH",
    "XFRMA_SA_DIR",
    "XFRMA_NAT_KEEPALIVE_INTERVAL",
    "XFRMA_SA_PCPU",
];

/// An attribute type's name, or its number.
pub fn xfrma_name(kind: u16) -> String {
    XFRMA_NAMES
        .get(usize::from(kind))
        .map_or_else(|| format!("XFRMA_{kind}"), |n| (*n).to_owned())
}

/// A mode's name (`XFRM_MODE_*`).
pub fn mode_name(mode: u8) -> String {
    match mode {
        0 => "transport".into(),
        1 => "tunnel".into(),
        2 => "route optimization".into(),
        3 => "in trigger".into(),
        4 => "beet".into(),
        m => format!("mode {m}"),
    }
}

/// A protocol's name (the three XFRM carries SAs for).
pub fn proto_name(proto: u8) -> String {
    match proto {
        50 => "esp".into(),
        51 => "ah".into(),
        108 => "comp".into(),
        p => format!("proto {p}"),
    }
}

/// An address family's name.
pub fn family_name(family: u16) -> String {
    match i32::from(family) {
        libc::AF_UNSPEC => "AF_UNSPEC".into(),
        libc::AF_INET => "AF_INET".into(),
        libc::AF_INET6 => "AF_INET6".into(),
        f => format!("family {f}"),
    }
}

// ---------------------------------------------------------------- building

/// The SA a request describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaSpec {
    /// Source address; its family is the SA's.
    pub src: IpAddr,
    /// Destination address, of the same family.
    pub dst: IpAddr,
    /// Security parameter index, as a number (sent big-endian).
    pub spi: u32,
    /// `IPPROTO_ESP` here.
    pub proto: u8,
    /// `XFRM_MODE_*`.
    pub mode: u8,
    /// Request id, tying the SA to policies' templates.
    pub reqid: u32,
    /// Replay window, in packets.
    pub replay_window: u8,
}

/// An `xfrm_address_t` (16 bytes): IPv4 in the first 4, network order.
fn address_bytes(addr: IpAddr) -> [u8; 16] {
    let mut b = [0u8; 16];
    match addr {
        IpAddr::V4(a) => b[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => b.copy_from_slice(&a.octets()),
    }
    b
}

fn family_of(addr: IpAddr) -> u16 {
    let family = match addr {
        IpAddr::V4(_) => libc::AF_INET,
        IpAddr::V6(_) => libc::AF_INET6,
    };
    // AF_INET (2) and AF_INET6 (10) fit.
    family as u16
}

// ANCHOR: usersa_info
/// `struct xfrm_usersa_info` for an `XFRM_MSG_NEWSA` request. The selector
/// stays empty (family `AF_UNSPEC`): the kernel fills its family in from
/// the SA's (`copy_from_user_state()`). The lifetimes have no limits.
pub fn usersa_info(sa: &SaSpec) -> [u8; USERSA_INFO_LEN] {
    let mut b = [0u8; USERSA_INFO_LEN];
    // id: daddr (56), spi (72, big-endian), proto (76).
    b[56..72].copy_from_slice(&address_bytes(sa.dst));
    b[72..76].copy_from_slice(&sa.spi.to_be_bytes());
    b[76] = sa.proto;
    // saddr (80).
    b[80..96].copy_from_slice(&address_bytes(sa.src));
    // lft (96): soft and hard byte and packet limits, then four expiry
    // times, where 0 means none.
    for limit in 0..4 {
        let at = 96 + 8 * limit;
        b[at..at + 8].copy_from_slice(&XFRM_INF.to_ne_bytes());
    }
    // curlft (160) and stats (192) are the kernel's to fill; seq (204) is
    // for SAs an ACQUIRE asked for.
    b[208..212].copy_from_slice(&sa.reqid.to_ne_bytes());
    b[212..214].copy_from_slice(&family_of(sa.src).to_ne_bytes());
    b[214] = sa.mode;
    b[215] = sa.replay_window;
    b
}
// ANCHOR_END: usersa_info

/// `struct xfrm_usersa_id` for an `XFRM_MSG_DELSA` request: the SA is
/// found by destination, SPI and protocol.
pub fn usersa_id(dst: IpAddr, spi: u32, proto: u8) -> [u8; USERSA_ID_LEN] {
    let mut b = [0u8; USERSA_ID_LEN];
    b[..16].copy_from_slice(&address_bytes(dst));
    b[16..20].copy_from_slice(&spi.to_be_bytes());
    b[20..22].copy_from_slice(&family_of(dst).to_ne_bytes());
    b[22] = proto;
    b
}

fn alg_name_bytes(name: &str) -> [u8; ALG_NAME_LEN] {
    let mut b = [0u8; ALG_NAME_LEN];
    // The kernel wants a NUL inside the 64 bytes (verify_one_alg()); the
    // names used here are short, a longer one is cut to fit.
    let n = name.len().min(ALG_NAME_LEN - 1);
    b[..n].copy_from_slice(&name.as_bytes()[..n]);
    b
}

fn key_bits(key: &[u8]) -> u32 {
    u32::try_from(key.len() * 8).unwrap_or(u32::MAX)
}

/// `struct xfrm_algo` with its key: the payload of `XFRMA_ALG_CRYPT`.
pub fn xfrm_algo(name: &str, key: &[u8]) -> Vec<u8> {
    let mut b = alg_name_bytes(name).to_vec();
    b.extend_from_slice(&key_bits(key).to_ne_bytes());
    b.extend_from_slice(key);
    b
}

/// `struct xfrm_algo_auth` with its key: the payload of
/// `XFRMA_ALG_AUTH_TRUNC`, the ICV cut to `trunc_bits`.
pub fn xfrm_algo_auth(name: &str, key: &[u8], trunc_bits: u32) -> Vec<u8> {
    let mut b = alg_name_bytes(name).to_vec();
    b.extend_from_slice(&key_bits(key).to_ne_bytes());
    b.extend_from_slice(&trunc_bits.to_ne_bytes());
    b.extend_from_slice(key);
    b
}

// ---------------------------------------------------------------- decoding

/// The SA of a `struct xfrm_usersa_info`, the fields worth showing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaInfo {
    /// `family`: the family of `id.daddr` and `saddr`.
    pub family: u16,
    /// `id.proto`.
    pub proto: u8,
    /// `id.spi`, as a number.
    pub spi: u32,
    /// `saddr`.
    pub src: IpAddr,
    /// `id.daddr`.
    pub dst: IpAddr,
    /// `mode`.
    pub mode: u8,
    /// `reqid`.
    pub reqid: u32,
    /// `replay_window`.
    pub replay_window: u8,
    /// `flags` (`XFRM_STATE_*`).
    pub flags: u8,
    /// `sel.family`.
    pub sel_family: u16,
    /// `sel.saddr`/`prefixlen_s` and `sel.daddr`/`prefixlen_d`, when
    /// `sel.family` says how to read them.
    pub selector: Option<(IpAddr, u8, IpAddr, u8)>,
    /// Where the structure starts in the message.
    pub offset: usize,
}

/// The `struct xfrm_usersa_id` of a DELSA event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaId {
    /// `daddr`.
    pub dst: IpAddr,
    /// `spi`, as a number.
    pub spi: u32,
    /// `family`.
    pub family: u16,
    /// `proto`.
    pub proto: u8,
}

/// An algorithm attribute: `struct xfrm_algo`, `_auth` or `_aead`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Algorithm {
    /// The attribute type.
    pub kind: u16,
    /// `alg_name`.
    pub name: String,
    /// `alg_key_len`, in bits.
    pub key_bits: u32,
    /// `alg_trunc_len` (`XFRMA_ALG_AUTH_TRUNC`) or `alg_icv_len`
    /// (`XFRMA_ALG_AEAD`), in bits.
    pub icv_bits: Option<u32>,
}

/// One attribute of an SA event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaAttr {
    /// An algorithm, decoded.
    Algorithm(Algorithm),
    /// `XFRMA_SA` of a DELSA event: the SA as it was.
    Sa(SaInfo),
    /// Any other attribute: its type and payload length.
    Other {
        /// The attribute type.
        kind: u16,
        /// Its payload length.
        len: usize,
    },
}

/// An event of `XFRMNLGRP_SA`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaEvent {
    /// `XFRM_MSG_NEWSA`: the SA, then its attributes.
    New {
        /// The header: its seq and pid are the request's.
        header: NlMsgHdr,
        /// The SA.
        sa: SaInfo,
        /// The attributes, in the kernel's order.
        attrs: Vec<SaAttr>,
    },
    /// `XFRM_MSG_DELSA`: the SA's id; the SA itself is in `XFRMA_SA`.
    Deleted {
        /// The header: its seq and pid are the request's.
        header: NlMsgHdr,
        /// The id.
        id: SaId,
        /// The attributes, in the kernel's order.
        attrs: Vec<SaAttr>,
    },
}

fn malformed(what: &'static str, offset: usize, problem: Problem) -> Malformed {
    Malformed {
        what,
        offset,
        problem,
    }
}

/// `bytes[at..at + N]`, or `Truncated` naming the structure that needs them.
fn take<const N: usize>(
    bytes: &[u8],
    at: usize,
    what: &'static str,
    base: usize,
) -> Result<[u8; N], Malformed> {
    bytes
        .get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| {
            malformed(
                what,
                base,
                Problem::Truncated {
                    have: bytes.len(),
                    need: at + N,
                },
            )
        })
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

// ANCHOR: address
/// Read an `xfrm_address_t` by the family that governs it: `AF_INET` uses
/// its first 4 bytes, `AF_INET6` all 16. Any other family has no address;
/// `None`.
pub fn address(bytes: &[u8; 16], family: u16) -> Option<IpAddr> {
    match i32::from(family) {
        libc::AF_INET => Some(IpAddr::V4(Ipv4Addr::new(
            bytes[0], bytes[1], bytes[2], bytes[3],
        ))),
        libc::AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(*bytes))),
        _ => None,
    }
}
// ANCHOR_END: address

/// Decode a `struct xfrm_usersa_info` at `offset` of the message. The SA's
/// family must be `AF_INET` or `AF_INET6`; the selector's may also be
/// `AF_UNSPEC`, which leaves its addresses unread.
pub fn decode_usersa_info(bytes: &[u8], offset: usize) -> Result<SaInfo, Malformed> {
    const WHAT: &str = "xfrm_usersa_info";
    let b: [u8; USERSA_INFO_LEN] = take(bytes, 0, WHAT, offset)?;
    let family = u16_at(&b, 212);
    let bad_family = |at: usize, family: u16| {
        malformed(
            WHAT,
            offset,
            Problem::Invalid(format!(
                "{} at offset {} is not AF_INET or AF_INET6",
                family_name(family),
                offset + at
            )),
        )
    };
    let addr = |at: usize| -> Result<IpAddr, Malformed> {
        let raw: [u8; 16] = take(&b, at, WHAT, offset)?;
        address(&raw, family).ok_or_else(|| bad_family(212, family))
    };
    let dst = addr(56)?;
    let src = addr(80)?;
    let sel_family = u16_at(&b, 40);
    let selector = if sel_family == 0 {
        None
    } else {
        let sel = |at: usize| -> Result<IpAddr, Malformed> {
            let raw: [u8; 16] = take(&b, at, WHAT, offset)?;
            address(&raw, sel_family).ok_or_else(|| bad_family(40, sel_family))
        };
        Some((sel(16)?, b[43], sel(0)?, b[42]))
    };
    Ok(SaInfo {
        family,
        proto: b[76],
        spi: u32::from_be_bytes([b[72], b[73], b[74], b[75]]),
        src,
        dst,
        mode: b[214],
        reqid: u32_at(&b, 208),
        replay_window: b[215],
        flags: b[216],
        sel_family,
        selector,
        offset,
    })
}

fn decode_usersa_id(bytes: &[u8], offset: usize) -> Result<SaId, Malformed> {
    const WHAT: &str = "xfrm_usersa_id";
    let b: [u8; USERSA_ID_LEN] = take(bytes, 0, WHAT, offset)?;
    let family = u16_at(&b, 20);
    let raw: [u8; 16] = take(&b, 0, WHAT, offset)?;
    let dst = address(&raw, family).ok_or_else(|| {
        malformed(
            WHAT,
            offset,
            Problem::Invalid(format!(
                "{} at offset {} is not AF_INET or AF_INET6",
                family_name(family),
                offset + 20
            )),
        )
    })?;
    Ok(SaId {
        dst,
        spi: u32::from_be_bytes([b[16], b[17], b[18], b[19]]),
        family,
        proto: b[22],
    })
}

fn decode_algorithm(kind: u16, payload: &[u8], offset: usize) -> Result<Algorithm, Malformed> {
    let (what, fixed) = match kind {
        XFRMA_ALG_AUTH_TRUNC => ("xfrm_algo_auth", XFRM_ALGO_AUTH_LEN),
        XFRMA_ALG_AEAD => ("xfrm_algo_aead", XFRM_ALGO_AUTH_LEN),
        _ => ("xfrm_algo", XFRM_ALGO_LEN),
    };
    if payload.len() < fixed {
        return Err(malformed(
            what,
            offset,
            Problem::Truncated {
                have: payload.len(),
                need: fixed,
            },
        ));
    }
    let name_bytes = &payload[..ALG_NAME_LEN];
    if !name_bytes.contains(&0) {
        return Err(malformed(
            what,
            offset,
            Problem::Invalid("alg_name has no NUL in its 64 bytes".into()),
        ));
    }
    let name = cstr(name_bytes).ok_or_else(|| {
        malformed(
            what,
            offset,
            Problem::Invalid("alg_name is not UTF-8".into()),
        )
    })?;
    let key_bits = u32_at(payload, ALG_NAME_LEN);
    let icv_bits = (fixed == XFRM_ALGO_AUTH_LEN).then(|| u32_at(payload, ALG_NAME_LEN + 4));
    let key_len = usize::try_from(key_bits.div_ceil(8)).unwrap_or(usize::MAX);
    if payload.len() - fixed < key_len {
        return Err(malformed(
            what,
            offset,
            Problem::Invalid(format!(
                "alg_key_len {key_bits} bits needs {key_len} key bytes, {} follow",
                payload.len() - fixed
            )),
        ));
    }
    Ok(Algorithm {
        kind,
        name: name.to_owned(),
        key_bits,
        icv_bits,
    })
}

fn decode_attrs(bytes: &[u8], base: usize) -> Result<Vec<SaAttr>, Malformed> {
    let mut attrs = Vec::new();
    for attr in RtAttrIter::at(bytes, base) {
        let attr = attr?;
        let payload_at = attr.offset + 4;
        attrs.push(match attr.kind() {
            k @ (XFRMA_ALG_AUTH | XFRMA_ALG_CRYPT | XFRMA_ALG_AUTH_TRUNC | XFRMA_ALG_AEAD) => {
                SaAttr::Algorithm(decode_algorithm(k, attr.payload, payload_at)?)
            }
            XFRMA_SA => SaAttr::Sa(decode_usersa_info(attr.payload, payload_at)?),
            kind => SaAttr::Other {
                kind,
                len: attr.payload.len(),
            },
        });
    }
    Ok(attrs)
}

// ANCHOR: decode_event
/// Decode one message of `XFRMNLGRP_SA` as received: `nlmsghdr`, the fixed
/// part its type calls for, then attributes. Offsets in errors count from
/// the start of `msg`.
pub fn decode_sa_event(msg: &[u8]) -> Result<SaEvent, Malformed> {
    let header = NlMsgHdr::from_bytes(msg).ok_or_else(|| {
        malformed(
            "nlmsghdr",
            0,
            Problem::Truncated {
                have: msg.len(),
                need: NlMsgHdr::LEN,
            },
        )
    })?;
    let len = usize::try_from(header.nlmsg_len).unwrap_or(usize::MAX);
    if len < NLMSG_HDRLEN || len > msg.len() {
        return Err(malformed(
            "nlmsghdr",
            0,
            if len < NLMSG_HDRLEN {
                Problem::LengthTooSmall {
                    len,
                    min: NLMSG_HDRLEN,
                }
            } else {
                Problem::LengthPastEnd {
                    len,
                    have: msg.len(),
                }
            },
        ));
    }
    let payload = &msg[NLMSG_HDRLEN..len];
    // The attributes start after the fixed part, padded to 4 (NLMSG_ALIGN).
    let attrs_at = |fixed: usize| payload.get(rta_align(fixed)..).unwrap_or_default();
    match header.nlmsg_type {
        XFRM_MSG_NEWSA => {
            let sa = decode_usersa_info(payload, NLMSG_HDRLEN)?;
            let attrs = decode_attrs(
                attrs_at(USERSA_INFO_LEN),
                NLMSG_HDRLEN + rta_align(USERSA_INFO_LEN),
            )?;
            Ok(SaEvent::New { header, sa, attrs })
        }
        XFRM_MSG_DELSA => {
            let id = decode_usersa_id(payload, NLMSG_HDRLEN)?;
            let attrs = decode_attrs(
                attrs_at(USERSA_ID_LEN),
                NLMSG_HDRLEN + rta_align(USERSA_ID_LEN),
            )?;
            Ok(SaEvent::Deleted { header, id, attrs })
        }
        other => Err(malformed(
            "nlmsghdr",
            0,
            Problem::Invalid(format!(
                "type {other} is not XFRM_MSG_NEWSA ({XFRM_MSG_NEWSA}) or XFRM_MSG_DELSA \
                 ({XFRM_MSG_DELSA})"
            )),
        )),
    }
}
// ANCHOR_END: decode_event

/// Where the kernel's clock shows in an event: `curlft.add_time` of each
/// `xfrm_usersa_info` (offset 160 + 16 inside it), as byte ranges of `msg`.
/// A snapshot of the bytes zeroes them; nothing else in the event depends
/// on when it was made (`curlft.use_time` and `XFRMA_LASTUSED` stay 0
/// while no packet used the SA).
pub fn clock_fields(event: &SaEvent) -> Vec<std::ops::Range<usize>> {
    let infos: Vec<&SaInfo> = match event {
        SaEvent::New { sa, attrs, .. } => std::iter::once(sa)
            .chain(attrs.iter().filter_map(|a| match a {
                SaAttr::Sa(s) => Some(s),
                _ => None,
            }))
            .collect(),
        SaEvent::Deleted { attrs, .. } => attrs
            .iter()
            .filter_map(|a| match a {
                SaAttr::Sa(s) => Some(s),
                _ => None,
            })
            .collect(),
    };
    infos
        .into_iter()
        .map(|s| s.offset + 176..s.offset + 184)
        .collect()
}

impl fmt::Display for SaInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} spi 0x{:08x} {} {} -> {} mode {} reqid {} replay-window {} flags 0x{:02x}",
            proto_name(self.proto),
            self.spi,
            family_name(self.family),
            self.src,
            self.dst,
            mode_name(self.mode),
            self.reqid,
            self.replay_window,
            self.flags
        )?;
        match self.selector {
            Some((s, sp, d, dp)) => write!(
                f,
                "; selector {} {s}/{sp} -> {d}/{dp}",
                family_name(self.sel_family)
            ),
            None => write!(f, "; selector AF_UNSPEC (any)"),
        }
    }
}

impl fmt::Display for SaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} spi 0x{:08x} {} dst {}",
            proto_name(self.proto),
            self.spi,
            family_name(self.family),
            self.dst
        )
    }
}

impl fmt::Display for SaAttr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaAttr::Algorithm(a) => {
                write!(
                    f,
                    "{} {}, {}-bit key",
                    xfrma_name(a.kind),
                    a.name,
                    a.key_bits
                )?;
                match (a.kind, a.icv_bits) {
                    (XFRMA_ALG_AEAD, Some(icv)) => write!(f, ", {icv}-bit ICV"),
                    (_, Some(icv)) => write!(f, ", ICV truncated to {icv} bits"),
                    _ => Ok(()),
                }
            }
            SaAttr::Sa(sa) => write!(f, "XFRMA_SA {sa}"),
            SaAttr::Other { kind, len } => write!(f, "{} ({len} bytes)", xfrma_name(*kind)),
        }
    }
}
