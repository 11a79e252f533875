//! The checks for `ch04-diag-groups`. Run them with `cargo test`.

use ch04_diag_groups::{
    Error, HOST, Layout, NETLINK_DIAG_MSG_LEN, Socket, decode_groups, kernel_position,
    nl_groups_bit, parse_diag_msg,
};

const LE64: Layout = Layout {
    long_bytes: 8,
    big_endian: false,
};
const BE64: Layout = Layout {
    long_bytes: 8,
    big_endian: true,
};
const LE32: Layout = Layout {
    long_bytes: 4,
    big_endian: false,
};

#[test]
fn test_bit_on_64_bit_longs() {
    assert_eq!(kernel_position(1, 64), Some((0, 0)));
    assert_eq!(kernel_position(32, 64), Some((0, 31)));
    assert_eq!(kernel_position(33, 64), Some((0, 32)));
    assert_eq!(kernel_position(64, 64), Some((0, 63)));
    assert_eq!(kernel_position(65, 64), Some((1, 0)));
}

#[test]
fn test_bit_on_32_bit_longs() {
    assert_eq!(kernel_position(1, 32), Some((0, 0)));
    assert_eq!(kernel_position(32, 32), Some((0, 31)));
    assert_eq!(kernel_position(33, 32), Some((1, 0)));
    assert_eq!(kernel_position(64, 32), Some((1, 31)));
    assert_eq!(kernel_position(65, 32), Some((2, 0)));
}

#[test]
fn there_is_no_group_zero() {
    assert_eq!(kernel_position(0, 64), None);
    assert_eq!(kernel_position(0, 32), None);
    assert_eq!(kernel_position(1, 0), None);
    assert_eq!(nl_groups_bit(0), None);
}

#[test]
fn nl_groups_names_groups_1_to_32() {
    assert_eq!(nl_groups_bit(1), Some(0x0000_0001));
    assert_eq!(nl_groups_bit(22), Some(0x0020_0000));
    assert_eq!(nl_groups_bit(32), Some(0x8000_0000));
    assert_eq!(nl_groups_bit(33), None);
    assert_eq!(nl_groups_bit(64), None);
    assert_eq!(nl_groups_bit(65), None);
}

#[test]
fn decode_little_endian_longs() {
    // rtnetlink groups 1 and 36 on x86_64.
    assert_eq!(
        decode_groups(&[1, 0, 0, 0, 8, 0, 0, 0], LE64),
        Some(vec![1, 36])
    );
    // Groups 64 and 65: the top bit of long 0, the low bit of long 1.
    let mut two = [0u8; 16];
    two[7] = 0x80;
    two[8] = 0x01;
    assert_eq!(decode_groups(&two, LE64), Some(vec![64, 65]));
    // The same 16 bytes as four 32-bit longs name the same groups.
    assert_eq!(decode_groups(&two, LE32), Some(vec![64, 65]));
    assert_eq!(decode_groups(&[], LE64), Some(vec![]));
}

#[test]
fn decode_big_endian_longs() {
    // Groups 1 and 36 on s390x: the long 0x0000_0008_0000_0001, most
    // significant byte first.
    assert_eq!(
        decode_groups(&[0, 0, 0, 8, 0, 0, 0, 1], BE64),
        Some(vec![1, 36])
    );
}

#[test]
fn refuse_partial_longs() {
    assert_eq!(decode_groups(&[1, 0, 0, 0], LE64), None);
    assert_eq!(decode_groups(&[1, 0, 0, 0, 0], LE32), None);
    assert_eq!(decode_groups(&[1, 0, 0, 0], LE32), Some(vec![1]));
}

// Replies captured from a real NETLINK_SOCK_DIAG dump on x86_64 (the
// chapter's demo): netlink_diag_msg, then NETLINK_DIAG_GROUPS (only for
// sockets that joined a group), NETLINK_DIAG_MEMINFO, NETLINK_DIAG_FLAGS.

