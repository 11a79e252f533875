//! What this chapter adds to `nlbook_common::membership` (joining, leaving,
//! `NETLINK_LIST_MEMBERSHIPS`): the bitmap's words and length as the kernel
//! reports them, `NETLINK_NO_ENOBUFS`, and the socket's inode, which names
//! it in every kernel report.

use std::mem;
use std::os::fd::AsRawFd;

use nlbook_common::SysError;
use nlbook_common::membership::list_memberships_into;

use crate::groups::Groups;

// include/uapi/linux/netlink.h: options at SOL_NETLINK
/// Do not report `ENOBUFS` after the kernel dropped messages for this socket.
pub const NETLINK_NO_ENOBUFS: i32 = 5;

/// What `NETLINK_LIST_MEMBERSHIPS` answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Memberships {
    /// The `u32` words, word 0 first.
    pub words: Vec<u32>,
    /// The length the kernel reported: `ALIGN(BITS_TO_BYTES(ngroups), 4)`,
    /// 0 for a socket that never joined a group.
    pub len: usize,
}

impl Memberships {
    /// The groups the words name.
    pub fn groups(&self) -> Groups {
        Groups::from_u32_words(&self.words)
    }
}

/// `NETLINK_LIST_MEMBERSHIPS`, keeping the words and the length: ask how
/// big the bitmap is, then read it whole.
pub fn list_memberships(sock: &impl AsRawFd) -> Result<Memberships, SysError> {
    let mut words: Vec<u32> = Vec::new();
    loop {
        let len = list_memberships_into(sock, &mut words)?;
        if len <= mem::size_of_val(words.as_slice()) {
            words.truncate(len / mem::size_of::<u32>());
            return Ok(Memberships { words, len });
        }
        words.resize(len.div_ceil(mem::size_of::<u32>()), 0);
    }
}

/// The inode number of a socket (`fstat`): what `netlink_diag_msg` and
/// `/proc/net/netlink` call it by.
pub fn socket_inode(sock: &impl AsRawFd) -> Result<u64, SysError> {
    // SAFETY: all-zero bytes are a valid struct stat.
    let mut st: libc::stat = unsafe { mem::zeroed() };
    // SAFETY: st is a struct stat the kernel may write to.
    let rc = unsafe { libc::fstat(sock.as_raw_fd(), &mut st) };
    if rc < 0 {
        return Err(SysError::last("fstat(socket)"));
    }
    Ok(st.st_ino)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlbook_common::membership::{join_group, leave_group};
    use nlbook_common::uapi::NETLINK_ROUTE;
    use nlbook_common::{NlSocket, in_fresh_netns};

    #[test]
    fn words_and_length_on_rtnetlink() {
        in_fresh_netns(|| {
            let s = NlSocket::open(NETLINK_ROUTE).unwrap();
            // Before any join the socket has no bitmap: length 0.
            assert_eq!(list_memberships(&s).unwrap().len, 0);
            s.bind(0, 0x1).unwrap();
            join_group(&s, 33).unwrap();
            join_group(&s, 36).unwrap();
            let m = list_memberships(&s).unwrap();
            assert_eq!(m.words, [0x1, 0x9]);
            assert_eq!(m.len, 8);
            assert_eq!(m.groups(), Groups::of([1, 33, 36]));
            // Leaving everything keeps the bitmap: the length stays.
            for g in [1, 33, 36] {
                leave_group(&s, g).unwrap();
            }
            let m = list_memberships(&s).unwrap();
            assert_eq!((m.words, m.len), (vec![0, 0], 8));
        })
        .unwrap();
    }

    #[test]
    fn inodes_tell_sockets_apart() {
        in_fresh_netns(|| {
            let a = NlSocket::open(NETLINK_ROUTE).unwrap();
            let b = NlSocket::open(NETLINK_ROUTE).unwrap();
            let (ia, ib) = (socket_inode(&a).unwrap(), socket_inode(&b).unwrap());
            assert_ne!(ia, 0);
            assert_ne!(ia, ib);
        })
        .unwrap();
    }
}
