//! The decoder on the host, over the events the VM lab captured
//! (`tests/snapshots/lab/ch05-events__sa-monitor-bytes@6.1.snap`, made by
//! `ch05-sa-monitor --hex`): the host must decode the captured bytes to
//! exactly what the monitor printed in the VM, and refuse broken copies of
//! them with errors that name the structure and the offset.

// Test code: a panic, with its message, is how a test fails.
#![allow(clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr};

use ch05_events::monitor::describe;
use ch05_events::xfrm::{
    Algorithm, SaAttr, SaEvent, XFRM_MSG_DELSA, XFRM_MSG_NEWSA, XFRMA_ALG_AUTH_TRUNC,
    decode_sa_event, usersa_info,
};
use nlbook_common::{Malformed, Problem};

const CAPTURED: &str =
    include_str!("../../../tests/snapshots/lab/ch05-events__sa-monitor-bytes@6.1.snap");
const CAPTURED_612: &str =
    include_str!("../../../tests/snapshots/lab/ch05-events__sa-monitor-bytes@6.12.snap");

/// The hex dumps of a snapshot, one message each.
fn messages(snapshot: &str) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for line in snapshot.lines() {
        if line.starts_with("    bytes (") {
            out.push(Vec::new());
            continue;
        }
        let Some((offset, hex)) = line.trim_start().split_once(": ") else {
            continue;
        };
        let (Some(current), true) = (out.last_mut(), line.starts_with("    ")) else {
            continue;
        };
        if offset.len() != 4 || usize::from_str_radix(offset, 16) != Ok(current.len()) {
            continue;
        }
        current.extend(
            hex.split(' ')
                .map(|b| u8::from_str_radix(b, 16).expect("a hex byte")),
        );
    }
    out
}

fn newsa() -> Vec<u8> {
    messages(CAPTURED).remove(0)
}

fn delsa() -> Vec<u8> {
    messages(CAPTURED).remove(1)
}

#[test]
fn the_capture_holds_a_newsa_and_a_delsa() {
    let msgs = messages(CAPTURED);
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].len(), 540);
    assert_eq!(msgs[1].len(), 568);
    // 6.12 sends the same bytes.
    assert_eq!(messages(CAPTURED_612), msgs);
}

#[test]
fn host_decoding_matches_what_the_vm_printed() {
    for msg in messages(CAPTURED) {
        let event = decode_sa_event(&msg).expect("captured events decode");
        let text = describe(&event);
        assert!(
            CAPTURED.contains(&text),
            "the VM printed something else than\n{text}"
        );
    }
}

#[test]
fn newsa_fields() {
    let SaEvent::New { header, sa, attrs } = decode_sa_event(&newsa()).expect("decodes") else {
        panic!("not a NEWSA");
    };
    assert_eq!(header.nlmsg_type, XFRM_MSG_NEWSA);
    assert_eq!((header.nlmsg_seq, header.nlmsg_pid), (1, 0));
    assert_eq!(sa.spi, 0xc0de);
    assert_eq!(sa.proto, 50);
    assert_eq!(sa.family, libc::AF_INET as u16);
    assert_eq!(sa.src, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(sa.dst, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)));
    assert_eq!((sa.mode, sa.reqid, sa.replay_window), (0, 5, 32));
    // The request left the selector's family 0; the kernel filled it in.
    assert_eq!(sa.sel_family, libc::AF_INET as u16);
    assert!(attrs.contains(&SaAttr::Algorithm(Algorithm {
        kind: XFRMA_ALG_AUTH_TRUNC,
        name: "hmac(sha256)".into(),
        key_bits: 256,
        icv_bits: Some(128),
    })));
}

#[test]
fn delsa_carries_the_id_and_the_whole_sa() {
    let SaEvent::Deleted { header, id, attrs } = decode_sa_event(&delsa()).expect("decodes") else {
        panic!("not a DELSA");
    };
    assert_eq!(header.nlmsg_type, XFRM_MSG_DELSA);
    assert_eq!(id.spi, 0xc0de);
    assert_eq!(id.dst, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)));
    let Some(SaAttr::Sa(sa)) = attrs.first() else {
        panic!("XFRMA_SA is not first: {attrs:?}");
    };
    assert_eq!(sa.reqid, 5);
    // XFRMA_SA's payload starts after the 16-byte header, the 24-byte id
    // and the attribute's own 4-byte header.
    assert_eq!(sa.offset, 16 + 24 + 4);
}

