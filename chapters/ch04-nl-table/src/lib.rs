//! Chapter 4, "Inside the kernel: nl_table, mc_list and group bitmaps":
//! what the chapter's programs share.
//!
//! - [`groups`]: the kernel's `test_bit` arithmetic for group numbers, and
//!   the `unsigned long` bitmaps versus the `u32` words user space sees.
//! - [`diag`]: the `NETLINK_SOCK_DIAG` request for netlink sockets and a
//!   decoder of `struct netlink_diag_msg` and its attributes that checks
//!   every length.
//! - [`membership`]: the words and length of `NETLINK_LIST_MEMBERSHIPS`,
//!   `NETLINK_NO_ENOBUFS`, socket inodes (joining and leaving are
//!   `nlbook_common::membership`).
//! - [`procfs`]: `/proc/net/netlink`, parsed.
//! - [`inspect`]: the raw dump, merged by inode and sorted; the live view.
//! - [`demo`]: sockets with known roles in a fresh namespace, and the report
//!   `ch04-inspect --demo` and `ch04-inspect-neli --demo` both print.
//! - [`listeners`]: the protocol of the chapter's kernel module.
//! - [`table`]: aligned text columns.

pub mod demo;
pub mod diag;
pub mod groups;
pub mod inspect;
pub mod listeners;
pub mod membership;
/// `/proc/net/netlink`, parsed: shared with chapter 6, so it lives in
/// `nlbook_common`.
pub use nlbook_common::procfs;
pub mod table;
