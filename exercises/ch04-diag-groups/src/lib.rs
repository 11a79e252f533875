//! Chapter 4 exercise: group bits, and a socket as `netlink_diag` describes it.
//!
//! Netlink groups are numbered from 1; group `g` is bit `g - 1` of a
//! bitmap. The kernel keeps bitmaps as arrays of `unsigned long` and reads
//! them with `test_bit(nr, map)`: word `nr / BITS_PER_LONG`, bit
//! `nr % BITS_PER_LONG`.
//!
//! A `SOCK_DIAG_BY_FAMILY` reply for a netlink socket carries a 28-byte
//! `struct netlink_diag_msg` (`<linux/netlink_diag.h>`), host byte order:
//!
//! ```text
//!  offset  size  field
//!  0       1     ndiag_family     AF_NETLINK (16)
//!  1       1     ndiag_type
//!  2       1     ndiag_protocol
//!  3       1     ndiag_state
//!  4       4     ndiag_portid
//!  8       4     ndiag_dst_portid
//!  12      4     ndiag_dst_group
//!  16      4     ndiag_ino
//!  20      8     ndiag_cookie
//! ```
//!
//! then attributes: each a 4-byte header (`u16` length counting the header,
//! `u16` type), its payload, and padding to the next multiple of 4.
//! `NETLINK_DIAG_GROUPS` (type 1) carries the socket's bitmap exactly as the
//! kernel keeps it: `unsigned long`s, in the kernel's byte order.
//!
//! Your task: replace each `todo!()` below. `cargo xtask exercise` checks your work.

// The parameters are unused until you write the bodies.
#![allow(unused_variables)]

/// The size of `struct netlink_diag_msg`.
pub const NETLINK_DIAG_MSG_LEN: usize = 28;

/// The attribute type of the group bitmap.
pub const NETLINK_DIAG_GROUPS: u16 = 1;

/// How the kernel lays out an `unsigned long`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// `sizeof(unsigned long)`: 8 or 4.
    pub long_bytes: usize,
    /// Big-endian (s390x) or little-endian (x86).
    pub big_endian: bool,
}

/// The layout of the machine this runs on, which is its kernel's.
pub const HOST: Layout = Layout {
    long_bytes: std::mem::size_of::<usize>(),
    big_endian: cfg!(target_endian = "big"),
};

/// One socket, as decoded from a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Socket {
    /// `ndiag_protocol`.
    pub protocol: u8,
    /// `ndiag_portid`.
    pub portid: u32,
    /// `ndiag_ino`.
    pub inode: u32,
    /// The groups of `NETLINK_DIAG_GROUPS`, ascending; `None` without it.
    pub groups: Option<Vec<u32>>,
}

/// What is wrong with a reply, and where: offsets count from the start of
/// the `netlink_diag_msg`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Fewer bytes are left than a structure needs (the 28-byte fixed
    /// part, or a 4-byte attribute header).
    Truncated {
        /// Where the structure starts.
        offset: usize,
        /// Bytes it needs.
        need: usize,
        /// Bytes left.
        have: usize,
    },
    /// An attribute's length is below 4 or runs past the end.
    BadAttrLen {
        /// Where the attribute starts.
        offset: usize,
        /// Its length field.
        len: usize,
    },
    /// The payload of `NETLINK_DIAG_GROUPS` is not whole `unsigned long`s.
    BadGroupsLen {
        /// Where the payload starts.
        offset: usize,
        /// Its length.
        len: usize,
    },
}

/// Where `test_bit(group - 1, map)` looks with `bits_per_long`-bit words:
/// `(word, bit)`. `None` for group 0 and for `bits_per_long` 0.
pub const fn kernel_position(group: u32, bits_per_long: u32) -> Option<(usize, u32)> {
    // TODO: group 0 has no bit (and a word of 0 bits makes no sense):
    // None. Otherwise nr = group - 1; the kernel's BIT_WORD(nr) and the bit
    // within that word.
    todo!()
}

/// The bit of `group` in a `u32` `nl_groups` mask: groups 1 to 32 only.
pub const fn nl_groups_bit(group: u32) -> Option<u32> {
    // TODO: only groups 1 to 32 fit in a u32.
    todo!()
}

/// The groups set in a copy of the kernel's `unsigned long` array laid out
/// as `layout` says; `None` if `bytes` is not whole longs.
pub fn decode_groups(bytes: &[u8], layout: Layout) -> Option<Vec<u32>> {
    // TODO: check that bytes are whole longs of layout.long_bytes (4 or 8);
    // read each long in layout's byte order; every set bit b of long w is
    // group w * BITS_PER_LONG + b + 1. Return them ascending.
    todo!()
}

/// Decode one reply payload, checking every length before using it, on
/// this machine (its group bitmap is in [`HOST`] layout).
pub fn parse_diag_msg(payload: &[u8]) -> Result<Socket, Error> {
    // TODO:
    // 1. At least NETLINK_DIAG_MSG_LEN bytes, or Error::Truncated at 0.
    // 2. protocol, portid and inode from their offsets (host byte order).
    // 3. Walk the attributes from offset 28: a 4-byte header must be there
    //    (Error::Truncated), its length must be >= 4 and fit in what is
    //    left (Error::BadAttrLen), and the next one starts at the length
    //    rounded up to a multiple of 4.
    // 4. Decode NETLINK_DIAG_GROUPS with decode_groups(.., HOST); partial
    //    longs are Error::BadGroupsLen at the payload's offset. Skip the
    //    other attributes.
    todo!()
}
