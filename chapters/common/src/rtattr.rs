//! Route attributes: the type-length-value records after the fixed header of
//! rtnetlink messages (`struct rtattr` in `rtnetlink.h`; generic netlink's
//! `struct nlattr` has the same layout).
//!
//! ```text
//!  0         2          4
//!  +---------+----------+----------------+---------
//!  | rta_len | rta_type | payload        | padding to 4
//!  +---------+----------+----------------+---------
//! ```
//!
//! `rta_len` counts the 4-byte header and the payload, not the padding.

use crate::nlmsg::{Malformed, Problem};
use crate::uapi::{NLA_F_NESTED, NLA_TYPE_MASK};

/// Attributes start on 4-byte boundaries (`RTA_ALIGNTO`).
pub const RTA_ALIGNTO: usize = 4;

/// `sizeof(struct rtattr)`: `rta_len` u16 and `rta_type` u16.
pub const RTA_HDRLEN: usize = 4;

/// `RTA_ALIGN(len)`: round `len` up to the next multiple of 4.
pub const fn rta_align(len: usize) -> usize {
    (len + RTA_ALIGNTO - 1) & !(RTA_ALIGNTO - 1)
}

/// One attribute found by [`RtAttrIter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtAttr<'a> {
    /// The type as sent, flag bits included (see [`RtAttr::kind`]).
    pub rta_type: u16,
    /// `rta_len - 4` bytes, padding excluded.
    pub payload: &'a [u8],
    /// Where the attribute starts, counted as the walker was told.
    pub offset: usize,
}

impl<'a> RtAttr<'a> {
    /// The type without the `NLA_F_NESTED` / `NLA_F_NET_BYTEORDER` bits.
    pub fn kind(&self) -> u16 {
        self.rta_type & NLA_TYPE_MASK
    }

    /// Whether the sender marked the payload as nested attributes. Many
    /// rtnetlink attributes are nested without the mark (e.g. `IFLA_LINKINFO`).
    pub fn is_marked_nested(&self) -> bool {
        self.rta_type & NLA_F_NESTED != 0
    }

    /// The payload as a host-order u32, if it is exactly 4 bytes.
    pub fn u32(&self) -> Option<u32> {
        let b: [u8; 4] = self.payload.try_into().ok()?;
        Some(u32::from_ne_bytes(b))
    }

    /// The payload as a string: up to the first NUL (the kernel sends one),
    /// or all of it if there is none. `None` if it is not UTF-8.
    pub fn cstr(&self) -> Option<&'a str> {
        cstr(self.payload)
    }

    /// Walk the payload as nested attributes.
    pub fn nested(&self) -> RtAttrIter<'a> {
        RtAttrIter::at(self.payload, self.offset + RTA_HDRLEN)
    }
}

/// `bytes` as a string: up to the first NUL, or all of them if there is
/// none. `None` if that is not UTF-8.
pub fn cstr(bytes: &[u8]) -> Option<&str> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    std::str::from_utf8(&bytes[..end]).ok()
}

// ANCHOR: walk
/// Walks a run of attributes, checking every `rta_len` (the kernel's
/// `RTA_OK` / `RTA_NEXT`). Yields `Err` once for the first malformed
/// attribute, then stops.
#[derive(Clone, Debug)]
pub struct RtAttrIter<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    failed: bool,
}

impl<'a> RtAttrIter<'a> {
    /// Walk `buf`; offsets in errors count from its start.
    pub fn new(buf: &'a [u8]) -> Self {
        Self::at(buf, 0)
    }

    /// Walk `buf`, which sits at offset `base` of some larger buffer; offsets
    /// in attributes and errors count from that buffer's start.
    pub fn at(buf: &'a [u8], base: usize) -> Self {
        RtAttrIter {
            buf,
            pos: 0,
            base,
            failed: false,
        }
    }

    fn fail(&mut self, problem: Problem) -> Option<Result<RtAttr<'a>, Malformed>> {
        self.failed = true;
        Some(Err(Malformed {
            what: "rtattr",
            offset: self.base + self.pos,
            problem,
        }))
    }
}

