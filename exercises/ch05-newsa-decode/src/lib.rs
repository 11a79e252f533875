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
//! Your task: replace each `todo!()` below. `cargo xtask exercise` checks your work.

// The parameters are unused until you write the bodies.
#![allow(unused_variables)]

use std::net::IpAddr;

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
    // TODO: std::net::Ipv4Addr::new(a, b, c, d) and Ipv6Addr::from([u8; 16]).
    todo!()
}

/// Decode the fields of [`Sa`] from a `struct xfrm_usersa_info` at the
/// start of `bytes` (more bytes may follow). Offsets in errors count from
/// the start of `bytes`: fewer than 224 bytes is `Truncated` at offset 0;
/// a family other than `AF_INET`/`AF_INET6` is `BadFamily` at offset 212.
pub fn decode_usersa_info(bytes: &[u8]) -> Result<Sa, Error> {
    // TODO: check the length first, then read each field at its offset:
    // u16/u32 with from_ne_bytes, the SPI with from_be_bytes.
    todo!()
}

/// Decode a whole `XFRM_MSG_NEWSA` message as received. Offsets in errors
/// count from the start of `msg`. In this order: fewer than 16 bytes is
/// `Truncated` at 0; an `nlmsg_len` below 16 or beyond `msg.len()` is
/// `BadLength`; another type is `NotNewSa`; then the `xfrm_usersa_info`
/// that follows the header, within `nlmsg_len`, as [`decode_usersa_info`]
/// decodes it, with its errors' offsets moved to count from `msg`'s start.
pub fn decode_newsa(msg: &[u8]) -> Result<Sa, Error> {
    // TODO: the header's fields are host byte order.
    todo!()
}
