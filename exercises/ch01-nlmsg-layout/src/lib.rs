//! Chapter 1 exercise: the netlink message layout, by hand.
//!
//! Every netlink message starts with a 16-byte `struct nlmsghdr`
//! (`<linux/netlink.h>`), in host byte order:
//!
//! ```text
//!  offset  size  field
//!  0       4     nlmsg_len    header + payload, without trailing padding
//!  4       2     nlmsg_type
//!  6       2     nlmsg_flags
//!  8       4     nlmsg_seq
//!  12      4     nlmsg_pid
//! ```
//!
//! One datagram can carry several messages back to back; each starts at a
//! multiple of 4 (`NLMSG_ALIGNTO`), so padding may follow a payload.
//!
//! Your task: replace each `todo!()` below. `cargo xtask exercise` checks your work.

// The parameters are unused until you write the bodies.
#![allow(unused_variables)]

use std::fmt;

/// Messages start at multiples of this (`NLMSG_ALIGNTO`).
pub const NLMSG_ALIGNTO: usize = 4;

/// The header's size (`NLMSG_HDRLEN`).
pub const NLMSG_HDRLEN: usize = 16;

/// `NLMSG_ALIGN(len)`: `len` rounded up to the next multiple of 4.
///
/// `nlmsg_align(5) == 8`, `nlmsg_align(8) == 8`.
///
/// TODO: one line of arithmetic. The kernel's macro adds `NLMSG_ALIGNTO - 1`
/// and masks off the low bits.
pub const fn nlmsg_align(len: usize) -> usize {
    todo!()
}

/// `NLMSG_LENGTH(len)`: the `nlmsg_len` of a message with a `len`-byte
/// payload: header plus payload, no padding.
///
/// `nlmsg_length(6) == 22`.
pub const fn nlmsg_length(len: usize) -> usize {
    todo!()
}

/// `NLMSG_SPACE(len)`: the bytes a message with a `len`-byte payload
/// occupies in a buffer: header, payload and padding.
///
/// `nlmsg_space(6) == 24`.
pub const fn nlmsg_space(len: usize) -> usize {
    todo!()
}

/// The 16 bytes of a `struct nlmsghdr` with these fields, each in host byte
/// order (`to_ne_bytes`), at the offsets in the table above.
pub fn encode_header(len: u32, ty: u16, flags: u16, seq: u32, pid: u32) -> [u8; 16] {
    todo!()
}

/// What is wrong with the message that starts at `offset`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Some bytes remain, but fewer than a header (16).
    Truncated {
        /// Where the message would start.
        offset: usize,
        /// How many bytes remain from there.
        remaining: usize,
    },
    /// `nlmsg_len` is smaller than the header.
    LengthTooSmall {
        /// Where the message starts.
        offset: usize,
        /// Its `nlmsg_len`.
        len: u32,
    },
    /// `nlmsg_len` reaches past the end of the buffer.
    LengthPastEnd {
        /// Where the message starts.
        offset: usize,
        /// Its `nlmsg_len`.
        len: u32,
        /// How many bytes remain from `offset`.
        remaining: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated { offset, remaining } => write!(
                f,
                "offset {offset}: {remaining} bytes left, a header needs {NLMSG_HDRLEN}"
            ),
            Error::LengthTooSmall { offset, len } => write!(
                f,
                "offset {offset}: nlmsg_len {len} is smaller than the {NLMSG_HDRLEN}-byte header"
            ),
            Error::LengthPastEnd {
                offset,
                len,
                remaining,
            } => write!(
                f,
                "offset {offset}: nlmsg_len {len} runs past the end ({remaining} bytes left)"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Every message in `buf`, in order, as `(nlmsg_type, payload)`. The payload
/// is the `nlmsg_len - 16` bytes after the header: no padding.
///
/// Walking: the first message starts at offset 0; after a message whose
/// `nlmsg_len` is `len`, the next starts at `offset + nlmsg_align(len)`. The
/// walk ends when that is at or past the end of `buf` (so the last message
/// may be unpadded). An empty buffer holds no messages.
///
/// Never panics: any problem is an [`Error`] naming the offset of the
/// message at fault, checked in this order: [`Error::Truncated`],
/// [`Error::LengthTooSmall`], [`Error::LengthPastEnd`].
///
/// TODO: a loop over offsets. Check every length before you slice with it:
/// `buf.get(a..b)` returns `None` instead of panicking.
pub fn parse_messages(buf: &[u8]) -> Result<Vec<(u16, Vec<u8>)>, Error> {
    todo!()
}
