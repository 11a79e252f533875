//! Chapter 6, "Pitfall: ENOBUFS and receive buffers": what the chapter's
//! programs share.
//!
//! - [`rcvbuf`]: `SO_RCVBUF` and `SO_RCVBUFFORCE` as the kernel applies them,
//!   the queue's memory (`SO_MEMINFO`), `NETLINK_NO_ENOBUFS`, and the
//!   arithmetic of how many messages a buffer holds.
//! - [`queue`]: reading what is queued without waiting, each `recv` reported
//!   as a message, an error (`ENOBUFS`) or "empty".
//! - [`burst`]: the protocol of the chapter's kernel module, which multicasts
//!   a burst of numbered messages on request.
//! - [`addr`]: IPv4 addresses over rtnetlink (add, delete, dump, events) and
//!   the table a listener keeps in step with the kernel.
//! - [`resync`]: the resynchronising listener's run, for every
//!   implementation of the listener.
//! - [`uevent`]: `NETLINK_KOBJECT_UEVENT` messages, parsed.

pub mod addr;
pub mod burst;
pub mod queue;
pub mod rcvbuf;
pub mod resync;
pub mod uevent;
