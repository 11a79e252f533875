//! The netlink message header: its layout, its alignment rules, a walker over
//! the messages in one datagram, a builder, and the `NLMSG_ERROR` payload.
//!
//! Every netlink message starts with the same 16 bytes (`netlink.h`):
//!
//! ```text
//!  0               4       6       8               12              16
//!  +---------------+-------+-------+---------------+---------------+--------
//!  | nlmsg_len u32 | type  | flags | nlmsg_seq u32 | nlmsg_pid u32 | payload
//!  +---------------+-------+-------+---------------+---------------+--------
//! ```
//!
//! in host byte order. `nlmsg_len` counts the header and the payload but not
//! the padding after it; the next message starts at the next multiple of 4.

use std::fmt;

use crate::errno::Errno;
use crate::rtattr::RtAttrIter;
use crate::uapi::{
    NLA_TYPE_MASK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSGERR_ATTR_MISS_TYPE, NLMSGERR_ATTR_MSG,
    NLMSGERR_ATTR_OFFS,
};

// ANCHOR: align
/// Messages (and their headers) start on 4-byte boundaries (`NLMSG_ALIGNTO`).
pub const NLMSG_ALIGNTO: usize = 4;

/// `NLMSG_ALIGN(len)`: round `len` up to the next multiple of 4.
pub const fn nlmsg_align(len: usize) -> usize {
    (len + NLMSG_ALIGNTO - 1) & !(NLMSG_ALIGNTO - 1)
}

/// `NLMSG_HDRLEN`: the header's size, already aligned: 16.
pub const NLMSG_HDRLEN: usize = nlmsg_align(NlMsgHdr::LEN);

/// `NLMSG_LENGTH(len)`: the `nlmsg_len` of a message with a `len`-byte
/// payload. No padding at the end: this is what goes in the header.
pub const fn nlmsg_length(len: usize) -> usize {
    len + NLMSG_HDRLEN
}

/// `NLMSG_SPACE(len)`: the room a message with a `len`-byte payload takes in
/// a buffer, padding included: where the next message would start.
pub const fn nlmsg_space(len: usize) -> usize {
    nlmsg_align(nlmsg_length(len))
}
// ANCHOR_END: align

// ANCHOR: header
/// `struct nlmsghdr`, decoded. On the wire all fields are in host byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NlMsgHdr {
    /// Length of the message: header plus payload, without trailing padding.
    pub nlmsg_len: u32,
    /// What the payload is: `NLMSG_ERROR`, `NLMSG_DONE`, `RTM_NEWLINK`, ...
    pub nlmsg_type: u16,
    /// `NLM_F_*` flags.
    pub nlmsg_flags: u16,
    /// Chosen by the requester; replies copy it, so it pairs them up.
    pub nlmsg_seq: u32,
    /// The sending socket's port id (0 for the kernel).
    pub nlmsg_pid: u32,
}

impl NlMsgHdr {
    /// `sizeof(struct nlmsghdr)`.
    pub const LEN: usize = 16;

    /// The 16 bytes of this header, as they go on the wire.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0..4].copy_from_slice(&self.nlmsg_len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.nlmsg_type.to_ne_bytes());
        b[6..8].copy_from_slice(&self.nlmsg_flags.to_ne_bytes());
        b[8..12].copy_from_slice(&self.nlmsg_seq.to_ne_bytes());
        b[12..16].copy_from_slice(&self.nlmsg_pid.to_ne_bytes());
        b
    }

    /// Decode the header at the start of `bytes`; `None` if fewer than 16
    /// bytes are there. Says nothing about whether `nlmsg_len` is sane: that
    /// is [`NlMsgIter`]'s job.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let b: &[u8; Self::LEN] = bytes.get(..Self::LEN)?.try_into().ok()?;
        Some(NlMsgHdr {
            nlmsg_len: u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
            nlmsg_type: u16::from_ne_bytes([b[4], b[5]]),
            nlmsg_flags: u16::from_ne_bytes([b[6], b[7]]),
            nlmsg_seq: u32::from_ne_bytes([b[8], b[9], b[10], b[11]]),
            nlmsg_pid: u32::from_ne_bytes([b[12], b[13], b[14], b[15]]),
        })
    }
}
// ANCHOR_END: header

