//! Chapter 12: the rules of a reliable netlink conversation, each shown by
//! a run against rtnetlink in a fresh network namespace.
//!
//! - [`names`]: message types and flags by name, for printing.
//! - [`addresses`]: IPv4 addresses on `lo`, the data the dumps walk.
//! - [`receive`]: reading until a request is finished, keeping count of
//!   which `recv` brought which message.
//! - [`conversation`]: printing requests and their answers.
//!
//! The programs print facts about the conversation (types, flags, sequence
//! numbers, errors, which `recv` call), never port ids or timings, so their
//! output is the same on every run of one kernel.

pub mod addresses;
pub mod conversation;
pub mod names;
pub mod receive;

use std::time::Duration;

use nlbook_common::NlSocket;

/// How long one `recv` waits before the program gives up on an answer.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(5);

/// The buffer size the kernel's netlink documentation recommends
/// (`Documentation/userspace-api/netlink/intro.rst`: "32kB buffer is
/// recommended for most efficient handling of dumps").
pub const RECOMMENDED_BUFFER: usize = 32 * 1024;

/// A NETLINK_ROUTE socket with a port id and a receive timeout.
pub fn route_socket() -> anyhow::Result<NlSocket> {
    Ok(NlSocket::route(RECV_TIMEOUT)?)
}
