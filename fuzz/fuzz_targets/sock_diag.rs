//! Chapter 4: `netlink_diag` replies (`diag::parse_socket`, its group
//! bitmaps), and the replies of the chapter's module
//! (`listeners::parse_query_reply`, `parse_multicast_reply`).
#![no_main]

use ch04_nl_table::diag::{self, NETLINK_DIAG_MSG_LEN};
use ch04_nl_table::groups::{Groups, LongLayout};
use ch04_nl_table::listeners;
use libfuzzer_sys::fuzz_target;
use nlbook_fuzz::check_malformed;

/// Where the payload sits in the datagram: after the 16-byte nlmsghdr.
const BASE: usize = 16;

fuzz_target!(|data: &[u8]| {
    let end = BASE + data.len();
    let in_payload = |e: &nlbook_common::Malformed| {
        check_malformed(e, end);
        assert!(e.offset >= BASE, "{e}: before the payload");
    };
    match diag::parse_socket(data, BASE) {
        Ok(info) => {
            assert!(data.len() >= NETLINK_DIAG_MSG_LEN);
            assert_eq!(
                u32::from_ne_bytes([data[4], data[5], data[6], data[7]]),
                info.msg.portid
            );
            if let Some(g) = &info.groups {
                // The bitmap re-encodes to the bytes it was read from.
                let ngroups = u32::try_from(g.raw.len() * 8).expect("rta_len is 16 bits");
                assert_eq!(g.groups.to_kernel_longs(ngroups, LongLayout::HOST), g.raw);
            }
            let _ = diag::describe(&info);
        }
        Err(e) => in_payload(&e),
    }
    match Groups::from_kernel_longs(data, LongLayout::HOST, BASE) {
        Ok(groups) => {
            let ngroups = u32::try_from(data.len() * 8).unwrap_or(u32::MAX);
            if data.len() * 8 <= u32::MAX as usize {
                assert_eq!(groups.to_kernel_longs(ngroups, LongLayout::HOST), data);
            }
        }
        Err(e) => in_payload(&e),
    }
    match listeners::parse_query_reply(data, BASE) {
        Ok((ngroups, groups)) => assert!(
            groups
                .iter()
                .all(|g| g <= ngroups.max(32).next_multiple_of(32))
        ),
        Err(e) => in_payload(&e),
    }
    match listeners::parse_multicast_reply(data, BASE) {
        Ok(r) => assert_eq!(data.len(), 12, "{r:?} from {} bytes", data.len()),
        Err(e) => in_payload(&e),
    }
});
