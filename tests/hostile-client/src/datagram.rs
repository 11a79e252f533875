//! The datagrams of the battery's cases, built from a well-formed message:
//! headers cut short, lengths that lie, types and flags a module does not
//! expect. Pure functions, so the host tests can check every byte.

use nlbook_common::{NLMSG_HDRLEN, NlMsgHdr, nlmsg_align, nlmsg_length};

/// One message: a header whose `nlmsg_len` is exactly header plus
/// `payload`, then the payload, padded to 4 bytes.
pub fn message(nlmsg_type: u16, nlmsg_flags: u16, nlmsg_seq: u32, payload: &[u8]) -> Vec<u8> {
    let header = NlMsgHdr {
        // A payload too long for the field gets a length that says so.
        nlmsg_len: u32::try_from(nlmsg_length(payload.len())).unwrap_or(u32::MAX),
        nlmsg_type,
        nlmsg_flags,
        nlmsg_seq,
        nlmsg_pid: 0,
    };
    let mut bytes = header.to_bytes().to_vec();
    bytes.extend_from_slice(payload);
    bytes.resize(nlmsg_align(bytes.len()), 0);
    bytes
}

/// Several messages in one datagram, each already padded.
pub fn concat(messages: &[Vec<u8>]) -> Vec<u8> {
    messages.concat()
}

/// The first `len` bytes of `datagram`: with `len` below 16, a header cut
/// short.
pub fn truncated(datagram: &[u8], len: usize) -> Vec<u8> {
    datagram[..len.min(datagram.len())].to_vec()
}

/// `datagram` with its first header's `nlmsg_len` replaced by `claimed`.
pub fn claiming_len(datagram: &[u8], claimed: u32) -> Vec<u8> {
    let mut bytes = datagram.to_vec();
    if bytes.len() >= 4 {
        bytes[0..4].copy_from_slice(&claimed.to_ne_bytes());
    }
    bytes
}

/// `datagram` with its first header's type and flags replaced.
pub fn retyped(datagram: &[u8], nlmsg_type: u16, nlmsg_flags: u16) -> Vec<u8> {
    let mut bytes = datagram.to_vec();
    if bytes.len() >= NLMSG_HDRLEN {
        bytes[4..6].copy_from_slice(&nlmsg_type.to_ne_bytes());
        bytes[6..8].copy_from_slice(&nlmsg_flags.to_ne_bytes());
    }
    bytes
}

/// The header of the first message of `datagram`, if a whole one is there.
pub fn first_header(datagram: &[u8]) -> Option<NlMsgHdr> {
    NlMsgHdr::from_bytes(datagram)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlbook_common::NlMsgIter;
    use nlbook_common::nlmsg::Problem;
    use nlbook_common::uapi::{NLM_F_ACK, NLM_F_REQUEST, NLMSG_NOOP};

    #[test]
    fn message_has_an_exact_length_and_padding() {
        let m = message(0x10, NLM_F_REQUEST, 7, b"hello");
        assert_eq!(m.len(), 24);
        let h = first_header(&m).unwrap();
        assert_eq!(
            (
                h.nlmsg_len,
                h.nlmsg_type,
                h.nlmsg_flags,
                h.nlmsg_seq,
                h.nlmsg_pid
            ),
            (21, 0x10, NLM_F_REQUEST, 7, 0)
        );
        assert_eq!(&m[16..21], b"hello");
        assert_eq!(&m[21..], &[0, 0, 0]);
        let parsed = NlMsgIter::new(&m).next().unwrap().unwrap();
        assert_eq!(parsed.payload, b"hello");
    }

    #[test]
    fn an_empty_and_a_64_kib_payload() {
        let empty = message(0x10, NLM_F_REQUEST, 1, b"");
        assert_eq!(empty.len(), 16);
        assert_eq!(first_header(&empty).unwrap().nlmsg_len, 16);
        let big = message(0x10, NLM_F_REQUEST, 1, &vec![b'x'; 65536]);
        assert_eq!(big.len(), 65552);
        assert_eq!(first_header(&big).unwrap().nlmsg_len, 65552);
    }

    #[test]
    fn a_cut_header_is_what_the_walker_calls_truncated() {
        let cut = truncated(&message(0x10, NLM_F_REQUEST, 1, b"ping"), 8);
        assert_eq!(cut.len(), 8);
        assert!(first_header(&cut).is_none());
        let err = NlMsgIter::new(&cut).next().unwrap().unwrap_err();
        assert_eq!(err.problem, Problem::Truncated { have: 8, need: 16 });
    }

    #[test]
    fn lying_lengths_keep_the_bytes_and_change_the_claim() {
        let m = message(0x10, NLM_F_REQUEST, 1, b"ping");
        let small = claiming_len(&m, 8);
        assert_eq!(&small[4..], &m[4..]);
        let err = NlMsgIter::new(&small).next().unwrap().unwrap_err();
        assert_eq!(err.problem, Problem::LengthTooSmall { len: 8, min: 16 });
        let past = claiming_len(&m, 120);
        assert_eq!(past.len(), 20);
        let err = NlMsgIter::new(&past).next().unwrap().unwrap_err();
        assert_eq!(err.problem, Problem::LengthPastEnd { len: 120, have: 20 });
        // Too short to hold a length: left as it is.
        assert_eq!(claiming_len(&[1, 2], 9), vec![1, 2]);
    }

    #[test]
    fn retyping_changes_type_and_flags_only() {
        let m = message(0x10, NLM_F_REQUEST, 9, b"ping");
        let noop = retyped(&m, NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK);
        let h = first_header(&noop).unwrap();
        assert_eq!(
            (h.nlmsg_type, h.nlmsg_flags),
            (NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK)
        );
        assert_eq!((h.nlmsg_len, h.nlmsg_seq), (20, 9));
        assert_eq!(&noop[16..], b"ping");
        let odd = retyped(&m, 0xffff, 0);
        assert_eq!(&odd[4..8], &[0xff, 0xff, 0, 0]);
    }

    #[test]
    fn two_messages_in_one_datagram() {
        let d = concat(&[message(0x10, 1, 1, b"abc"), message(0x11, 1, 2, b"")]);
        let msgs: Vec<_> = NlMsgIter::new(&d).map(Result::unwrap).collect();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].payload, b"abc");
        assert_eq!(msgs[1].offset, 20);
    }
}