#[test]
fn the_request_we_send_is_what_the_kernel_echoes() {
    // The event's xfrm_usersa_info is the request's, with the selector's
    // family filled in (offset 40) and the kernel's counters (curlft, 160
    // to 192, the clock zeroed in the capture): everything else is equal.
    let sent = usersa_info(&ch05_events::monitor::the_sa());
    let got = &newsa()[16..16 + 224];
    for (at, (s, g)) in sent.iter().zip(got).enumerate() {
        if at == 40 || (160..192).contains(&at) {
            continue;
        }
        assert_eq!(s, g, "byte {at} of xfrm_usersa_info");
    }
    assert_eq!(&got[40..42], &(libc::AF_INET as u16).to_ne_bytes());
}

fn problem_of(bytes: &[u8]) -> Malformed {
    decode_sa_event(bytes).expect_err("must be refused")
}

#[test]
fn truncated_header_and_length_past_the_end() {
    let e = problem_of(&newsa()[..10]);
    assert_eq!(
        e.to_string(),
        "malformed nlmsghdr at offset 0: needs 16 bytes, only 10 left"
    );
    let e = problem_of(&newsa()[..200]);
    assert_eq!(
        e.to_string(),
        "malformed nlmsghdr at offset 0: length 540 runs past the end (200 bytes left)"
    );
}

#[test]
fn a_short_usersa_info_is_truncated() {
    let mut msg = newsa()[..100].to_vec();
    msg[..4].copy_from_slice(&100u32.to_ne_bytes());
    let e = problem_of(&msg);
    assert_eq!(
        (e.what, e.offset, e.problem),
        (
            "xfrm_usersa_info",
            16,
            Problem::Truncated {
                have: 84,
                need: 224
            }
        )
    );
}

#[test]
fn an_unknown_family_is_refused_where_it_is() {
    let mut msg = newsa();
    // xfrm_usersa_info.family, offset 212 of the structure.
    msg[16 + 212..16 + 214].copy_from_slice(&7u16.to_ne_bytes());
    let e = problem_of(&msg);
    assert_eq!(
        e.to_string(),
        "malformed xfrm_usersa_info at offset 16: family 7 at offset 228 is not AF_INET or AF_INET6"
    );
}

#[test]
fn an_attribute_running_past_the_end() {
    let mut msg = newsa();
    // The first attribute starts right after xfrm_usersa_info: 16 + 224.
    msg[240..242].copy_from_slice(&0x0400u16.to_ne_bytes());
    let e = problem_of(&msg);
    assert_eq!((e.what, e.offset), ("rtattr", 240), "{e}");
    assert!(
        matches!(e.problem, Problem::LengthPastEnd { len: 1024, .. }),
        "{e}"
    );
}

#[test]
fn a_key_longer_than_its_attribute() {
    let mut msg = newsa();
    // XFRMA_ALG_AUTH at 240: name (64 bytes) from 244, alg_key_len at 308.
    msg[308..312].copy_from_slice(&4096u32.to_ne_bytes());
    let e = problem_of(&msg);
    assert_eq!(
        e.to_string(),
        "malformed xfrm_algo at offset 244: alg_key_len 4096 bits needs 512 key bytes, 32 follow"
    );
}

#[test]
fn other_message_types_are_not_sa_events() {
    let mut msg = newsa();
    msg[4..6].copy_from_slice(&0x12u16.to_ne_bytes());
    assert_eq!(
        problem_of(&msg).to_string(),
        "malformed nlmsghdr at offset 0: type 18 is not XFRM_MSG_NEWSA (16) or XFRM_MSG_DELSA (17)"
    );
}

#[test]
fn no_input_makes_it_panic() {
    // Every prefix and every single-byte corruption: an event or an error.
    let msg = newsa();
    for n in 0..msg.len() {
        let _ = decode_sa_event(&msg[..n]);
    }
    for at in 0..msg.len() {
        for value in [0x00, 0x03, 0x80, 0xff] {
            let mut m = msg.clone();
            m[at] = value;
            let _ = decode_sa_event(&m);
        }
    }
}
