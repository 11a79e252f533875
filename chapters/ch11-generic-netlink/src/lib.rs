//! Chapter 11: generic netlink.
//!
//! - [`kv`]: the NLBOOK_KV family's numbers (`kmod/ch11-generic-netlink/nlbook_kv.h`).
//! - [`nlctrl`]: asking the controller family, by hand, for a family's id
//!   and its multicast groups' ids.
//! - [`policy`]: reading a family's attribute policies back
//!   (`CTRL_CMD_GETPOLICY`).
//! - [`genl_socket`]: a raw generic netlink socket with extended ACKs, and
//!   the requests the chapter's raw programs make.
//! - [`ext_ack`]: an extended ACK, told the same way by the raw and the
//!   neli clients.

pub mod ext_ack;
pub mod genl_socket;
pub mod kv;
pub mod nlctrl;
pub mod policy;

/// The programs' error when the NLBOOK_KV family is missing: the hint
/// names its module and where it runs.
pub fn without_module(e: impl Into<anyhow::Error>) -> anyhow::Error {
    let e = e.into();
    if matches!(e.downcast_ref(), Some(nlctrl::ResolveError::NotFound(_))) {
        let hint = nlbook_common::module_hint("nlbook_kv.ko", "ch11-generic-netlink");
        return nlbook_common::WithHint::new(e, hint).into();
    }
    e
}
