//! Chapter 5 exercise: an `XFRM_MSG_NEWSA` event, decoded by hand.
//!
//! The event is a `struct nlmsghdr` (16 bytes: `u32 nlmsg_len`,
//! `u16 nlmsg_type`, `u16 nlmsg_flags`, `u32 nlmsg_seq`, `u32 nlmsg_pid`,
//! host byte order), then a 224-byte `struct xfrm_usersa_info`
//! (`<linux/xfrm.h>`, x86_64 layout), then attributes this exercise skips.
//! The fields of `xfrm_usersa_info` you need, by offset inside it:
//!
//! ```text
//!  offset  size  field
//!  0       56    sel          struct xfrm_selector (not needed here)
//!  56      16    id.daddr     xfrm_address_t: the destination
//!  72      4     id.spi       __be32: network byte order
//!  76      1     id.proto     IPPROTO_ESP (50), IPPROTO_AH (51), ...
//!  80      16    saddr        xfrm_address_t: the source
//!  96      96    lft, curlft  lifetimes (not needed here)
//!  192     12    stats        (not needed here)
//!  204     4     seq
//!  208     4     reqid        host byte order
//!  212     2     family       AF_INET (2) or AF_INET6 (10): how to read
//!                             id.daddr and saddr
//!  214     1     mode         XFRM_MODE_TRANSPORT (0), _TUNNEL (1), ...
//!  215     1     replay_window
//!  216     1     flags
//! ```
//!
//! `xfrm_address_t` is a union of 16 bytes: an IPv4 address sits in its
//! first 4 bytes (the rest are zero), an IPv6 address fills it.
//!
//! The solution.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// The size of `struct xfrm_usersa_info`.
pub const USERSA_INFO_LEN: usize = 224;
/// `XFRM_MSG_NEWSA`.
pub const XFRM_MSG_NEWSA: u16 = 0x10;
/// `AF_INET`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;

/// The SA an event describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sa {
    /// `family`.
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
}

/// What is wrong with the input, and where. Offsets count from the start
/// of the bytes given to the function that found the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Fewer bytes are left than a structure needs.
    Truncated {
        /// Where the structure starts.
        offset: usize,
        /// Bytes it needs.
        need: usize,
        /// Bytes there are, from `offset` on.
        have: usize,
    },
    /// `nlmsg_len` is below 16 or beyond the bytes received.
    BadLength {
        /// The length field.
        len: usize,
        /// Bytes received.
        have: usize,
    },
    /// The message is not an `XFRM_MSG_NEWSA`.
    NotNewSa {
        /// Its type.
        nlmsg_type: u16,
    },
    /// `family` is neither `AF_INET` nor `AF_INET6`.
    BadFamily {
        /// Where the family field is.
        offset: usize,
        /// Its value.
        family: u16,
    },
}

/// An `xfrm_address_t` read by `family`: `AF_INET` from the first 4 bytes,
/// `AF_INET6` from all 16; `None` for any other family.
pub fn address(bytes: &[u8; 16], family: u16) -> Option<IpAddr> {
    match family {
        AF_INET => Some(IpAddr::V4(Ipv4Addr::new(
            bytes[0], bytes[1], bytes[2], bytes[3],
        ))),
        AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(*bytes))),
        _ => None,
    }
}

/// Decode the fields of [`Sa`] from a `struct xfrm_usersa_info` at the
/// start of `bytes` (more bytes may follow). Offsets in errors count from
/// the start of `bytes`: fewer than 224 bytes is `Truncated` at offset 0;
/// a family other than `AF_INET`/`AF_INET6` is `BadFamily` at offset 212.
pub fn decode_usersa_info(bytes: &[u8]) -> Result<Sa, Error> {
    let Some(b) = bytes.get(..USERSA_INFO_LEN) else {
        return Err(Error::Truncated {
            offset: 0,
            need: USERSA_INFO_LEN,
            have: bytes.len(),
        });
    };
    let family = u16::from_ne_bytes([b[212], b[213]]);
    let addr = |at: usize| {
        let mut raw = [0u8; 16];
        raw.copy_from_slice(&b[at..at + 16]);
        address(&raw, family).ok_or(Error::BadFamily {
            offset: 212,
            family,
        })
    };
    Ok(Sa {
        family,
        proto: b[76],
        spi: u32::from_be_bytes([b[72], b[73], b[74], b[75]]),
        src: addr(80)?,
        dst: addr(56)?,
        mode: b[214],
        reqid: u32::from_ne_bytes([b[208], b[209], b[210], b[211]]),
    })
}

/// Decode a whole `XFRM_MSG_NEWSA` message as received. Offsets in errors
/// count from the start of `msg`. In this order: fewer than 16 bytes is
/// `Truncated` at 0; an `nlmsg_len` below 16 or beyond `msg.len()` is
/// `BadLength`; another type is `NotNewSa`; then the `xfrm_usersa_info`
/// that follows the header, within `nlmsg_len`, as [`decode_usersa_info`]
/// decodes it, with its errors' offsets moved to count from `msg`'s start.
pub fn decode_newsa(msg: &[u8]) -> Result<Sa, Error> {
    let Some(h) = msg.get(..NLMSG_HDRLEN) else {
        return Err(Error::Truncated {
            offset: 0,
            need: NLMSG_HDRLEN,
            have: msg.len(),
        });
    };
    let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
    if len < NLMSG_HDRLEN || len > msg.len() {
        return Err(Error::BadLength {
            len,
            have: msg.len(),
        });
    }
    let nlmsg_type = u16::from_ne_bytes([h[4], h[5]]);
    if nlmsg_type != XFRM_MSG_NEWSA {
        return Err(Error::NotNewSa { nlmsg_type });
    }
    decode_usersa_info(&msg[NLMSG_HDRLEN..len]).map_err(|e| match e {
        Error::Truncated { offset, need, have } => Error::Truncated {
            offset: offset + NLMSG_HDRLEN,
            need,
            have,
        },
        Error::BadFamily { offset, family } => Error::BadFamily {
            offset: offset + NLMSG_HDRLEN,
            family,
        },
        other => other,
    })
}