impl<'a> Iterator for RtAttrIter<'a> {
    type Item = Result<RtAttr<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        if self.failed || rest.is_empty() {
            return None;
        }
        let Some(&[l0, l1, t0, t1]) = rest.get(..RTA_HDRLEN) else {
            return self.fail(Problem::Truncated {
                have: rest.len(),
                need: RTA_HDRLEN,
            });
        };
        let len = usize::from(u16::from_ne_bytes([l0, l1]));
        if len < RTA_HDRLEN {
            return self.fail(Problem::LengthTooSmall {
                len,
                min: RTA_HDRLEN,
            });
        }
        let Some(payload) = rest.get(RTA_HDRLEN..len) else {
            return self.fail(Problem::LengthPastEnd {
                len,
                have: rest.len(),
            });
        };
        let attr = RtAttr {
            rta_type: u16::from_ne_bytes([t0, t1]),
            payload,
            offset: self.base + self.pos,
        };
        self.pos += rta_align(len);
        Some(Ok(attr))
    }
}
// ANCHOR_END: walk

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(ty: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = ((RTA_HDRLEN + payload.len()) as u16).to_ne_bytes().to_vec();
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(payload);
        v.resize(rta_align(v.len()), 0);
        v
    }

    #[test]
    fn align() {
        assert_eq!(rta_align(0), 0);
        assert_eq!(rta_align(5), 8);
        assert_eq!(rta_align(8), 8);
    }

    #[test]
    fn walks_attributes_and_reads_values() {
        let mut buf = attr(3, b"veth0\0");
        buf.extend(attr(4, &1500u32.to_ne_bytes()));
        buf.extend(attr(1, &[2, 0, 0, 0, 0, 1]));
        let attrs: Vec<_> = RtAttrIter::at(&buf, 32).map(Result::unwrap).collect();
        assert_eq!(attrs.len(), 3);
        assert_eq!(attrs[0].cstr(), Some("veth0"));
        assert_eq!(attrs[0].offset, 32);
        assert_eq!(attrs[1].u32(), Some(1500));
        assert_eq!(attrs[1].offset, 44);
        assert_eq!(attrs[2].payload, &[2, 0, 0, 0, 0, 1]);
        assert_eq!(attrs[2].u32(), None);
    }

    #[test]
    fn flag_bits_are_masked_by_kind() {
        let buf = attr(18 | NLA_F_NESTED, &attr(1, b"veth\0"));
        let a = RtAttrIter::new(&buf).next().unwrap().unwrap();
        assert_eq!(a.kind(), 18);
        assert!(a.is_marked_nested());
        let inner = a.nested().next().unwrap().unwrap();
        assert_eq!(inner.cstr(), Some("veth"));
        assert_eq!(inner.offset, 4);
    }

    #[test]
    fn malformed_attributes_name_their_offset() {
        let mut buf = attr(3, b"lo\0");
        buf.extend_from_slice(&[2, 0]);
        let err = RtAttrIter::at(&buf, 100).nth(1).unwrap().unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed rtattr at offset 108: needs 4 bytes, only 2 left"
        );

        let mut buf = attr(3, b"lo\0");
        buf[0..2].copy_from_slice(&2u16.to_ne_bytes());
        let err = RtAttrIter::new(&buf).next().unwrap().unwrap_err();
        assert_eq!(err.problem, Problem::LengthTooSmall { len: 2, min: 4 });

        let mut buf = attr(3, b"lo\0");
        buf[0..2].copy_from_slice(&9u16.to_ne_bytes());
        let items: Vec<_> = RtAttrIter::new(&buf).collect();
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0].clone().unwrap_err().problem,
            Problem::LengthPastEnd { len: 9, have: 8 }
        );
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        for size in 0..24 {
            for len in [0u16, 1, 3, 4, 5, 8, 9, 23, 24, 25, u16::MAX] {
                let mut buf = vec![0x5au8; size];
                if size >= 2 {
                    buf[0..2].copy_from_slice(&len.to_ne_bytes());
                }
                for a in RtAttrIter::new(&buf).flatten() {
                    assert!(a.payload.len() + RTA_HDRLEN <= size);
                    let _ = (a.cstr(), a.u32(), a.nested().count());
                }
            }
        }
    }
}
