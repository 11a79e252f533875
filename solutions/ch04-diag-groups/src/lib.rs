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
    if group == 0 || bits_per_long == 0 {
        return None;
    }
    let nr = group - 1;
    Some(((nr / bits_per_long) as usize, nr % bits_per_long))
}

/// The bit of `group` in a `u32` `nl_groups` mask: groups 1 to 32 only.
pub const fn nl_groups_bit(group: u32) -> Option<u32> {
    if group == 0 || group > 32 {
        return None;
    }
    Some(1 << (group - 1))
}

/// The groups set in a copy of the kernel's `unsigned long` array laid out
/// as `layout` says; `None` if `bytes` is not whole longs.
pub fn decode_groups(bytes: &[u8], layout: Layout) -> Option<Vec<u32>> {
    let size = layout.long_bytes;
    if size == 0 || size > 8 || !bytes.len().is_multiple_of(size) {
        return None;
    }
    let mut groups = Vec::new();
    for (w, chunk) in bytes.chunks_exact(size).enumerate() {
        let mut word: u64 = 0;
        let ordered: Vec<u8> = if layout.big_endian {
            chunk.to_vec()
        } else {
            chunk.iter().rev().copied().collect()
        };
        for b in ordered {
            word = word << 8 | u64::from(b);
        }
        for bit in 0..size * 8 {
            if word >> bit & 1 == 1 {
                groups.push((w * size * 8 + bit + 1) as u32);
            }
        }
    }
    Some(groups)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Decode one reply payload, checking every length before using it, on
/// this machine (its group bitmap is in [`HOST`] layout).
pub fn parse_diag_msg(payload: &[u8]) -> Result<Socket, Error> {
    if payload.len() < NETLINK_DIAG_MSG_LEN {
        return Err(Error::Truncated {
            offset: 0,
            need: NETLINK_DIAG_MSG_LEN,
            have: payload.len(),
        });
    }
    let mut socket = Socket {
        protocol: payload[2],
        portid: u32_at(payload, 4),
        inode: u32_at(payload, 16),
        groups: None,
    };
    let mut at = NETLINK_DIAG_MSG_LEN;
    while at < payload.len() {
        let have = payload.len() - at;
        if have < 4 {
            return Err(Error::Truncated {
                offset: at,
                need: 4,
                have,
            });
        }
        let len = usize::from(u16::from_ne_bytes([payload[at], payload[at + 1]]));
        let kind = u16::from_ne_bytes([payload[at + 2], payload[at + 3]]);
        if len < 4 || len > have {
            return Err(Error::BadAttrLen { offset: at, len });
        }
        if kind == NETLINK_DIAG_GROUPS {
            let bytes = &payload[at + 4..at + len];
            socket.groups = Some(decode_groups(bytes, HOST).ok_or(Error::BadGroupsLen {
                offset: at + 4,
                len: bytes.len(),
            })?);
        }
        at += (len + 3) & !3;
    }
    Ok(socket)
}
