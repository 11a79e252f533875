//! Chapter 6 exercise: receive buffers, and losing messages on purpose.
//!
//! The kernel's rules (chapter 6, `net/core/sock.c` and
//! `net/netlink/af_netlink.c`, 6.1):
//!
//! - `setsockopt(SO_RCVBUF, v)` stores `max(2 * min(v, rmem_max),
//!   SOCK_MIN_RCVBUF)`; a negative `v` is read as a huge unsigned number,
//!   so `rmem_max` caps it.
//! - A message is queued when the queue, counted with the message's
//!   truesize, stays within that size, or when the queue is empty.
//! - After a drop, the next `recv` fails with `ENOBUFS`, once; the messages
//!   that were queued follow; `EAGAIN` (with `MSG_DONTWAIT`) means empty.
//!
//! Your task: replace each `todo!()` below. `cargo xtask exercise` checks your work.

// The parameters are unused until you write the bodies.
#![allow(unused_variables)]

use std::os::fd::BorrowedFd;

/// `SOCK_MIN_RCVBUF` on x86_64: 2048 + `SKB_DATA_ALIGN(sizeof(struct sk_buff))`.
pub const SOCK_MIN_RCVBUF: u32 = 2304;

/// What `setsockopt(SO_RCVBUF, requested)` leaves in `sk_rcvbuf`.
///
/// `effective_rcvbuf(1024, 212992) == 2304`,
/// `effective_rcvbuf(65536, 212992) == 131072`,
/// `effective_rcvbuf(1 << 20, 212992) == 425984`.
pub fn effective_rcvbuf(requested: i32, rmem_max: u32) -> u32 {
    todo!()
}

/// How many messages of `truesize` bytes an empty queue of `rcvbuf` bytes
/// accepts: `messages_that_fit(2304, 768) == 3`, and never fewer than 1
/// (the first message always gets in). `u32::MAX` for a truesize of 0.
pub fn messages_that_fit(rcvbuf: u32, truesize: u32) -> u32 {
    todo!()
}

/// The smallest `SO_RCVBUF` request whose effective size holds `burst`
/// messages of `truesize` bytes, or `None` if `rmem_max` does not allow it
/// (only `SO_RCVBUFFORCE` could). `request_for(16, 768, 212992) ==
/// Some(6144)`: the kernel doubles it to 12288 = 16 * 768.
pub fn request_for(burst: u32, truesize: u32, rmem_max: u32) -> Option<i32> {
    todo!()
}

/// What one non-blocking receive said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recv {
    /// A message; the number is its `nlmsg_seq`.
    Message(u32),
    /// `ENOBUFS`: the kernel dropped messages for this socket.
    Lost,
    /// `EAGAIN`: nothing is queued.
    Empty,
}

/// What a listener does about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Apply the message with this number.
    Apply(u32),
    /// Rebuild the state from a dump.
    Resync,
}

/// One `recv(fd, buf, MSG_DONTWAIT)`: `Message` with the `nlmsg_seq` of the
/// first netlink message in the datagram (bytes 8..12 of its header, host
/// byte order), `Lost` for `ENOBUFS`, `Empty` for `EAGAIN`; retry on
/// `EINTR`; any other error, or a datagram shorter than a 16-byte header,
/// is `Err(errno)` (use `libc::EBADMSG` for the short datagram).
pub fn recv_once(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<Recv, i32> {
    todo!()
}

/// Read until `Empty`, calling `recv` for each receive. Every message
/// becomes `Apply`, in order. If any receive said `Lost`, the actions end
/// with exactly one `Resync`, after the messages still queued: those are
/// older than the dump that follows.
pub fn receive_loop(mut recv: impl FnMut() -> Result<Recv, i32>) -> Result<Vec<Action>, i32> {
    todo!()
}
