//! Chapter 3 exercise: multicast group membership, by system call.
//!
//! Groups are numbered from 1. In `sockaddr_nl.nl_groups` (a `u32`), group
//! `g` is bit `g - 1`. The socket options below take the group number
//! itself, as an `int`:
//!
//! ```text
//! setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,  &group, sizeof(int))
//! setsockopt(fd, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &group, sizeof(int))
//! getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, buf, &optlen)
//! ```
//!
//! `NETLINK_LIST_MEMBERSHIPS` fills `buf` with the socket's group bitmap as
//! `u32` words (word `w`, bit `b` is group `32 * w + b + 1`), as many whole
//! words as `optlen` has room for, and then sets `optlen` to the size of
//! the whole bitmap in bytes, whether it fitted or not.
//!
//! Your task: replace each `todo!()` below. `cargo xtask exercise` checks your work.

// The parameters are unused until you write the bodies.
#![allow(unused_variables)]

use std::os::fd::BorrowedFd;

/// Socket option level for netlink (`<linux/socket.h>`).
pub const SOL_NETLINK: i32 = 270;
/// Join the group given as an `int` (`<linux/netlink.h>`).
pub const NETLINK_ADD_MEMBERSHIP: i32 = 1;
/// Leave the group given as an `int`.
pub const NETLINK_DROP_MEMBERSHIP: i32 = 2;
/// Read the group bitmap back (`getsockopt` only).
pub const NETLINK_LIST_MEMBERSHIPS: i32 = 9;

/// What the kernel answered when a call failed: the errno value, e.g.
/// `Errno(libc::EINVAL)`. Read it right after the failed call with
/// `std::io::Error::last_os_error().raw_os_error()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

/// The `nl_groups` bit of `group`: bit `group - 1`.
///
/// `group_mask(1) == Some(0x1)`, `group_mask(22) == Some(0x0020_0000)`.
/// `None` for group 0 (there is none) and for groups above 32 (a `u32`
/// has no bit for them).
pub fn group_mask(group: u32) -> Option<u32> {
    todo!()
}

/// The groups set in a `NETLINK_LIST_MEMBERSHIPS` bitmap, ascending.
///
/// `groups_in_bitmap(&[0x11, 0x1]) == [1, 5, 33]`.
pub fn groups_in_bitmap(words: &[u32]) -> Vec<u32> {
    todo!()
}

/// Join `group` on `sock` with `NETLINK_ADD_MEMBERSHIP`.
///
/// TODO: `libc::setsockopt` with a pointer to the group as a `u32` (or
/// `c_int`) and its size. The kernel answers EINVAL for a group the family
/// does not have, EPERM when the caller may not join.
pub fn join_group(sock: BorrowedFd<'_>, group: u32) -> Result<(), Errno> {
    todo!()
}

/// Leave `group` on `sock` with `NETLINK_DROP_MEMBERSHIP`.
pub fn leave_group(sock: BorrowedFd<'_>, group: u32) -> Result<(), Errno> {
    todo!()
}

/// The groups `sock` is a member of, ascending, read with
/// `NETLINK_LIST_MEMBERSHIPS`. A socket that never joined a group has no
/// bitmap (the kernel answers `optlen` 0): that is `Ok(vec![])`.
///
/// TODO: a first `getsockopt` with no room (`optlen` 0) tells you the
/// size; a second one with a buffer of that size reads the bitmap. A
/// fixed one-word buffer is not enough: groups above 32 live in the next
/// words.
pub fn memberships(sock: BorrowedFd<'_>) -> Result<Vec<u32>, Errno> {
    todo!()
}
