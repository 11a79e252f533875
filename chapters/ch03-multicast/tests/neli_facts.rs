//! Facts about neli 0.7 and multicast groups that chapter 3 states.

use neli::consts::socket::NlFamily;
use neli::socket::synchronous::NlSocketHandle;
use neli::utils::Groups;
use nlbook_common::in_fresh_netns;
use nlbook_common::membership::memberships;

#[test]
fn new_bitmask_drops_group_32() {
    // Bit 21 is group 22, as in the kernel...
    assert_eq!(Groups::new_bitmask(1 << 21).as_groups(), [22]);
    assert_eq!(Groups::new_bitmask(0b11).as_groups(), [1, 2]);
    // ...but bit 31, group 32, is lost: neli's conversion stops at 31.
    assert!(Groups::new_bitmask(1 << 31).as_groups().is_empty());
    assert_eq!(Groups::new_groups(&[32]).as_bitmask().unwrap(), 1 << 31);
}

#[test]
fn a_bitmask_cannot_hold_group_33() {
    assert!(Groups::new_groups(&[33]).as_bitmask().is_err());
}

#[test]
fn connect_joins_with_setsockopt_so_group_33_works() {
    in_fresh_netns(|| {
        let sock =
            NlSocketHandle::connect(NlFamily::Route, None, Groups::new_groups(&[1, 33])).unwrap();
        // The kernel's bitmap, read back both ways.
        assert_eq!(memberships(&sock).unwrap(), [1, 33]);
        assert_eq!(sock.list_mcast_membership().unwrap().to_vec(), [1, 33]);
    })
    .unwrap();
}
