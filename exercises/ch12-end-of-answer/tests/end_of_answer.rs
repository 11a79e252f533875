//! The checks for `ch12-end-of-answer`. Run them with `cargo test`.

use ch12_end_of_answer::{
    Answer, Datagram, Error, NLM_F_DUMP_INTR, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR, follow,
};

const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;

/// One message: header, payload, padding.
fn msg(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let len = 16 + payload.len();
    let mut m = Vec::new();
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&ty.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&4242u32.to_ne_bytes());
    m.extend_from_slice(payload);
    m.resize((len + 3) & !3, 0);
    m
}

/// An NLMSG_ERROR with `code`, echoing a 16-byte request header.
fn error(seq: u32, code: i32) -> Vec<u8> {
    let mut payload = code.to_ne_bytes().to_vec();
    payload.extend_from_slice(&msg(RTM_NEWLINK, 1, seq, &[])[..16]);
    msg(NLMSG_ERROR, 0x100, seq, &payload)
}

fn done(seq: u32, flags: u16) -> Vec<u8> {
    msg(NLMSG_DONE, NLM_F_MULTI | flags, seq, &0i32.to_ne_bytes())
}

fn whole(bytes: &[u8]) -> Datagram<'_> {
    Datagram {
        bytes,
        size: bytes.len(),
        groups: 0,
    }
}

/// A datagram built for `group` (its bit in the sender's `nl_groups`): a
/// notification.
fn multicast(bytes: &[u8], group: u32) -> Datagram<'_> {
    Datagram {
        groups: 1 << (group - 1),
        ..whole(bytes)
    }
}

#[test]
fn a_reply_then_the_ack() {
    let reply = msg(RTM_NEWLINK, 0, 7, &[0; 20]);
    let ack = error(7, 0);
    assert_eq!(
        follow(&[whole(&reply), whole(&ack)], 7, true),
        Ok(Answer::Acked { messages: 1 })
    );
}

#[test]
fn without_the_ack_the_answer_is_still_pending() {
    let reply = msg(RTM_NEWLINK, 0, 7, &[0; 20]);
    assert_eq!(
        follow(&[whole(&reply)], 7, true),
        Ok(Answer::Pending { messages: 1 })
    );
    assert_eq!(follow(&[], 7, true), Ok(Answer::Pending { messages: 0 }));
}

#[test]
fn a_request_without_nlm_f_ack_ends_with_its_reply() {
    let reply = msg(RTM_NEWLINK, 0, 3, &[0; 20]);
    assert_eq!(follow(&[whole(&reply)], 3, false), Ok(Answer::Replied));
}

#[test]
fn an_error_is_the_end_and_its_errno_is_positive() {
    let e = error(3, -19);
    assert_eq!(follow(&[whole(&e)], 3, false), Ok(Answer::Failed { errno: 19 }));
    assert_eq!(follow(&[whole(&e)], 3, true), Ok(Answer::Failed { errno: 19 }));
}

#[test]
fn a_dump_in_parts_ends_with_nlmsg_done() {
    let mut part1 = msg(RTM_NEWADDR, NLM_F_MULTI, 9, &[0; 60]);
    part1.extend(msg(RTM_NEWADDR, NLM_F_MULTI, 9, &[0; 61]));
    let mut part2 = msg(RTM_NEWADDR, NLM_F_MULTI, 9, &[0; 62]);
    part2.extend(done(9, 0));
    let parts = [whole(&part1), whole(&part2)];
    assert_eq!(
        follow(&parts, 9, false),
        Ok(Answer::DumpDone {
            messages: 3,
            interrupted: false
        })
    );
    assert_eq!(
        follow(&parts[..1], 9, false),
        Ok(Answer::Pending { messages: 2 })
    );
}

#[test]
fn one_flagged_message_makes_the_dump_interrupted() {
    let part1 = msg(RTM_NEWADDR, NLM_F_MULTI, 9, &[0; 60]);
    let mut part2 = msg(RTM_NEWADDR, NLM_F_MULTI | NLM_F_DUMP_INTR, 9, &[0; 60]);
    part2.extend(msg(RTM_NEWADDR, NLM_F_MULTI, 9, &[0; 60]));
    let part3 = done(9, 0);
    assert_eq!(
        follow(&[whole(&part1), whole(&part2), whole(&part3)], 9, false),
        Ok(Answer::DumpDone {
            messages: 3,
            interrupted: true
        })
    );
    // The flag on NLMSG_DONE counts too.
    let flagged_done = done(9, NLM_F_DUMP_INTR);
    assert_eq!(
        follow(&[whole(&part1), whole(&flagged_done)], 9, false),
        Ok(Answer::DumpDone {
            messages: 1,
            interrupted: true
        })
    );
}

#[test]
fn other_sequence_numbers_are_skipped() {
    let notification = msg(RTM_NEWLINK, 0, 0, &[0; 20]);
    let stale_ack = error(6, 0);
    let mut mixed = notification.clone();
    mixed.extend(stale_ack);
    mixed.extend(msg(RTM_NEWLINK, 0, 7, &[0; 20]));
    let ack = error(7, 0);
    assert_eq!(
        follow(&[whole(&mixed), whole(&ack)], 7, true),
        Ok(Answer::Acked { messages: 1 })
    );
}

