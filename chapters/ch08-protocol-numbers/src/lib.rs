//! Chapter 8, "Protocol numbers and MAX_LINKS": what the chapter's programs
//! share.
//!
//! - [`numbers`]: `MAX_LINKS`, the protocol numbers the kernel names in
//!   `include/uapi/linux/netlink.h`, and probing `socket()` for a number.
//! - [`module`]: protocol 31, which the chapter's module and the exercise's
//!   claim, and one request/answer exchange with its kernel socket.

pub mod module;
pub mod numbers;
