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
//! This is the solution.

use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd};

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
    match group {
        1..=32 => Some(1 << (group - 1)),
        _ => None,
    }
}

/// The groups set in a `NETLINK_LIST_MEMBERSHIPS` bitmap, ascending.
///
/// `groups_in_bitmap(&[0x11, 0x1]) == [1, 5, 33]`.
pub fn groups_in_bitmap(words: &[u32]) -> Vec<u32> {
    let mut groups = Vec::new();
    for (group_base, word) in (0u32..).step_by(32).zip(words) {
        for bit in 0..32 {
            if word & (1 << bit) != 0 {
                groups.push(group_base + bit + 1);
            }
        }
    }
    groups
}

/// The calling thread's errno, right after a failed call.
fn last_errno() -> Errno {
    Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

fn set_group_option(sock: BorrowedFd<'_>, option: i32, group: u32) -> Result<(), Errno> {
    // SAFETY: the value is a u32 that outlives the call; its size is passed
    // alongside.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            SOL_NETLINK,
            option,
            (&raw const group).cast::<libc::c_void>(),
            mem::size_of::<u32>() as libc::socklen_t,
        )
    };
    if rc < 0 { Err(last_errno()) } else { Ok(()) }
}

/// One `NETLINK_LIST_MEMBERSHIPS` into `words`; returns the size of the
/// whole bitmap in bytes, as the kernel reports it.
fn list_into(sock: BorrowedFd<'_>, words: &mut [u32]) -> Result<usize, Errno> {
    let mut optlen = mem::size_of_val(words).min(i32::MAX as usize) as libc::socklen_t;
    // SAFETY: words is valid for writes of optlen bytes; optlen is a valid
    // socklen_t for the kernel to overwrite.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            SOL_NETLINK,
            NETLINK_LIST_MEMBERSHIPS,
            words.as_mut_ptr().cast::<libc::c_void>(),
            &raw mut optlen,
        )
    };
    if rc < 0 {
        return Err(last_errno());
    }
    Ok(optlen as usize)
}

/// Join `group` on `sock` with `NETLINK_ADD_MEMBERSHIP`.
///
/// The kernel answers EINVAL for a group the family does not have, EPERM
/// when the caller may not join.
pub fn join_group(sock: BorrowedFd<'_>, group: u32) -> Result<(), Errno> {
    set_group_option(sock, NETLINK_ADD_MEMBERSHIP, group)
}

/// Leave `group` on `sock` with `NETLINK_DROP_MEMBERSHIP`.
pub fn leave_group(sock: BorrowedFd<'_>, group: u32) -> Result<(), Errno> {
    set_group_option(sock, NETLINK_DROP_MEMBERSHIP, group)
}

/// The groups `sock` is a member of, ascending, read with
/// `NETLINK_LIST_MEMBERSHIPS`. A socket that never joined a group has no
/// bitmap (the kernel answers `optlen` 0): that is `Ok(vec![])`.
///
/// A first `getsockopt` with no room (`optlen` 0) tells the size; a second
/// one with a buffer of that size reads the bitmap.
pub fn memberships(sock: BorrowedFd<'_>) -> Result<Vec<u32>, Errno> {
    let mut words: Vec<u32> = Vec::new();
    // Ask with the room we have; if the bitmap is bigger (it may also grow
    // in between: generic netlink adds groups at run time), make room and
    // ask again.
    loop {
        let needed = list_into(sock, &mut words)?;
        if needed <= mem::size_of_val(words.as_slice()) {
            return Ok(groups_in_bitmap(&words));
        }
        words.resize(needed.div_ceil(mem::size_of::<u32>()), 0);
    }
}