/// Input that does not hold together: which structure, where, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// The structure being decoded: `"nlmsghdr"`, `"rtattr"`, `"nlmsgerr"`, ...
    pub what: &'static str,
    /// Byte offset of that structure in the buffer given to the walker.
    pub offset: usize,
    /// What is wrong with it.
    pub problem: Problem,
}

/// The ways a length-prefixed structure can be broken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Fewer bytes are left than the structure's fixed part needs.
    Truncated {
        /// Bytes left in the buffer.
        have: usize,
        /// Bytes the fixed part needs.
        need: usize,
    },
    /// The length field is smaller than the header that contains it.
    LengthTooSmall {
        /// The length field.
        len: usize,
        /// The header's size.
        min: usize,
    },
    /// The length field reaches past the end of the buffer.
    LengthPastEnd {
        /// The length field.
        len: usize,
        /// Bytes left in the buffer.
        have: usize,
    },
    /// Anything else, said in words.
    Invalid(String),
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed {} at offset {}: ", self.what, self.offset)?;
        match &self.problem {
            Problem::Truncated { have, need } => {
                write!(f, "needs {need} bytes, only {have} left")
            }
            Problem::LengthTooSmall { len, min } => {
                write!(f, "length {len} is smaller than its {min}-byte header")
            }
            Problem::LengthPastEnd { len, have } => {
                write!(f, "length {len} runs past the end ({have} bytes left)")
            }
            Problem::Invalid(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Malformed {}

/// One message found by [`NlMsgIter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NlMsg<'a> {
    /// The decoded header.
    pub header: NlMsgHdr,
    /// The payload: `nlmsg_len - 16` bytes, padding excluded.
    pub payload: &'a [u8],
    /// Where the message starts in the walked buffer.
    pub offset: usize,
}

// ANCHOR: walk
/// Walks the messages packed in one received datagram, like the kernel's
/// `NLMSG_OK` / `NLMSG_NEXT`, but checking every length before using it.
///
/// Yields `Err` once, for the first malformed message, and then stops: after
/// a bad `nlmsg_len` there is no telling where the next message starts.
#[derive(Clone, Debug)]
pub struct NlMsgIter<'a> {
    buf: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> NlMsgIter<'a> {
    /// Walk `buf`: the bytes one `recv` returned, no more.
    pub fn new(buf: &'a [u8]) -> Self {
        NlMsgIter {
            buf,
            offset: 0,
            failed: false,
        }
    }

    fn fail(&mut self, problem: Problem) -> Option<Result<NlMsg<'a>, Malformed>> {
        self.failed = true;
        Some(Err(Malformed {
            what: "nlmsghdr",
            offset: self.offset,
            problem,
        }))
    }
}

impl<'a> Iterator for NlMsgIter<'a> {
    type Item = Result<NlMsg<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.buf.get(self.offset..).unwrap_or_default();
        if self.failed || rest.is_empty() {
            return None;
        }
        // NLMSG_OK, part 1: a whole header must be there.
        let Some(header) = NlMsgHdr::from_bytes(rest) else {
            return self.fail(Problem::Truncated {
                have: rest.len(),
                need: NlMsgHdr::LEN,
            });
        };
        // NLMSG_OK, parts 2 and 3: the length covers the header and stays
        // inside the buffer.
        let len = header.nlmsg_len as usize;
        if len < NLMSG_HDRLEN {
            return self.fail(Problem::LengthTooSmall {
                len,
                min: NLMSG_HDRLEN,
            });
        }
        let Some(payload) = rest.get(NLMSG_HDRLEN..len) else {
            return self.fail(Problem::LengthPastEnd {
                len,
                have: rest.len(),
            });
        };
        let msg = NlMsg {
            header,
            payload,
            offset: self.offset,
        };
        // NLMSG_NEXT: skip the padding too. The last message may end
        // unpadded; the next call then finds nothing left.
        self.offset += nlmsg_align(len);
        Some(Ok(msg))
    }
}
// ANCHOR_END: walk

