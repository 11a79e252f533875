//! What chapter 13's "Choosing a crate" says of `netlink-packet-sock-diag`:
//! it decodes the inet and unix dumps only, so chapter 4's AF_NETLINK dump
//! has to be written and read with bytes of one's own.

// Test code: a panic, with its message, is how a test fails.
#![allow(clippy::expect_used, clippy::panic)]

use ch04_nl_table::diag::{self, NDIAG_PROTO_ALL, NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY};
use netlink_packet_core::{NLMSG_DONE, NetlinkDeserializable, NetlinkHeader};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_sys::{Socket, SocketAddr};
use nlbook_common::in_fresh_netns;

/// Every `SOCK_DIAG_BY_FAMILY` message of one AF_NETLINK dump: its header
/// and payload, as `netlink-sys` received them.
fn netlink_dump() -> Vec<(NetlinkHeader, Vec<u8>)> {
    let mut sock = Socket::new(NETLINK_SOCK_DIAG as isize).expect("a NETLINK_SOCK_DIAG socket");
    sock.bind_auto().expect("bind");
    let request = diag::request(1, NDIAG_PROTO_ALL, 0).expect("the request fits");
    sock.send_to(&request, &SocketAddr::new(0, 0), 0)
        .expect("send the dump request");
    let mut found = Vec::new();
    let mut buf = Vec::with_capacity(32 * 1024);
    loop {
        buf.clear();
        let len = sock.recv(&mut buf, 0).expect("a dump part");
        let mut at = 0;
        while at + 16 <= len {
            let word =
                |i: usize| u32::from_ne_bytes(buf[at + i..at + i + 4].try_into().expect("4"));
            let msg_len = word(0) as usize;
            assert!(msg_len >= 16 && at + msg_len <= len, "a whole message");
            let mut header = NetlinkHeader::default();
            header.length = word(0);
            header.message_type = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
            if header.message_type == NLMSG_DONE {
                return found;
            }
            assert_eq!(header.message_type, SOCK_DIAG_BY_FAMILY);
            found.push((header, buf[at + 16..at + msg_len].to_vec()));
            at += (msg_len + 3) & !3;
        }
    }
}

#[test]
fn netlink_packet_sock_diag_has_no_af_netlink_messages() {
    let dump = in_fresh_netns(netlink_dump).expect("a fresh network namespace");
    // The dump socket itself is in the fresh namespace, so there is one.
    assert!(!dump.is_empty());
    for (header, payload) in &dump {
        assert_eq!(payload[0], libc::AF_NETLINK as u8);
        // The book's own decoder reads it ...
        diag::parse_socket(payload, 16).expect("chapter 4 decodes the reply");
        // ... the crate refuses it by its address family.
        let err = SockDiagMessage::deserialize(header, payload)
            .expect_err("the crate has no AF_NETLINK reply type");
        assert!(
            format!("{err:?}").contains("unknown address family 16"),
            "{err:?}"
        );
    }
}
