//! Chapter 11: generic netlink.
//!
//! - [`kv`]: the NLBOOK_KV family's numbers (`kmod/ch11-generic-netlink/nlbook_kv.h`).
//! - [`nlctrl`]: asking the controller family, by hand, for a family's id
//!   and its multicast groups' ids.
//! - [`genl_socket`]: a raw generic netlink socket with extended ACKs, and
//!   the requests the chapter's raw programs make.
//! - [`ext_ack`]: an extended ACK, told the same way by the raw and the
//!   neli clients.

pub mod ext_ack;
pub mod genl_socket;
pub mod kv;
pub mod nlctrl;
