//! Multicast group membership of a netlink socket: how groups are numbered
//! in `nl_groups`, joining and leaving with `setsockopt`, and reading back
//! the kernel's bitmap with `NETLINK_LIST_MEMBERSHIPS`.
//!
//! Groups are numbered from 1. In `sockaddr_nl.nl_groups`, group `g` is bit
//! `g - 1`, so a bitmask names groups 1 to 32 only. The socket options take
//! the group number itself and reach every group the family has.
//!
//! The functions take any socket (`AsRawFd`), so they work on a neli
//! socket's descriptor as well as on [`NlSocket`](crate::NlSocket).

use std::fmt;
use std::mem;
use std::os::fd::AsRawFd;

use crate::errno::{Errno, SysError};
use crate::uapi::SOL_NETLINK;

// netlink.h: socket options at SOL_NETLINK
/// Join the group given as an `int` (a group number, not a bitmask).
pub const NETLINK_ADD_MEMBERSHIP: i32 = 1;
/// Leave the group given as an `int`.
pub const NETLINK_DROP_MEMBERSHIP: i32 = 2;
/// Read back the socket's group bitmap (`getsockopt` only).
pub const NETLINK_LIST_MEMBERSHIPS: i32 = 9;

// ANCHOR: group_mask
/// The `nl_groups` bit of `group`: bit `group - 1`. `None` for group 0
/// (there is none) and for groups above 32 (a `u32` has no bit for them:
/// join those with [`join_group`]).
pub const fn group_mask(group: u32) -> Option<u32> {
    match group {
        1..=32 => Some(1 << (group - 1)),
        _ => None,
    }
}

/// The groups set in a `NETLINK_LIST_MEMBERSHIPS` bitmap, ascending: bit
/// `b` of word `w` is group `32 * w + b + 1`. A `nl_groups` mask is the
/// one-word case.
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
// ANCHOR_END: group_mask

/// Why joining or leaving a group failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MembershipError {
    /// `EPERM`: the family does not let just anyone listen, and the caller
    /// lacks `CAP_NET_ADMIN` over the socket's network namespace.
    NeedCapNetAdmin(SysError),
    /// `EINVAL`: group 0, or a group past the family's last one.
    NoSuchGroup {
        /// The group asked for.
        group: u32,
        /// The failed call.
        sys: SysError,
    },
    /// Another failure.
    Sys(SysError),
}

impl MembershipError {
    /// Name the failure of a call that tried to join `group`: a
    /// `setsockopt`, or a `bind` with `nl_groups` (pass its lowest group).
    pub fn classify(sys: SysError, group: u32) -> Self {
        match sys.errno.0 {
            libc::EPERM => MembershipError::NeedCapNetAdmin(sys),
            libc::EINVAL => MembershipError::NoSuchGroup { group, sys },
            _ => MembershipError::Sys(sys),
        }
    }

    /// The errno the kernel answered.
    pub fn errno(&self) -> Errno {
        match self {
            MembershipError::NeedCapNetAdmin(sys)
            | MembershipError::NoSuchGroup { sys, .. }
            | MembershipError::Sys(sys) => sys.errno,
        }
    }
}

impl fmt::Display for MembershipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MembershipError::NeedCapNetAdmin(sys) => write!(
                f,
                "{sys}: joining a group of this family needs CAP_NET_ADMIN over the socket's \
                 network namespace (the family does not set NL_CFG_F_NONROOT_RECV): run as root, \
                 or under `unshare -Urn`"
            ),
            MembershipError::NoSuchGroup { group, sys } => write!(
                f,
                "{sys}: the family has no group {group} (groups are numbered from 1 to the \
                 family's group count)"
            ),
            MembershipError::Sys(sys) => write!(f, "{sys}"),
        }
    }
}

impl std::error::Error for MembershipError {}

fn set_group_option(
    sock: &impl AsRawFd,
    option: i32,
    name: &str,
    group: u32,
) -> Result<(), MembershipError> {
    // SAFETY: the option value is a u32 (the kernel reads an int) that
    // outlives the call, and its size is passed alongside.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            SOL_NETLINK,
            option,
            (&raw const group).cast::<libc::c_void>(),
            mem::size_of::<u32>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        let sys = SysError::last(format!("setsockopt(SOL_NETLINK, {name}, {group})"));
        return Err(MembershipError::classify(sys, group));
    }
    Ok(())
}

// ANCHOR: join
/// Join `group` with `setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP)`.
/// Works for every group of the family, above 32 too.
pub fn join_group(sock: &impl AsRawFd, group: u32) -> Result<(), MembershipError> {
    set_group_option(
        sock,
        NETLINK_ADD_MEMBERSHIP,
        "NETLINK_ADD_MEMBERSHIP",
        group,
    )
}

