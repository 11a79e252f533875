//! Pieces every chapter's programs share.
//!
//! - [`netns`]: run code in a fresh network namespace, on one thread only.
//! - [`errno`]: errno values printed by name and number, e.g. `ENOBUFS (105)`.
//! - [`uapi`]: the kernel's netlink numbers, typed, each with the header it
//!   comes from.
//! - [`nlmsg`]: the `nlmsghdr` layout, alignment, a validating message walker,
//!   a message builder and the `NLMSG_ERROR` payload.
//! - [`rtattr`]: the route attribute (TLV) walker.
//! - [`genl`]: the generic netlink header and the numbers of `nlctrl`.
//! - [`socket`]: a small raw netlink socket over libc.
//! - [`procfs`]: `/proc/net/netlink`, parsed (ports, groups, Rmem, Drops).
//! - [`programs`]: running a chapter's programs from its tests.
//! - [`link`]: create links (dummy, veth), bring them up and down, delete them, over raw rtnetlink.
//!
//! Everything here is teaching code too: small, checked, and never trusting a
//! length it did not compute itself.

pub mod address;
pub mod errno;
pub mod genl;
pub mod link;
pub mod membership;
pub mod netns;
pub mod nlmsg;
pub mod procfs;
pub mod programs;
pub mod rtattr;
pub mod socket;
pub mod uapi;

pub use errno::{Errno, SysError, errno_name};
pub use netns::{NetnsError, in_fresh_netns};
pub use nlmsg::{
    Malformed, MsgBuilder, NLMSG_HDRLEN, NlMsg, NlMsgErr, NlMsgHdr, NlMsgIter, Problem,
    nlmsg_align, nlmsg_length, nlmsg_space,
};
pub use rtattr::{RtAttr, RtAttrIter, rta_align};
pub use socket::{NlSocket, Received};

/// How every program of the workbook ends: success, or its error on stderr
/// after the program's name (`{:#}` shows an error's whole chain of causes),
/// with exit status 1.
pub fn exit_code<E: std::fmt::Display>(
    program: &str,
    result: Result<(), E>,
) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