// ANCHOR: nlmsgerr
/// The payload of an `NLMSG_ERROR` message (`struct nlmsgerr`): an error
/// code, the header of the request it answers, and, with extended ACKs on,
/// the kernel's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NlMsgErr<'a> {
    /// 0 for an ACK, else a negative errno.
    pub error: i32,
    /// The header of the request this answers (its seq pairs them up).
    pub request: NlMsgHdr,
    /// The extended ACK's text (`NLMSGERR_ATTR_MSG`), if the kernel sent one.
    pub message: Option<&'a str>,
    /// Where in the request the attribute at fault starts, counted from the
    /// request's first byte (`NLMSGERR_ATTR_OFFS`), if the kernel said.
    pub bad_attr_offset: Option<u32>,
    /// The type of a required attribute the request lacked
    /// (`NLMSGERR_ATTR_MISS_TYPE`), if that was the problem.
    pub missing_attr_type: Option<u32>,
}

impl<'a> NlMsgErr<'a> {
    /// Decode the payload of `msg`, which must be an `NLMSG_ERROR` message.
    pub fn parse(msg: &NlMsg<'a>) -> Result<Self, Malformed> {
        let p = msg.payload;
        let malformed = |problem| Malformed {
            what: "nlmsgerr",
            offset: msg.offset + NLMSG_HDRLEN,
            problem,
        };
        let (Some(code), Some(request)) = (p.get(..4), p.get(4..).and_then(NlMsgHdr::from_bytes))
        else {
            return Err(malformed(Problem::Truncated {
                have: p.len(),
                need: 4 + NlMsgHdr::LEN,
            }));
        };
        let error = i32::from_ne_bytes([code[0], code[1], code[2], code[3]]);
        let mut message = None;
        let mut bad_attr_offset = None;
        let mut missing_attr_type = None;
        if msg.header.nlmsg_flags & NLM_F_ACK_TLVS != 0 {
            // The attributes follow the echoed request: just its header when
            // the ACK is capped, else the whole request, padded.
            let echoed = if msg.header.nlmsg_flags & NLM_F_CAPPED != 0 {
                NlMsgHdr::LEN
            } else {
                nlmsg_align(request.nlmsg_len as usize)
            };
            let start = 4 + echoed;
            let Some(tlvs) = p.get(start..) else {
                return Err(malformed(Problem::LengthPastEnd {
                    len: start,
                    have: p.len(),
                }));
            };
            for attr in RtAttrIter::at(tlvs, msg.offset + NLMSG_HDRLEN + start) {
                let attr = attr?;
                match attr.rta_type & NLA_TYPE_MASK {
                    NLMSGERR_ATTR_MSG => message = attr.cstr(),
                    NLMSGERR_ATTR_OFFS => bad_attr_offset = attr.u32(),
                    NLMSGERR_ATTR_MISS_TYPE => missing_attr_type = attr.u32(),
                    _ => {}
                }
            }
        }
        Ok(NlMsgErr {
            error,
            request,
            message,
            bad_attr_offset,
            missing_attr_type,
        })
    }

    /// The errno this reports, or `None` for an ACK (error 0).
    pub fn errno(&self) -> Option<Errno> {
        (self.error != 0).then(|| Errno(self.error.saturating_neg()))
    }
}
// ANCHOR_END: nlmsgerr

// ANCHOR: builder
/// Builds one netlink message: the header, a fixed family header, then
/// attributes, each padded to 4 bytes; `finish` writes `nlmsg_len`.
#[derive(Clone, Debug)]
pub struct MsgBuilder {
    buf: Vec<u8>,
    too_long: bool,
}

/// A message or attribute grew past what its length field can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLong;

impl fmt::Display for TooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("message too long for its length field (rta_len is 16 bits)")
    }
}

impl std::error::Error for TooLong {}