/// Leave `group` (`NETLINK_DROP_MEMBERSHIP`). Leaving a group the socket
/// is not in succeeds: the kernel just clears a bit that was clear.
pub fn leave_group(sock: &impl AsRawFd, group: u32) -> Result<(), MembershipError> {
    set_group_option(
        sock,
        NETLINK_DROP_MEMBERSHIP,
        "NETLINK_DROP_MEMBERSHIP",
        group,
    )
}
// ANCHOR_END: join

// ANCHOR: list
/// One `getsockopt(SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS)` with room for
/// `words.len()` words. The kernel copies as many whole words of the bitmap
/// as fit and always answers, in `optlen`, the size of the whole bitmap in
/// bytes: that answer is what this returns. 0 means the socket has never
/// joined a group (it has no bitmap yet).
pub fn list_memberships_into(sock: &impl AsRawFd, words: &mut [u32]) -> Result<usize, SysError> {
    // The kernel reads optlen as an int: never claim more than i32::MAX.
    let room = mem::size_of_val(words).min(i32::MAX as usize);
    let mut optlen = room as libc::socklen_t;
    // SAFETY: words is valid for writes of optlen bytes (or fewer), and
    // optlen is a valid socklen_t the kernel overwrites.
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
        return Err(SysError::last(
            "getsockopt(SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS)",
        ));
    }
    Ok(optlen as usize)
}

/// The socket's groups, ascending: ask how big the bitmap is, then read
/// it whole. (A family can gain groups in between, so ask until it fits.)
pub fn memberships(sock: &impl AsRawFd) -> Result<Vec<u32>, SysError> {
    let mut words: Vec<u32> = Vec::new();
    loop {
        let needed = list_memberships_into(sock, &mut words)?;
        if needed <= mem::size_of_val(words.as_slice()) {
            return Ok(groups_in_bitmap(&words));
        }
        words.resize(needed.div_ceil(mem::size_of::<u32>()), 0);
    }
}
// ANCHOR_END: list

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uapi::NETLINK_ROUTE;
    use crate::{NlSocket, in_fresh_netns};

    #[test]
    fn group_numbers_and_bits() {
        assert_eq!(group_mask(0), None);
        assert_eq!(group_mask(1), Some(0x1));
        assert_eq!(group_mask(22), Some(0x0020_0000));
        assert_eq!(group_mask(32), Some(0x8000_0000));
        assert_eq!(group_mask(33), None);
        assert_eq!(groups_in_bitmap(&[0x0020_0011]), [1, 5, 22]);
        assert_eq!(groups_in_bitmap(&[0x8000_0000, 0x1]), [32, 33]);
        assert_eq!(groups_in_bitmap(&[]), Vec::<u32>::new());
        for g in 1..=32 {
            assert_eq!(groups_in_bitmap(&[group_mask(g).unwrap()]), [g]);
        }
    }

    #[test]
    fn messages_say_what_to_do() {
        let sys = SysError {
            call: "setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, 22)".into(),
            errno: Errno(libc::EPERM),
        };
        let e = MembershipError::classify(sys, 22);
        assert_eq!(e.errno(), Errno(libc::EPERM));
        let text = e.to_string();
        assert!(
            text.contains("CAP_NET_ADMIN") && text.contains("unshare -Urn"),
            "{text}"
        );
        let sys = SysError {
            call: "setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, 0)".into(),
            errno: Errno(libc::EINVAL),
        };
        assert!(matches!(
            MembershipError::classify(sys, 0),
            MembershipError::NoSuchGroup { group: 0, .. }
        ));
    }

    #[test]
    fn join_list_and_leave_beyond_32() {
        in_fresh_netns(|| {
            let s = NlSocket::open(NETLINK_ROUTE).unwrap();
            s.bind(0, 0).unwrap();
            // No group joined yet: no bitmap, nothing to copy.
            assert_eq!(list_memberships_into(&s, &mut []).unwrap(), 0);
            assert!(memberships(&s).unwrap().is_empty());
            join_group(&s, 33).unwrap();
            join_group(&s, 1).unwrap();
            assert_eq!(memberships(&s).unwrap(), [1, 33]);
            // One word is not enough for group 33: the kernel says so.
            let mut one = [0u32; 1];
            assert!(list_memberships_into(&s, &mut one).unwrap() > 4);
            assert_eq!(one, [1]);
            leave_group(&s, 33).unwrap();
            leave_group(&s, 33).unwrap(); // not a member: still fine
            assert_eq!(memberships(&s).unwrap(), [1]);
            assert_eq!(join_group(&s, 0).unwrap_err().errno(), Errno(libc::EINVAL));
        })
        .unwrap();
    }
}