/// The monitor: NETLINK_ROUTE, groups 1 and 36.
const MONITOR: [u8; 88] = [
    0x10, 0x03, 0x00, 0x07, 0x32, 0x53, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x51, 0x44, 0x04, 0x00, 0xbe, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x01, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x40, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// The bridge watcher: NETLINK_ROUTE, group 33 only.
const BRIDGE_WATCHER: [u8; 88] = [
    0x10, 0x03, 0x00, 0x07, 0x00, 0x8c, 0xd1, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x52, 0x44, 0x04, 0x00, 0xba, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x40, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// A NETLINK_USERSOCK socket in group 22: 32 groups, still one 8-byte long.
const USERSOCK: [u8; 88] = [
    0x10, 0x03, 0x02, 0x07, 0x32, 0x53, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x56, 0x44, 0x04, 0x00, 0xc0, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x01, 0x00,
    0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x40, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// rtnetlink's own kernel socket: port 0, no groups attribute at all.
const KERNEL_ROUTE: [u8; 76] = [
    0x10, 0x02, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x44, 0x44, 0x04, 0x00, 0xbb, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x03, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
];

// The bytes were captured on x86_64: on another layout the test does not
// exist, rather than pass without checking anything.
#[cfg(all(target_pointer_width = "64", target_endian = "little"))]
#[test]
fn captured_replies() {
    assert_eq!(
        parse_diag_msg(&MONITOR),
        Ok(Socket {
            protocol: 0,
            portid: 0x5332,
            inode: 0x0004_4451,
            groups: Some(vec![1, 36]),
        })
    );
    assert_eq!(
        parse_diag_msg(&BRIDGE_WATCHER).map(|s| s.groups),
        Ok(Some(vec![33]))
    );
    let usersock = parse_diag_msg(&USERSOCK).unwrap();
    assert_eq!((usersock.protocol, usersock.groups), (2, Some(vec![22])));
    assert_eq!(
        parse_diag_msg(&KERNEL_ROUTE),
        Ok(Socket {
            protocol: 0,
            portid: 0,
            inode: 0x0004_4444,
            groups: None,
        })
    );
}

#[test]
fn a_short_fixed_part() {
    assert_eq!(
        parse_diag_msg(&MONITOR[..27]),
        Err(Error::Truncated {
            offset: 0,
            need: NETLINK_DIAG_MSG_LEN,
            have: 27
        })
    );
    assert_eq!(
        parse_diag_msg(&[]),
        Err(Error::Truncated {
            offset: 0,
            need: 28,
            have: 0
        })
    );
}

#[test]
fn attribute_lengths_that_lie() {
    // The groups attribute claims 200 bytes.
    let mut m = MONITOR;
    m[28..30].copy_from_slice(&200u16.to_ne_bytes());
    assert_eq!(
        parse_diag_msg(&m),
        Err(Error::BadAttrLen {
            offset: 28,
            len: 200
        })
    );
    // ... or fewer than its own header.
    m[28..30].copy_from_slice(&2u16.to_ne_bytes());
    assert_eq!(
        parse_diag_msg(&m),
        Err(Error::BadAttrLen { offset: 28, len: 2 })
    );
    // The last attribute (flags, at 80) claims one byte too many.
    let mut m = MONITOR;
    m[80..82].copy_from_slice(&9u16.to_ne_bytes());
    assert_eq!(
        parse_diag_msg(&m),
        Err(Error::BadAttrLen { offset: 80, len: 9 })
    );
}

#[test]
fn a_torn_attribute_header() {
    let mut m = MONITOR.to_vec();
    m.extend_from_slice(&[8, 0]);
    assert_eq!(
        parse_diag_msg(&m),
        Err(Error::Truncated {
            offset: 88,
            need: 4,
            have: 2
        })
    );
}

#[test]
fn a_groups_payload_of_partial_longs() {
    // Shrink the groups attribute to 4 + 4 bytes and keep the rest aligned:
    // 4 bytes are not an 8-byte long (on a 64-bit machine).
    let mut m = MONITOR[..28].to_vec();
    m.extend_from_slice(&8u16.to_ne_bytes());
    m.extend_from_slice(&1u16.to_ne_bytes());
    m.extend_from_slice(&[1, 0, 0, 0]);
    m.extend_from_slice(&MONITOR[40..]);
    let expected = if HOST.long_bytes == 8 {
        Err(Error::BadGroupsLen { offset: 32, len: 4 })
    } else {
        Ok(Some(vec![1]))
    };
    assert_eq!(parse_diag_msg(&m).map(|s| s.groups), expected);
}

#[test]
fn never_panics_on_arbitrary_bytes() {
    for end in 0..=MONITOR.len() {
        let _ = parse_diag_msg(&MONITOR[..end]);
    }
    for at in 28..MONITOR.len() {
        for v in [0u8, 1, 2, 3, 4, 5, 7, 0x7f, 0xff] {
            let mut m = MONITOR;
            m[at] = v;
            let _ = parse_diag_msg(&m);
        }
    }
}
