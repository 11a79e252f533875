//! Facts about neli 0.7 that chapter 1 relies on and the book states.

// Test code: a panic, with its message, is how a test fails.
#![allow(clippy::expect_used, clippy::panic)]

use neli::consts::nl::NlmF;
use neli::consts::socket::NlFamily;
use neli::nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder};
use neli::types::Buffer;
use neli::{Size, ToBytes};
use nlbook_common::{nlmsg_length, nlmsg_space};

fn echo_request(payload: &[u8]) -> Nlmsghdr<u16, Buffer> {
    NlmsghdrBuilder::default()
        .nl_type(0x10u16)
        .nl_flags(NlmF::REQUEST)
        .nl_seq(1)
        .nl_payload(NlPayload::Payload(Buffer::from(payload)))
        .build()
        .expect("all fields set")
}

#[test]
fn unregistered_protocols_use_the_catch_all_variant() {
    assert_eq!(NlFamily::from(30), NlFamily::UnrecognizedConst(30));
    assert_eq!(libc::c_int::from(NlFamily::UnrecognizedConst(30)), 30);
    assert_eq!(NlFamily::from(0), NlFamily::Route);
}

#[test]
fn neli_counts_the_padding_in_nlmsg_len() {
    // "hello" and its NUL: 6 bytes of payload.
    let msg = echo_request(b"hello\0");
    assert_eq!(nlmsg_length(6), 22); // what NLMSG_LENGTH gives, and ch01-echo-raw sends
    assert_eq!(*msg.nl_len() as usize, nlmsg_space(6)); // 24: what neli sends
    let mut bytes = std::io::Cursor::new(vec![0u8; msg.padded_size()]);
    msg.to_bytes(&mut bytes).unwrap();
    let bytes = bytes.into_inner();
    assert_eq!(bytes.len(), 24);
    assert_eq!(&bytes[0..4], &24u32.to_ne_bytes());
    assert_eq!(&bytes[16..24], b"hello\0\0\0");
}

#[test]
fn aligned_payloads_agree() {
    let msg = echo_request(b"hi!\0");
    assert_eq!(*msg.nl_len() as usize, nlmsg_length(4));
}
