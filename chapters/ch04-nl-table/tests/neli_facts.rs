//! Facts about neli 0.7 that chapter 4 states.

use std::io::Cursor;

use ch04_nl_table::diag::parse_socket;
use ch04_nl_table::groups::Groups;
use neli::FromBytesWithInput;
use neli::consts::socket::NlFamily;
use neli::socket::synchronous::NlSocketHandle;
use neli::types::{Buffer, RtBuffer};
use neli::utils::Groups as NeliGroups;
use nlbook_common::in_fresh_netns;

#[test]
fn neli_reads_memberships_as_u32_words() {
    in_fresh_netns(|| {
        let sock = NlSocketHandle::connect(NlFamily::Route, None, NeliGroups::empty()).unwrap();
        sock.add_mcast_membership(NeliGroups::new_groups(&[1, 33, 36]))
            .unwrap();
        let bits = sock.list_mcast_membership().unwrap();
        assert_eq!(bits.to_vec(), [1, 33, 36]);
        // 36 groups: two u32 words, as NETLINK_LIST_MEMBERSHIPS reports.
        assert_eq!(bits.len(), 8);
        assert_eq!(Groups::of(bits.to_vec()), Groups::of([1, 33, 36]));
    })
    .unwrap();
}

/// A netlink_diag_msg whose one attribute claims 40 bytes but has 12.
fn lying_reply() -> Vec<u8> {
    let mut p = vec![16u8, 3, 0, 0];
    p.extend_from_slice(&[0; 24]);
    p.extend_from_slice(&40u16.to_ne_bytes()); // rta_len: a lie
    p.extend_from_slice(&1u16.to_ne_bytes()); // NETLINK_DIAG_GROUPS
    p.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    p
}

#[test]
fn on_a_lying_attribute_neli_errs_without_saying_where() {
    let p = lying_reply();
    let attrs = &p[28..];
    let neli_err =
        RtBuffer::<u16, Buffer>::from_bytes_with_input(&mut Cursor::new(attrs), attrs.len())
            .unwrap_err();
    let ours = parse_socket(&p, 16).unwrap_err();
    let report = format!("neli: {neli_err}\nours: {ours}\n");
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "the same malformed NETLINK_DIAG_GROUPS attribute, decoded by neli's RtBuffer and by ch04_nl_table::diag::parse_socket",
    }, {
        insta::assert_snapshot!("ch04-malformed-attribute", report);
    });
}
