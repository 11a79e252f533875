//! The checks for `ch01-nlmsg-layout`. Run them with `cargo test`.

use ch01_nlmsg_layout::{
    Error, NLMSG_HDRLEN, encode_header, nlmsg_align, nlmsg_length, nlmsg_space, parse_messages,
};

/// A message as the kernel would lay it out: header, payload, padding.
fn message(ty: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let len = (16 + payload.len()) as u32;
    let mut m = Vec::new();
    m.extend_from_slice(&len.to_ne_bytes());
    m.extend_from_slice(&ty.to_ne_bytes());
    m.extend_from_slice(&0u16.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(payload);
    while m.len() % 4 != 0 {
        m.push(0);
    }
    m
}

#[test]
fn align_rounds_up_to_multiples_of_4() {
    let got: Vec<usize> = (0..=13).map(nlmsg_align).collect();
    assert_eq!(got, [0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12, 16]);
    assert_eq!(nlmsg_align(4096), 4096);
    assert_eq!(nlmsg_align(4097), 4100);
    assert_eq!(nlmsg_align(u32::MAX as usize), u32::MAX as usize + 1);
}

#[test]
fn length_adds_the_header_and_no_padding() {
    assert_eq!(NLMSG_HDRLEN, 16);
    assert_eq!(nlmsg_length(0), 16);
    assert_eq!(nlmsg_length(1), 17);
    assert_eq!(nlmsg_length(6), 22);
    assert_eq!(nlmsg_length(16), 32);
}

#[test]
fn space_adds_the_header_and_the_padding() {
    assert_eq!(nlmsg_space(0), 16);
    assert_eq!(nlmsg_space(1), 20);
    assert_eq!(nlmsg_space(4), 20);
    assert_eq!(nlmsg_space(5), 24);
    assert_eq!(nlmsg_space(6), 24);
    assert_eq!(nlmsg_space(16), 32);
}

#[test]
fn header_fields_at_their_offsets_in_host_order() {
    let h = encode_header(22, 0x10, 0x0301, 7, 0xdead_beef);
    assert_eq!(&h[0..4], &22u32.to_ne_bytes());
    assert_eq!(&h[4..6], &0x10u16.to_ne_bytes());
    assert_eq!(&h[6..8], &0x0301u16.to_ne_bytes());
    assert_eq!(&h[8..12], &7u32.to_ne_bytes());
    assert_eq!(&h[12..16], &0xdead_beefu32.to_ne_bytes());
}

#[test]
fn header_matches_a_known_request() {
    // RTM_GETLINK (18), NLM_F_REQUEST|NLM_F_DUMP (0x301), seq 1, pid 0.
    let h = encode_header(32, 18, 0x301, 1, 0);
    let mut expected = message(18, 1, &[0; 16]);
    expected[6..8].copy_from_slice(&0x301u16.to_ne_bytes());
    assert_eq!(&h[..], &expected[..16]);
    // The bytes an x86_64 (little-endian) machine sends.
    if cfg!(target_endian = "little") {
        assert_eq!(h, [32, 0, 0, 0, 18, 0, 0x01, 0x03, 1, 0, 0, 0, 0, 0, 0, 0]);
    }
}

#[test]
fn an_empty_buffer_holds_no_messages() {
    assert_eq!(parse_messages(&[]), Ok(vec![]));
}

#[test]
fn one_message() {
    let buf = message(0x10, 1, b"hello\0");
    assert_eq!(buf.len(), 24);
    assert_eq!(parse_messages(&buf), Ok(vec![(0x10, b"hello\0".to_vec())]));
}

#[test]
fn the_last_message_may_be_unpadded() {
    let mut buf = message(0x10, 1, b"hello\0");
    buf.truncate(22);
    assert_eq!(parse_messages(&buf), Ok(vec![(0x10, b"hello\0".to_vec())]));
}

#[test]
fn several_messages_with_padding_between() {
    let mut buf = message(0x10, 1, b"abc"); // 19 + 1 padding
    buf.extend(message(0x11, 2, b"")); // 16
    buf.extend(message(0x12, 3, b"hello\0")); // 22 + 2 padding
    buf.extend(message(3, 4, &0i32.to_ne_bytes())); // NLMSG_DONE
    assert_eq!(
        parse_messages(&buf),
        Ok(vec![
            (0x10, b"abc".to_vec()),
            (0x11, vec![]),
            (0x12, b"hello\0".to_vec()),
            (3, vec![0, 0, 0, 0]),
        ])
    );
}

#[test]
fn payloads_exclude_the_padding() {
    let mut buf = message(0x10, 1, b"x");
    buf.extend(message(0x10, 2, b"yz"));
    let msgs = parse_messages(&buf).unwrap();
    assert_eq!(msgs[0].1, b"x");
    assert_eq!(msgs[1].1, b"yz");
}

#[test]
fn a_short_header_is_truncated() {
    assert_eq!(
        parse_messages(&[16, 0, 0]),
        Err(Error::Truncated {
            offset: 0,
            remaining: 3
        })
    );
    let mut buf = message(0x10, 1, b"abcd");
    buf.extend_from_slice(&[1, 2, 3, 4, 5]);
    assert_eq!(
        parse_messages(&buf),
        Err(Error::Truncated {
            offset: 20,
            remaining: 5
        })
    );
}

#[test]
fn a_length_below_the_header_is_refused() {
    for len in [0u32, 1, 15] {
        let mut buf = message(0x10, 1, b"");
        buf[0..4].copy_from_slice(&len.to_ne_bytes());
        assert_eq!(
            parse_messages(&buf),
            Err(Error::LengthTooSmall { offset: 0, len }),
            "nlmsg_len {len}"
        );
    }
}

#[test]
fn a_length_past_the_end_is_refused() {
    let mut buf = message(0x10, 1, b"abcd");
    buf.extend(message(0x10, 2, b"efgh"));
    buf[20..24].copy_from_slice(&21u32.to_ne_bytes());
    assert_eq!(
        parse_messages(&buf),
        Err(Error::LengthPastEnd {
            offset: 20,
            len: 21,
            remaining: 20
        })
    );
    buf[20..24].copy_from_slice(&u32::MAX.to_ne_bytes());
    assert_eq!(
        parse_messages(&buf),
        Err(Error::LengthPastEnd {
            offset: 20,
            len: u32::MAX,
            remaining: 20
        })
    );
}

#[test]
fn errors_read_well() {
    let e = parse_messages(&[0; 5]).unwrap_err();
    assert_eq!(e.to_string(), "offset 0: 5 bytes left, a header needs 16");
}

#[test]
fn never_panics() {
    // Every small buffer size, with interesting values in the length field.
    for size in 0..80 {
        for len in [0u32, 4, 15, 16, 17, 20, 23, 24, 40, 79, 80, 81, u32::MAX] {
            let mut buf: Vec<u8> = (0..size as u8).collect();
            if size >= 4 {
                buf[0..4].copy_from_slice(&len.to_ne_bytes());
            }
            if let Ok(msgs) = parse_messages(&buf) {
                let total: usize = msgs.iter().map(|(_, p)| p.len() + 16).sum();
                assert!(total <= size);
            }
        }
    }
}
