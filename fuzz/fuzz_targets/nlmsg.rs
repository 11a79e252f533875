//! The datagram walk (`NlMsgIter`), `NLMSG_ERROR` payloads with extended
//! ACK attributes (`NlMsgErr::parse`), the generic netlink header
//! (`GenlMsgHdr::parse`) and the attribute walk (`RtAttrIter`, nested).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nlbook_common::genl::GenlMsgHdr;
use nlbook_common::{NLMSG_HDRLEN, NlMsgErr, NlMsgHdr, NlMsgIter, RtAttrIter, nlmsg_align};
use nlbook_fuzz::{check_malformed, offset_in, walk_attrs};

fuzz_target!(|data: &[u8]| {
    let mut expected_offset = 0;
    let mut failed = false;
    for item in NlMsgIter::new(data) {
        assert!(!failed, "a message after the walk's error");
        let msg = match item {
            Ok(msg) => msg,
            Err(e) => {
                // The error is where the next message would have started.
                assert_eq!(e.offset, expected_offset);
                check_malformed(&e, data.len());
                failed = true;
                continue;
            }
        };
        assert_eq!(msg.offset, expected_offset);
        // Re-encoding the header gives back the bytes it was read from.
        assert_eq!(msg.header.to_bytes()[..], data[msg.offset..msg.offset + 16]);
        assert_eq!(
            NlMsgHdr::from_bytes(&msg.header.to_bytes()),
            Some(msg.header)
        );
        assert_eq!(
            msg.header.nlmsg_len as usize,
            NLMSG_HDRLEN + msg.payload.len()
        );
        assert_eq!(
            offset_in(data, msg.payload),
            Some(msg.offset + NLMSG_HDRLEN)
        );
        expected_offset = msg.offset + nlmsg_align(msg.header.nlmsg_len as usize);

        match NlMsgErr::parse(&msg) {
            Ok(err) => {
                let echoed = &msg.payload[4..4 + NlMsgHdr::LEN];
                assert_eq!(err.request.to_bytes()[..], echoed[..]);
                if let Some(text) = err.message {
                    assert!(offset_in(data, text.as_bytes()).is_some());
                }
                let _ = err.errno();
            }
            Err(e) => check_malformed(&e, data.len()),
        }
        match GenlMsgHdr::parse(&msg) {
            Ok((genl, attrs)) => {
                assert_eq!(genl.cmd, msg.payload[0]);
                assert_eq!(genl.version, msg.payload[1]);
                let attrs_at = msg.offset + NLMSG_HDRLEN + 4;
                assert_eq!(offset_in(data, attrs), Some(attrs_at));
                walk_attrs(data, RtAttrIter::at(attrs, attrs_at), 3);
            }
            Err(e) => check_malformed(&e, data.len()),
        }
        // Attributes right after the header too (as after a 0-byte fixed part).
        walk_attrs(
            data,
            RtAttrIter::at(msg.payload, msg.offset + NLMSG_HDRLEN),
            2,
        );
    }
    // The whole input as bare attributes, as chapter code walks a payload.
    walk_attrs(data, RtAttrIter::new(data), 4);
});
