//! Chapter 12 exercise: where does the answer to a request end?
//!
//! A program sends a request with sequence number `seq` and then reads
//! datagrams. Each `recv` (with `MSG_TRUNC`) gives the bytes copied, the
//! datagram's real size, and the sender's address, whose `nl_groups` names
//! the group the kernel built the message for: 0 for an answer, the
//! group's bit for a notification.
//!
//! The answer's messages carry `seq`. Everything else is skipped: messages
//! with another sequence number (the answers to other requests), and every
//! message of a datagram whose `nl_groups` is not 0, whatever its sequence
//! number. A notification is not part of any answer, even when it carries
//! `seq`: rtnetlink and XFRM copy the requester's sequence number into the
//! notification of the change a request made, and a socket that is in the
//! group hears it before the ACK (so does the requester that asked for it
//! with `NLM_F_ECHO`; that copy names its group too). The answer ends with:
//!
//! - an `NLMSG_ERROR` (type 2) whose first 4 payload bytes, an `i32`, are
//!   0: the ACK that `NLM_F_ACK` asked for;
//! - an `NLMSG_ERROR` with a negative errno: the request failed;
//! - an `NLMSG_DONE` (type 3): the end of a dump;
//! - for a request without `NLM_F_ACK`, its first reply that is not part
//!   of a dump (no `NLM_F_MULTI`, 0x2).
//!
//! A dump is interrupted when any of its messages, `NLMSG_DONE` included,
//! carries `NLM_F_DUMP_INTR` (0x10).
//!
//! Every message is a 16-byte header (`nlmsg_len` u32, `nlmsg_type` u16,
//! `nlmsg_flags` u16, `nlmsg_seq` u32, `nlmsg_pid` u32, host byte order),
//! its payload, and padding to a multiple of 4; `nlmsg_len` counts header
//! and payload, not the padding.
//!
//! Your task: replace the `todo!()` below. `cargo xtask exercise` checks your work.

// The parameters are unused until you write the body.
#![allow(unused_variables)]

/// `NLMSG_ERROR`: an error, or with error 0 an ACK.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the end of a dump.
pub const NLMSG_DONE: u16 = 3;
/// `NLM_F_MULTI`: part of a multi-part answer (a dump).
pub const NLM_F_MULTI: u16 = 0x2;
/// `NLM_F_DUMP_INTR`: the dump changed while it was being built.
pub const NLM_F_DUMP_INTR: u16 = 0x10;
/// `sizeof(struct nlmsghdr)`.
pub const NLMSG_HDRLEN: usize = 16;

/// What one `recv` returned.
#[derive(Clone, Copy, Debug)]
pub struct Datagram<'a> {
    /// The bytes copied into the buffer.
    pub bytes: &'a [u8],
    /// The datagram's real size, which `MSG_TRUNC` makes `recv` return.
    pub size: usize,
    /// `nl_groups` of the sender's address (`msg_name`): 0 for an answer,
    /// non-zero for a notification.
    pub groups: u32,
}

/// How far the answer got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Not finished: read more. `messages` of it so far.
    Pending { messages: usize },
    /// The ACK came, after `messages` other messages of the answer.
    Acked { messages: usize },
    /// The request failed with this errno (positive, e.g. 19 for ENODEV).
    Failed { errno: i32 },
    /// A dump ended after `messages` messages (`NLMSG_DONE` not counted);
    /// `interrupted` if any of them, or the `NLMSG_DONE`, carried
    /// `NLM_F_DUMP_INTR`.
    DumpDone { messages: usize, interrupted: bool },
    /// The one reply of a request without `NLM_F_ACK`.
    Replied,
}

/// Why the datagrams cannot be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Datagram `index` (from 0) was cut: `size` bytes, only `copied` arrived.
    Truncated {
        index: usize,
        copied: usize,
        size: usize,
    },
    /// In datagram `index`, the message at byte `offset` does not hold
    /// together: fewer than 16 bytes left for a header, `nlmsg_len` below
    /// 16 or past the end, or an `NLMSG_ERROR` / `NLMSG_DONE` whose payload
    /// is shorter than its 4-byte error code.
    Malformed { index: usize, offset: usize },
}

/// Follow the answer to request `seq` through `datagrams`, in the order
/// they were received; `acked` says whether the request carried
/// `NLM_F_ACK`. Stop at the message that ends the answer; anything after
/// it is not looked at. Check every datagram and every message it gets to
/// before using it, notifications included: a bad length anywhere is an
/// error.
pub fn follow(datagrams: &[Datagram], seq: u32, acked: bool) -> Result<Answer, Error> {
    todo!()
}
