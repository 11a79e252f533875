//! Chapter 2, "Addresses": what the chapter's programs share.
//!
//! - [`ports`]: facts about port ids (the autobind range, naming the
//!   sockets of a report), a message with a chosen `nlmsg_pid`, and reading
//!   a socket without waiting.
//! - [`module`]: protocol 29, which the chapter's kernel modules claim, and
//!   the error a client gives when no module is loaded.
//! - [`whoami`]: the `whoami` module's requests and answers.
//! - [`registry`]: the `registered_port` module's requests and events.
//! - [`in_fresh_netns`]: where the host demos run.

pub mod module;
pub mod ports;
pub mod registry;
pub mod whoami;

/// Run `f` in a fresh network namespace of its own (see
/// [`nlbook_common::in_fresh_netns`]): the host demos never see, nor touch,
/// anyone else's sockets.
pub fn in_fresh_netns(f: impl FnOnce() -> anyhow::Result<()> + Send) -> anyhow::Result<()> {
    nlbook_common::in_fresh_netns(f)?
}
