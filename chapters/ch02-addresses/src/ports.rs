//! Port ids: what the kernel hands out, and how the chapter's programs talk
//! about them without printing numbers that change from run to run.
//!
//! A port id is a `u32` that names one netlink socket within one protocol
//! and one network namespace. Reports here never print one: a port id
//! assigned by the kernel is a process id or a random number. They print
//! facts about it instead ("port id == process id: yes") or a name the
//! program gave the socket ("A", "B").

use std::ops::RangeInclusive;
use std::os::fd::AsRawFd;

use anyhow::Result;
use nlbook_common::{Errno, NlMsgHdr, NlSocket, Received, SysError, nlmsg_length};

// ANCHOR: autobind_range
/// Where `netlink_autobind()` looks when the process id is taken: a random
/// start in `[S32_MIN, -4097]`, then downwards (net/netlink/af_netlink.c,
/// 6.1: `rover = S32_MIN + prandom_u32_max(-4096 - S32_MIN)`). Port ids
/// are `u32` on the wire; these are their values read as `i32`.
pub const AUTOBIND_NEGATIVE: RangeInclusive<i32> = i32::MIN..=-4097;

/// Whether `portid` is one `netlink_autobind()` picks after a collision.
pub fn in_autobind_range(portid: u32) -> bool {
    AUTOBIND_NEGATIVE.contains(&(portid as i32))
}
// ANCHOR_END: autobind_range

/// The first netlink socket a process binds with `nl_pid = 0` is offered
/// the process id: `task_tgid_vnr(current)`, the process (thread group) id
/// as the process itself sees it, which is what `getpid()` returns.
pub fn process_id() -> u32 {
    std::process::id()
}

/// `yes` or `no`: reports state facts, not values.
pub fn yes_no(fact: bool) -> &'static str {
    if fact { "yes" } else { "no" }
}

/// A port id nobody in the chapter's programs binds: sending to it shows
/// what happens when no socket holds the destination. It is not a process
/// id the kernel gives out (pids stop at `pid_max`, at most 2^22) nor in
/// the autobind range.
pub const NOBODY: u32 = u32::MAX;

/// Names for the port ids of one report, so it can say "B" instead of a
/// number that changes from run to run.
#[derive(Clone, Debug, Default)]
pub struct PortNames {
    names: Vec<(u32, String)>,
}

impl PortNames {
    /// No names yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Call `portid` by `name` from now on. A later name for the same port
    /// id wins: port ids are reused once their socket is closed.
    pub fn name(&mut self, portid: u32, name: impl Into<String>) {
        self.names.retain(|(p, _)| *p != portid);
        self.names.push((portid, name.into()));
    }

    /// The name of `portid`, or "an unknown port id".
    pub fn of(&self, portid: u32) -> String {
        self.names
            .iter()
            .find(|(p, _)| *p == portid)
            .map_or_else(|| "an unknown port id".to_owned(), |(_, n)| n.clone())
    }
}

// ANCHOR: message
/// One netlink message with the `nlmsg_pid` the caller chooses, padded to
/// `NLMSG_SPACE`. The kernel does not check `nlmsg_pid` against anything:
/// the sender's real address travels beside the message, not in it.
pub fn message(
    nlmsg_type: u16,
    nlmsg_flags: u16,
    nlmsg_seq: u32,
    nlmsg_pid: u32,
    payload: &[u8],
) -> Result<Vec<u8>> {
    let header = NlMsgHdr {
        nlmsg_len: u32::try_from(nlmsg_length(payload.len()))?,
        nlmsg_type,
        nlmsg_flags,
        nlmsg_seq,
        nlmsg_pid,
    };
    let mut datagram = header.to_bytes().to_vec();
    datagram.extend_from_slice(payload);
    datagram.resize(nlbook_common::nlmsg_align(datagram.len()), 0);
    Ok(datagram)
}
// ANCHOR_END: message