impl MsgBuilder {
    /// Start a message. `nlmsg_pid` stays 0: the kernel knows who sent it.
    pub fn new(nlmsg_type: u16, nlmsg_flags: u16, nlmsg_seq: u32) -> Self {
        let header = NlMsgHdr {
            nlmsg_len: 0, // written by finish()
            nlmsg_type,
            nlmsg_flags,
            nlmsg_seq,
            nlmsg_pid: 0,
        };
        MsgBuilder {
            buf: header.to_bytes().to_vec(),
            too_long: false,
        }
    }

    fn pad(&mut self) {
        self.buf.resize(nlmsg_align(self.buf.len()), 0);
    }

    /// Append a fixed-size structure (e.g. `struct ifinfomsg`), padded.
    pub fn fixed(mut self, bytes: &[u8]) -> Self {
        self.buf.extend_from_slice(bytes);
        self.pad();
        self
    }

    /// Append an attribute: 2-byte `rta_len`, 2-byte `rta_type`, payload,
    /// padding. `rta_len` counts header and payload, not the padding.
    pub fn attr(mut self, rta_type: u16, payload: &[u8]) -> Self {
        let Ok(rta_len) = u16::try_from(crate::rtattr::RTA_HDRLEN + payload.len()) else {
            self.too_long = true;
            return self;
        };
        self.buf.extend_from_slice(&rta_len.to_ne_bytes());
        self.buf.extend_from_slice(&rta_type.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.pad();
        self
    }

    /// Append a string attribute, NUL-terminated as the kernel expects.
    pub fn attr_str(self, rta_type: u16, s: &str) -> Self {
        let mut payload = Vec::with_capacity(s.len() + 1);
        payload.extend_from_slice(s.as_bytes());
        payload.push(0);
        self.attr(rta_type, &payload)
    }

    /// Append an attribute whose payload is what `inner` appends; its
    /// `rta_len` covers everything `inner` wrote, padding included.
    pub fn nested(mut self, rta_type: u16, inner: impl FnOnce(Self) -> Self) -> Self {
        let start = self.buf.len();
        self = self.attr(rta_type, &[]);
        self = inner(self);
        match u16::try_from(self.buf.len() - start) {
            Ok(len) => self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes()),
            Err(_) => self.too_long = true,
        }
        self
    }

