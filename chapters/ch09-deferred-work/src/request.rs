//! Requests as bytes. The hostile client needs datagrams whose lengths lie,
//! so requests are built here byte by byte rather than by a builder that
//! would always tell the truth.

use nlbook_common::uapi::NLM_F_REQUEST;
use nlbook_common::{NLMSG_HDRLEN, NlMsgHdr, nlmsg_align};

use crate::REQUEST_TYPE;

/// One honest request: a header whose `nlmsg_len` is 16 + the payload's
/// length, then the payload, no padding after it (the last message of a
/// datagram needs none).
pub fn request(seq: u32, payload: &[u8]) -> Vec<u8> {
    let nlmsg_len = u32::try_from(NLMSG_HDRLEN + payload.len()).unwrap_or(u32::MAX);
    request_claiming(seq, nlmsg_len, payload)
}

/// A request whose header claims `nlmsg_len`, whatever follows it.
pub fn request_claiming(seq: u32, nlmsg_len: u32, payload: &[u8]) -> Vec<u8> {
    let header = NlMsgHdr {
        nlmsg_len,
        nlmsg_type: REQUEST_TYPE,
        nlmsg_flags: NLM_F_REQUEST,
        nlmsg_seq: seq,
        nlmsg_pid: 0,
    };
    let mut datagram = header.to_bytes().to_vec();
    datagram.extend_from_slice(payload);
    datagram
}

/// Several honest requests in one datagram, each but the last padded to 4
/// bytes so that the next one starts where `NLMSG_NEXT` looks for it.
pub fn batch(requests: &[(u32, &[u8])]) -> Vec<u8> {
    let mut datagram = Vec::new();
    for (seq, payload) in requests {
        datagram.resize(nlmsg_align(datagram.len()), 0);
        datagram.extend_from_slice(&request(*seq, payload));
    }
    datagram
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlbook_common::NlMsgIter;

    #[test]
    fn an_honest_request_walks_as_one_message() {
        let d = request(7, b"hello");
        assert_eq!(d.len(), 21);
        let msgs: Vec<_> = NlMsgIter::new(&d).collect::<Result<_, _>>().unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].header.nlmsg_len, 21);
        assert_eq!(msgs[0].header.nlmsg_type, 0x10);
        assert_eq!(msgs[0].header.nlmsg_flags, NLM_F_REQUEST);
        assert_eq!(msgs[0].header.nlmsg_seq, 7);
        assert_eq!(msgs[0].payload, b"hello");
    }

    #[test]
    fn a_lying_request_is_what_a_careful_walker_refuses() {
        let past_end = request_claiming(1, 121, b"hello");
        assert!(NlMsgIter::new(&past_end).next().unwrap().is_err());
        let below_header = request_claiming(1, 8, b"hello");
        assert!(NlMsgIter::new(&below_header).next().unwrap().is_err());
    }

    #[test]
    fn a_batch_pads_between_messages_only() {
        let d = batch(&[(1, b"hello"), (2, b"abc")]);
        assert_eq!(d.len(), 24 + 19);
        let msgs: Vec<_> = NlMsgIter::new(&d).collect::<Result<_, _>>().unwrap();
        let seen: Vec<(u32, &[u8])> = msgs
            .iter()
            .map(|m| (m.header.nlmsg_seq, m.payload))
            .collect();
        assert_eq!(seen, vec![(1, &b"hello"[..]), (2, &b"abc"[..])]);
    }
}
