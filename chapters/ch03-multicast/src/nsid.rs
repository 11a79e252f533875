//! Hearing other network namespaces: `NETLINK_LISTEN_ALL_NSID` on a
//! listener, the id one namespace gives another (`RTM_NEWNSID`), and the
//! control message that says which namespace a notification came from.

use std::mem;
use std::os::fd::{AsRawFd, RawFd};

use anyhow::{Result, bail};
use nlbook_common::uapi::{NLM_F_ACK, NLM_F_REQUEST, NLMSG_ERROR, SOL_NETLINK};
use nlbook_common::{Errno, MsgBuilder, NlMsgIter, NlSocket, SysError};

/// `NETLINK_LISTEN_ALL_NSID` (`linux/netlink.h`).
pub const NETLINK_LISTEN_ALL_NSID: i32 = 8;
/// `RTM_NEWNSID` (`linux/rtnetlink.h`): give a namespace an id.
pub const RTM_NEWNSID: u16 = 88;
/// `NETNSA_NSID` (`linux/net_namespace.h`): the id, an `s32`.
pub const NETNSA_NSID: u16 = 1;
/// `NETNSA_FD`: a file descriptor of the namespace to name, a `u32`.
pub const NETNSA_FD: u16 = 3;

/// Deliver notifications from every namespace that has an id in this
/// socket's namespace, each with that id in a control message.
pub fn listen_all_nsid(sock: &NlSocket) -> Result<(), SysError> {
    sock.set_option(SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, 1)
}

// ANCHOR: set_nsid
/// Give the namespace of `netns_fd` the id `nsid` in the namespace of
/// `sock`, and wait for the ACK.
pub fn set_nsid(sock: &NlSocket, netns_fd: RawFd, nsid: i32) -> Result<()> {
    let fd = u32::try_from(netns_fd)?;
    // struct rtgenmsg: one byte, the address family, padded to 4.
    let request = MsgBuilder::new(RTM_NEWNSID, NLM_F_REQUEST | NLM_F_ACK, 1)
        .fixed(&[libc::AF_UNSPEC as u8])
        .attr(NETNSA_NSID, &nsid.to_ne_bytes())
        .attr(NETNSA_FD, &fd.to_ne_bytes())
        .finish()?;
    sock.send_to(&request, 0, 0)?;
    let mut buf = vec![0u8; 8192];
    let got = sock.recv(&mut buf)?;
    for msg in NlMsgIter::new(&buf[..got.len]) {
        let msg = msg?;
        if msg.header.nlmsg_type == NLMSG_ERROR
            && let Some(code) = msg.payload.get(..4)
        {
            let code = i32::from_ne_bytes([code[0], code[1], code[2], code[3]]);
            if code != 0 {
                bail!("RTM_NEWNSID: {}", Errno(code.saturating_neg()));
            }
            return Ok(());
        }
    }
    bail!("RTM_NEWNSID: no ACK")
}
// ANCHOR_END: set_nsid

// ANCHOR: recv_with_nsid
/// One datagram, if one is queued (`MSG_DONTWAIT`), and the namespace id
/// from its `NETLINK_LISTEN_ALL_NSID` control message, which the kernel
/// adds only to a message from another namespace.
pub fn recv_with_nsid(sock: &NlSocket) -> Result<Option<(Vec<u8>, Option<i32>)>> {
    let mut buf = vec![0u8; 8192];
    // Room for one cmsghdr and its int, aligned as the kernel writes it.
    let mut control = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast::<libc::c_void>(),
        iov_len: buf.len(),
    };
    // SAFETY: a zeroed msghdr is valid; the fields set below point at
    // buffers that outlive the call, with their lengths.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast::<libc::c_void>();
    msg.msg_controllen = mem::size_of_val(&control);
    // SAFETY: msg describes valid buffers (above).
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
    let Ok(len) = usize::try_from(n) else {
        let err = SysError::last("recvmsg(AF_NETLINK, MSG_DONTWAIT)");
        if err.errno == Errno(libc::EAGAIN) {
            return Ok(None);
        }
        return Err(err.into());
    };
    let mut nsid = None;
    // SAFETY: the CMSG_* macros walk the control buffer the kernel filled,
    // within msg_controllen.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == SOL_NETLINK && (*cmsg).cmsg_type == NETLINK_LISTEN_ALL_NSID {
                nsid = Some(libc::CMSG_DATA(cmsg).cast::<i32>().read_unaligned());
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    buf.truncate(len.min(buf.len()));
    Ok(Some((buf, nsid)))
}
// ANCHOR_END: recv_with_nsid
