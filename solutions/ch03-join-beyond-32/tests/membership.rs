//! The checks for `ch03-join-beyond-32`. Run them with `cargo test` (as
//! root, or under `unshare -Urn`): each socket test works in a fresh
//! network namespace of its own.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use ch03_join_beyond_32::{
    Errno, group_mask, groups_in_bitmap, join_group, leave_group, memberships,
};

/// Run `f` on a thread of its own in a new network namespace.
fn in_fresh_netns(f: impl FnOnce() + Send) {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: unshare takes flags only, and moves only this thread.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                panic!(
                    "unshare(CLONE_NEWNET) failed ({}): these tests need CAP_SYS_ADMIN: \
                     run them as root, or as `unshare -Urn cargo test`",
                    std::io::Error::last_os_error()
                );
            }
            f();
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    });
}

/// A netlink socket of `protocol`, bound to a kernel-chosen port id and to
/// the `nl_groups` bitmask `groups`.
fn socket(protocol: i32, groups: u32) -> OwnedFd {
    // SAFETY: plain system call; the result is checked.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            protocol,
        )
    };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: all-zero is a valid sockaddr_nl.
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    addr.nl_groups = groups;
    // SAFETY: addr is a valid sockaddr_nl and its size is passed alongside.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const addr).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
    fd
}

// rtnetlink.h
const RTNLGRP_LINK: u32 = 1;
const RTNLGRP_IPV4_IFADDR: u32 = 5;
const RTNLGRP_NEXTHOP: u32 = 32;
const RTNLGRP_BRVLAN: u32 = 33;

#[test]
fn group_g_is_bit_g_minus_1() {
    assert_eq!(group_mask(1), Some(0x1));
    assert_eq!(group_mask(5), Some(0x10));
    assert_eq!(group_mask(22), Some(0x0020_0000));
    assert_eq!(group_mask(32), Some(0x8000_0000));
}

#[test]
fn groups_without_a_bit() {
    assert_eq!(group_mask(0), None);
    assert_eq!(group_mask(33), None);
    assert_eq!(group_mask(u32::MAX), None);
}

#[test]
fn bitmaps_to_group_numbers() {
    assert_eq!(groups_in_bitmap(&[]), Vec::<u32>::new());
    assert_eq!(groups_in_bitmap(&[0, 0]), Vec::<u32>::new());
    assert_eq!(groups_in_bitmap(&[0x11]), [1, 5]);
    assert_eq!(groups_in_bitmap(&[0x8000_0001, 0x1]), [1, 32, 33]);
    assert_eq!(groups_in_bitmap(&[0, 0, 0x8000_0000]), [96]);
    for g in 1..=32 {
        assert_eq!(groups_in_bitmap(&[1 << (g - 1)]), [g], "group {g}");
    }
}

#[test]
fn a_socket_that_never_joined_has_no_groups() {
    in_fresh_netns(|| {
        let s = socket(libc::NETLINK_ROUTE, 0);
        assert_eq!(memberships(s.as_fd()), Ok(vec![]));
    });
}

#[test]
fn what_bind_joined_reads_back() {
    in_fresh_netns(|| {
        let mask = group_mask(RTNLGRP_LINK).unwrap() | group_mask(RTNLGRP_IPV4_IFADDR).unwrap();
        let s = socket(libc::NETLINK_ROUTE, mask);
        assert_eq!(memberships(s.as_fd()), Ok(vec![1, 5]));
    });
}

#[test]
fn join_33_and_read_it_back() {
    in_fresh_netns(|| {
        let s = socket(libc::NETLINK_ROUTE, group_mask(RTNLGRP_LINK).unwrap());
        join_group(s.as_fd(), RTNLGRP_BRVLAN).unwrap();
        // Group 33 lives in the bitmap's second word: one word is not enough.
        assert_eq!(memberships(s.as_fd()), Ok(vec![1, 33]));
        join_group(s.as_fd(), RTNLGRP_NEXTHOP).unwrap();
        assert_eq!(memberships(s.as_fd()), Ok(vec![1, 32, 33]));
    });
}

#[test]
fn join_only_with_the_socket_option() {
    in_fresh_netns(|| {
        let s = socket(libc::NETLINK_ROUTE, 0);
        join_group(s.as_fd(), RTNLGRP_BRVLAN).unwrap();
        assert_eq!(memberships(s.as_fd()), Ok(vec![33]));
    });
}

#[test]
fn leave_groups() {
    in_fresh_netns(|| {
        let s = socket(libc::NETLINK_ROUTE, group_mask(RTNLGRP_LINK).unwrap());
        join_group(s.as_fd(), RTNLGRP_BRVLAN).unwrap();
        leave_group(s.as_fd(), RTNLGRP_LINK).unwrap();
        assert_eq!(memberships(s.as_fd()), Ok(vec![33]));
        leave_group(s.as_fd(), RTNLGRP_BRVLAN).unwrap();
        assert_eq!(memberships(s.as_fd()), Ok(vec![]));
        // Leaving a group one is not in is no error.
        assert_eq!(leave_group(s.as_fd(), RTNLGRP_IPV4_IFADDR), Ok(()));
    });
}

#[test]
fn groups_the_family_does_not_have() {
    in_fresh_netns(|| {
        let route = socket(libc::NETLINK_ROUTE, 0);
        assert_eq!(join_group(route.as_fd(), 0), Err(Errno(libc::EINVAL)));
        assert_eq!(join_group(route.as_fd(), 1000), Err(Errno(libc::EINVAL)));
        // NETLINK_USERSOCK has 32 groups: 33 is one too many.
        let usersock = socket(libc::NETLINK_USERSOCK, 0);
        assert_eq!(join_group(usersock.as_fd(), 32), Ok(()));
        assert_eq!(join_group(usersock.as_fd(), 33), Err(Errno(libc::EINVAL)));
        assert_eq!(memberships(usersock.as_fd()), Ok(vec![32]));
    });
}