/// A text payload: its bytes and a NUL.
pub fn text_payload(text: &str) -> Vec<u8> {
    let mut payload = text.as_bytes().to_vec();
    payload.push(0);
    payload
}

/// The text of a payload: up to its first NUL, or all of it.
pub fn payload_text(payload: &[u8]) -> String {
    let end = payload
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(payload.len());
    String::from_utf8_lossy(&payload[..end]).into_owned()
}

/// Make reads on `sock` return `EAGAIN` at once when nothing is queued.
pub fn set_nonblocking(sock: &impl AsRawFd) -> Result<(), SysError> {
    let fd = sock.as_raw_fd();
    // SAFETY: fcntl with F_GETFL/F_SETFL takes no pointers.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(SysError::last("fcntl(O_NONBLOCK)"));
    }
    Ok(())
}

// ANCHOR: recv_now
/// Read what is queued on a non-blocking socket: `None` if nothing is.
///
/// Enough to tell whether a message was delivered, without waiting:
/// netlink unicast queues the message on the receiving socket before the
/// sender's `sendmsg()` returns (`netlink_unicast()` in
/// net/netlink/af_netlink.c), and a kernel socket's `input` runs inside
/// that same call (`netlink_unicast_kernel()`), so its answers are queued
/// by then too.
pub fn recv_now(sock: &NlSocket, buf: &mut [u8]) -> Result<Option<Received>, SysError> {
    match sock.recv(buf) {
        Ok(got) => Ok(Some(got)),
        Err(e) if e.errno == Errno(libc::EAGAIN) => Ok(None),
        Err(e) => Err(e),
    }
}
// ANCHOR_END: recv_now

/// The one message a datagram must hold, and its header and payload.
pub fn single_message(datagram: &[u8]) -> Result<(NlMsgHdr, Vec<u8>)> {
    let mut messages = nlbook_common::NlMsgIter::new(datagram);
    let Some(first) = messages.next() else {
        anyhow::bail!("an empty datagram");
    };
    let first = first?;
    if messages.next().is_some() {
        anyhow::bail!("a datagram with more than one message");
    }
    Ok((first.header, first.payload.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autobind_range_edges() {
        assert!(in_autobind_range(i32::MIN as u32));
        assert!(in_autobind_range(-4097i32 as u32));
        assert!(!in_autobind_range(-4096i32 as u32));
        assert!(!in_autobind_range(1));
        assert!(!in_autobind_range(NOBODY));
        assert!(!in_autobind_range(0));
    }

    #[test]
    fn names_follow_reuse() {
        let mut names = PortNames::new();
        names.name(7, "A");
        names.name(0, "the kernel");
        assert_eq!(names.of(7), "A");
        assert_eq!(names.of(8), "an unknown port id");
        names.name(7, "C");
        assert_eq!(names.of(7), "C");
    }

    #[test]
    fn message_writes_the_chosen_pid_and_pads() {
        let m = message(0x10, 1, 9, 4242, b"hi\0").unwrap();
        assert_eq!(m.len(), 20);
        let h = NlMsgHdr::from_bytes(&m).unwrap();
        assert_eq!(h.nlmsg_len, 19);
        assert_eq!(h.nlmsg_pid, 4242);
        assert_eq!(h.nlmsg_seq, 9);
        let (header, payload) = single_message(&m).unwrap();
        assert_eq!(header, h);
        assert_eq!(payload_text(&payload), "hi");
    }

    #[test]
    fn texts() {
        assert_eq!(text_payload("ping"), b"ping\0");
        assert_eq!(payload_text(b"pong\0\0\0"), "pong");
        assert_eq!(payload_text(b"no nul"), "no nul");
    }

    #[test]
    fn single_message_refuses_two() {
        let mut two = message(0x10, 0, 1, 0, b"").unwrap();
        two.extend(message(0x10, 0, 2, 0, b"").unwrap());
        assert!(single_message(&two).is_err());
        assert!(single_message(&[]).is_err());
    }
}
