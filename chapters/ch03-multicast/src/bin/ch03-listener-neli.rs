//! `ch03-listener-neli`: the chapter's listener written with neli: one
//! socket on NETLINK_USERSOCK group 22, reading the timer module's
//! greetings. neli takes the groups at `connect()` and joins each with
//! `setsockopt(NETLINK_ADD_MEMBERSHIP)`, never with the bind bitmask, so
//! groups above 32 work the same.
//!
//! ```text
//! ch03-listener-neli [--messages N]
//! ```
//!
//! It needs the module, so it runs in the VM lab:
//!
//! ```text
//! cargo xtask lab --chapter ch03
//! ```

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use ch03_multicast::greeting::{
    DEFAULT_MESSAGES, GROUP, RECV_TIMEOUT, check, memberships_line, received_line,
};
use neli::consts::socket::NlFamily;
use neli::err::SocketError;
use neli::nl::NlPayload;
use neli::socket::synchronous::NlSocketHandle;
use neli::types::Buffer;
use neli::utils::Groups;
use nlbook_common::membership::group_mask;
use nlbook_common::socket::{peek, set_recv_timeout};
use nlbook_common::{Errno, UsageError, WithHint, exit_code, module_hint};

const PROGRAM: &str = "ch03-listener-neli";
const USAGE: &str = "usage: ch03-listener-neli [--messages N]";

fn parse_args(args: &[String]) -> Result<u32, String> {
    match args {
        [] => Ok(DEFAULT_MESSAGES),
        [flag, n] if flag == "--messages" => n
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("--messages: not a positive count: {n}")),
        _ => Err(USAGE.to_owned()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args) {
        Ok(messages) => exit_code(PROGRAM, run(messages)),
        Err(message) => exit_code(PROGRAM, Err(UsageError { message })),
    }
}

/// The errno inside a neli socket error, if it is an I/O error.
fn errno_of(e: &SocketError) -> Option<Errno> {
    match e {
        SocketError::Io(io) => io.raw_os_error().map(Errno),
        _ => None,
    }
}

fn run(messages: u32) -> Result<()> {
    // ANCHOR: connect
    // Group numbers, not a bitmask: neli turns each into
    // setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group).
    let sock = match NlSocketHandle::connect(NlFamily::Usersock, None, Groups::new_groups(&[GROUP]))
    {
        Ok(sock) => sock,
        Err(e) if errno_of(&e) == Some(Errno(libc::EPERM)) => bail!(
            "joining group {GROUP}: {}: NETLINK_USERSOCK lets only CAP_NET_ADMIN join \
             groups: run as root, or under `unshare -Urn`",
            Errno(libc::EPERM)
        ),
        Err(e) => return Err(e).context("socket(NETLINK_USERSOCK) + bind + join"),
    };
    let joined = sock.list_mcast_membership()?.to_vec();
    // ANCHOR_END: connect
    println!("NlSocketHandle::connect(NlFamily::Usersock, None, Groups::new_groups(&[{GROUP}]))");
    println!("{}", memberships_line("the socket", &joined));
    // neli has no receive timeout of its own; the raw descriptor takes one.
    set_recv_timeout(&sock, RECV_TIMEOUT)?;

    // ANCHOR: receive
    let mut seen = 0;
    while seen < messages {
        // neli's recv() reports the group bitmask but not the sender's
        // port id: peek at the address first (this also waits).
        let sender = match peek(&sock) {
            Ok(sender) => sender,
            Err(e) if e.errno == Errno(libc::EAGAIN) => {
                let what = format!("no greeting within {} s ({e})", RECV_TIMEOUT.as_secs());
                return Err(
                    WithHint::new(what, module_hint("mcast_timer.ko", "ch03-multicast")).into(),
                );
            }
            Err(e) => return Err(e.into()),
        };
        let (datagram, groups) = sock.recv::<u16, Buffer>()?;
        // neli's Groups, back to the bitmask recvmsg() saw.
        let mask = groups.as_bitmask()?;
        if Some(mask) != group_mask(GROUP) {
            bail!("a message sent to nl_groups {mask:#010x}");
        }
        for msg in datagram {
            let msg = msg?;
            let NlPayload::Payload(payload) = msg.nl_payload() else {
                bail!("a control message of type {:#x}", msg.nl_type());
            };
            check(*msg.nl_type(), payload.as_ref(), sender.from_portid, mask)
                .map_err(|why| anyhow::anyhow!("unexpected: {why}"))?;
            seen += 1;
        }
    }
    // ANCHOR_END: receive
    println!("{}", received_line("the socket", seen));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        assert_eq!(parse_args(&[]), Ok(DEFAULT_MESSAGES));
        assert_eq!(parse_args(&["--messages".into(), "3".into()]), Ok(3));
        assert!(parse_args(&["--messages".into(), "0".into()]).is_err());
        assert!(parse_args(&["--bogus".into()]).is_err());
    }
}