/// RTNLGRP_IPV4_IFADDR: the group that hears new IPv4 addresses.
const RTNLGRP_IPV4_IFADDR: u32 = 5;

#[test]
fn a_notification_with_the_requests_seq_is_not_the_answer() {
    // An RTM_NEWADDR with NLM_F_ACK from a socket in the address group:
    // rtnetlink multicasts the new address with the request's seq, then
    // acknowledges.
    let notification = msg(RTM_NEWADDR, 0, 7, &[0; 24]);
    let ack = error(7, 0);
    assert_eq!(
        follow(
            &[multicast(&notification, RTNLGRP_IPV4_IFADDR), whole(&ack)],
            7,
            true
        ),
        Ok(Answer::Acked { messages: 0 })
    );
}

#[test]
fn a_notification_does_not_end_a_request_without_ack() {
    let notification = msg(RTM_NEWADDR, 0, 7, &[0; 24]);
    assert_eq!(
        follow(&[multicast(&notification, RTNLGRP_IPV4_IFADDR)], 7, false),
        Ok(Answer::Pending { messages: 0 })
    );
    let reply = msg(RTM_NEWADDR, 0, 7, &[0; 24]);
    assert_eq!(
        follow(
            &[multicast(&notification, RTNLGRP_IPV4_IFADDR), whole(&reply)],
            7,
            false
        ),
        Ok(Answer::Replied)
    );
}

#[test]
fn a_notification_in_the_middle_of_a_dump_is_not_counted() {
    let part = msg(RTM_NEWADDR, NLM_F_MULTI, 7, &[0; 24]);
    // The change the dump raced with, announced with the seq of the
    // request that made it (here, by chance, also 7) and the DUMP_INTR bit
    // it does not mean.
    let notification = msg(RTM_NEWADDR, NLM_F_DUMP_INTR, 7, &[0; 24]);
    let end = done(7, 0);
    assert_eq!(
        follow(
            &[
                whole(&part),
                multicast(&notification, RTNLGRP_IPV4_IFADDR),
                whole(&end)
            ],
            7,
            true
        ),
        Ok(Answer::DumpDone {
            messages: 1,
            interrupted: false
        })
    );
}

#[test]
fn a_malformed_notification_is_still_an_error() {
    let mut notification = msg(RTM_NEWADDR, 0, 0, &[0; 24]);
    notification[..4].copy_from_slice(&99u32.to_ne_bytes());
    assert_eq!(
        follow(&[multicast(&notification, RTNLGRP_IPV4_IFADDR)], 7, true),
        Err(Error::Malformed {
            index: 0,
            offset: 0
        })
    );
}

#[test]
fn nothing_after_the_end_is_looked_at() {
    let mut d = error(7, 0);
    d.extend_from_slice(&[0xff; 7]); // garbage after the ACK
    assert_eq!(follow(&[whole(&d)], 7, true), Ok(Answer::Acked { messages: 0 }));
}

#[test]
fn a_cut_datagram_is_an_error() {
    let part1 = msg(RTM_NEWADDR, NLM_F_MULTI, 9, &[0; 60]);
    let part2 = msg(RTM_NEWADDR, NLM_F_MULTI, 9, &[0; 60]);
    let cut = Datagram {
        bytes: &part2[..40],
        size: part2.len(),
        groups: 0,
    };
    assert_eq!(
        follow(&[whole(&part1), cut], 9, false),
        Err(Error::Truncated {
            index: 1,
            copied: 40,
            size: 76
        })
    );
}

#[test]
fn malformed_headers_name_their_datagram_and_offset() {
    // nlmsg_len below the header.
    let mut short = msg(RTM_NEWLINK, 0, 7, &[]);
    short[..4].copy_from_slice(&8u32.to_ne_bytes());
    assert_eq!(
        follow(&[whole(&short)], 7, true),
        Err(Error::Malformed {
            index: 0,
            offset: 0
        })
    );
    // The second message claims more than is left.
    let mut two = msg(RTM_NEWLINK, 0, 0, &[0; 4]);
    let mut liar = msg(RTM_NEWLINK, 0, 7, &[0; 4]);
    liar[..4].copy_from_slice(&400u32.to_ne_bytes());
    two.extend(liar);
    let first = msg(RTM_NEWLINK, 0, 0, &[]);
    assert_eq!(
        follow(&[whole(&first), whole(&two)], 7, true),
        Err(Error::Malformed {
            index: 1,
            offset: 20
        })
    );
    // Fewer than 16 bytes left for a header.
    let tail = [0u8; 10];
    assert_eq!(
        follow(&[whole(&tail)], 7, true),
        Err(Error::Malformed {
            index: 0,
            offset: 0
        })
    );
}

#[test]
fn an_error_message_without_its_code_is_malformed() {
    let bare = msg(NLMSG_ERROR, 0, 7, &[0, 0]);
    assert_eq!(
        follow(&[whole(&bare)], 7, true),
        Err(Error::Malformed {
            index: 0,
            offset: 0
        })
    );
}