    /// Write `nlmsg_len` and return the bytes to send.
    pub fn finish(mut self) -> Result<Vec<u8>, TooLong> {
        let len = u32::try_from(self.buf.len()).map_err(|_| TooLong)?;
        if self.too_long {
            return Err(TooLong);
        }
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        Ok(self.buf)
    }
}
// ANCHOR_END: builder

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uapi::{NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR};

    fn message(ty: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let header = NlMsgHdr {
            nlmsg_len: nlmsg_length(payload.len()) as u32,
            nlmsg_type: ty,
            nlmsg_flags: 0,
            nlmsg_seq: seq,
            nlmsg_pid: 0,
        };
        let mut v = header.to_bytes().to_vec();
        v.extend_from_slice(payload);
        v.resize(nlmsg_align(v.len()), 0);
        v
    }

    #[test]
    fn alignment_macros() {
        assert_eq!(NLMSG_HDRLEN, 16);
        let aligned: Vec<usize> = (0..=9).map(nlmsg_align).collect();
        assert_eq!(aligned, [0, 4, 4, 4, 4, 8, 8, 8, 8, 12]);
        assert_eq!(nlmsg_length(0), 16);
        assert_eq!(nlmsg_length(6), 22);
        assert_eq!(nlmsg_space(0), 16);
        assert_eq!(nlmsg_space(6), 24);
        assert_eq!(nlmsg_space(16), 32);
        // Usable in constants: buffer sizes known at compile time.
        const SPACE: usize = nlmsg_space(crate::uapi::IFINFOMSG_LEN);
        assert_eq!(SPACE, 32);
    }

    #[test]
    fn header_round_trip() {
        let h = NlMsgHdr {
            nlmsg_len: 32,
            nlmsg_type: 18,
            nlmsg_flags: 0x301,
            nlmsg_seq: 1,
            nlmsg_pid: 0,
        };
        let b = h.to_bytes();
        assert_eq!(&b[0..4], &32u32.to_ne_bytes());
        assert_eq!(&b[6..8], &0x301u16.to_ne_bytes());
        assert_eq!(NlMsgHdr::from_bytes(&b), Some(h));
        assert_eq!(NlMsgHdr::from_bytes(&b[..15]), None);
    }

    #[test]
    fn walks_several_messages_with_padding() {
        let mut buf = message(0x10, 1, b"hello\0"); // 22 bytes + 2 padding
        buf.extend(message(0x11, 2, b""));
        buf.extend(message(NLMSG_DONE, 3, &0i32.to_ne_bytes()));
        let msgs: Vec<NlMsg> = NlMsgIter::new(&buf).map(Result::unwrap).collect();
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[0].header.nlmsg_len, 22);
        assert_eq!(msgs[0].payload, b"hello\0");
        assert_eq!(msgs[1].offset, 24);
        assert_eq!(msgs[1].payload, b"");
        assert_eq!(msgs[2].offset, 40);
        assert_eq!(msgs[2].header.nlmsg_type, NLMSG_DONE);
    }

    #[test]
    fn last_message_may_end_unpadded() {
        let mut buf = message(0x10, 1, b"abc");
        buf.truncate(19);
        let msgs: Vec<_> = NlMsgIter::new(&buf).collect();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].as_ref().unwrap().payload, b"abc");
    }

    #[test]
    fn empty_buffer_has_no_messages() {
        assert_eq!(NlMsgIter::new(&[]).count(), 0);
    }

    #[test]
    fn short_header_is_an_error_naming_the_offset() {
        let mut buf = message(0x10, 1, b"");
        buf.extend_from_slice(&[1, 2, 3, 4, 5]);
        let items: Vec<_> = NlMsgIter::new(&buf).collect();
        assert_eq!(items.len(), 2);
        let err = items[1].clone().unwrap_err();
        assert_eq!(err.offset, 16);
        assert_eq!(err.problem, Problem::Truncated { have: 5, need: 16 });
        assert_eq!(
            err.to_string(),
            "malformed nlmsghdr at offset 16: needs 16 bytes, only 5 left"
        );
    }

    #[test]
    fn length_smaller_than_header_is_an_error() {
        let mut buf = message(0x10, 1, b"");
        buf[0..4].copy_from_slice(&8u32.to_ne_bytes());
        let err = NlMsgIter::new(&buf).next().unwrap().unwrap_err();
        assert_eq!(err.problem, Problem::LengthTooSmall { len: 8, min: 16 });
        // Zero must not loop forever.
        buf[0..4].copy_from_slice(&0u32.to_ne_bytes());
        assert_eq!(NlMsgIter::new(&buf).count(), 1);
    }

    #[test]
    fn length_past_the_end_is_an_error_and_stops_the_walk() {
        let mut buf = message(0x10, 1, b"abcd");
        buf.extend(message(0x10, 2, b"efgh"));
        buf[20..24].copy_from_slice(&u32::MAX.to_ne_bytes());
        let items: Vec<_> = NlMsgIter::new(&buf).collect();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        let err = items[1].clone().unwrap_err();
        assert_eq!(err.offset, 20);
        assert_eq!(
            err.to_string(),
            "malformed nlmsghdr at offset 20: length 4294967295 runs past the end (20 bytes left)"
        );
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        // A cheap deterministic fuzz: every length field value near the
        // interesting edges, in buffers of every small size.
        for size in 0..64 {
            for len in [0u32, 1, 15, 16, 17, 19, 20, 63, 64, 65, u32::MAX] {
                let mut buf = vec![0xa5u8; size];
                if size >= 4 {
                    buf[0..4].copy_from_slice(&len.to_ne_bytes());
                }
                for m in NlMsgIter::new(&buf).flatten() {
                    assert!(m.payload.len() + NLMSG_HDRLEN <= size);
                }
            }
        }
    }

    #[test]
    fn builder_pads_and_writes_length() {
        let bytes = MsgBuilder::new(0x10, NLM_F_REQUEST, 7)
            .fixed(&[1, 2, 3])
            .attr_str(3, "lo")
            .nested(18, |b| b.attr_str(1, "veth"))
            .finish()
            .unwrap();
        // 16 header + 4 (3 padded) + 8 ("lo\0" attr: 7 padded) + 4 nest + 12 ("veth\0": 9 padded)
        assert_eq!(bytes.len(), 44);
        let msg = NlMsgIter::new(&bytes).next().unwrap().unwrap();
        assert_eq!(msg.header.nlmsg_len, 44);
        assert_eq!(msg.header.nlmsg_seq, 7);
        assert_eq!(&msg.payload[..4], &[1, 2, 3, 0]);
        let attrs: Vec<_> = RtAttrIter::new(&msg.payload[4..])
            .map(Result::unwrap)
            .collect();
        assert_eq!(attrs[0].cstr(), Some("lo"));
        assert_eq!(attrs[1].rta_type, 18);
        assert_eq!(attrs[1].payload.len(), 12);
        let inner: Vec<_> = attrs[1].nested().map(Result::unwrap).collect();
        assert_eq!(inner[0].cstr(), Some("veth"));
    }

    #[test]
    fn builder_refuses_oversized_attributes() {
        let big = vec![0u8; 70_000];
        assert_eq!(
            MsgBuilder::new(0x10, 0, 1).attr(1, &big).finish(),
            Err(TooLong)
        );
    }

    fn error_message(error: i32, flags: u16, request: &[u8], tlvs: &[u8]) -> Vec<u8> {
        let mut payload = error.to_ne_bytes().to_vec();
        payload.extend_from_slice(request);
        payload.extend_from_slice(tlvs);
        let mut m = message(NLMSG_ERROR, 5, &payload);
        m[6..8].copy_from_slice(&flags.to_ne_bytes());
        m
    }

    #[test]
    fn nlmsgerr_ack_and_error() {
        let request = MsgBuilder::new(16, NLM_F_REQUEST, 5).finish().unwrap();
        let ack = error_message(0, NLM_F_CAPPED, &request, &[]);
        let msg = NlMsgIter::new(&ack).next().unwrap().unwrap();
        let e = NlMsgErr::parse(&msg).unwrap();
        assert_eq!(e.errno(), None);
        assert_eq!(e.request.nlmsg_seq, 5);

        let tlv = MsgBuilder::new(0, 0, 0)
            .attr_str(NLMSGERR_ATTR_MSG, "Unknown device type")
            .attr(NLMSGERR_ATTR_OFFS, &36u32.to_ne_bytes())
            .attr(NLMSGERR_ATTR_MISS_TYPE, &3u32.to_ne_bytes())
            .finish()
            .unwrap();
        let err = error_message(
            -libc::EOPNOTSUPP,
            NLM_F_ACK_TLVS,
            &request,
            &tlv[NLMSG_HDRLEN..],
        );
        let msg = NlMsgIter::new(&err).next().unwrap().unwrap();
        let e = NlMsgErr::parse(&msg).unwrap();
        assert_eq!(e.errno(), Some(Errno(libc::EOPNOTSUPP)));
        assert_eq!(e.message, Some("Unknown device type"));
        assert_eq!(e.bad_attr_offset, Some(36));
        assert_eq!(e.missing_attr_type, Some(3));
    }

    #[test]
    fn nlmsgerr_too_short_is_malformed() {
        let m = message(NLMSG_ERROR, 1, &[0, 0, 0, 0, 1, 2]);
        let msg = NlMsgIter::new(&m).next().unwrap().unwrap();
        let err = NlMsgErr::parse(&msg).unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed nlmsgerr at offset 16: needs 20 bytes, only 6 left"
        );
    }

    #[test]
    fn nlmsgerr_with_lying_request_length_is_malformed() {
        let mut request = MsgBuilder::new(16, NLM_F_REQUEST, 5).finish().unwrap();
        request[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        let m = error_message(-libc::EINVAL, NLM_F_ACK_TLVS, &request, &[]);
        let msg = NlMsgIter::new(&m).next().unwrap().unwrap();
        assert!(NlMsgErr::parse(&msg).is_err());
    }
}
