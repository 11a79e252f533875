//! Chapter 3, "Multicast groups": what the chapter's programs share.
//!
//! - [`greeting`]: what the chapter's timer module multicasts, and the
//!   lines both of its listeners print.
//! - [`matrix`]: the permission matrix: the families, the probes, the table.
//! - [`identity`]: root, a plain user, and a plain user in user and network
//!   namespaces of its own, each in a child process.
//!
//! - [`nsid`]: hearing other network namespaces (`NETLINK_LISTEN_ALL_NSID`).
//!
//! Joining, leaving and listing groups is shared with other chapters:
//! [`nlbook_common::membership`].

pub mod greeting;
pub mod identity;
pub mod matrix;
pub mod nsid;
