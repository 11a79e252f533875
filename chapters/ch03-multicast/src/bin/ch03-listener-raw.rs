//! `ch03-listener-raw`: listen to the chapter's timer module on
//! NETLINK_USERSOCK group 22, joined both ways at once: socket 1 with the
//! `nl_groups` bitmask at `bind()`, socket 2 with
//! `setsockopt(NETLINK_ADD_MEMBERSHIP)`. Both must receive the greetings.
//!
//! ```text
//! ch03-listener-raw [--messages N] [--stall-ms MS]
//! ch03-listener-raw --other-netns
//! ```
//!
//! - `--messages N`: read N greetings on each socket (default 5).
//! - `--stall-ms MS`: shrink socket 2's receive buffer, ask for
//!   `NETLINK_BROADCAST_ERROR` on it, and leave it unread for MS ms, so it
//!   overflows while socket 1 keeps getting everything: the module then
//!   sees `nlmsg_multicast()` fail with `-ENOBUFS`.
//! - `--other-netns`: one socket only, joined in a fresh network namespace:
//!   the module multicasts in the initial one, so nothing arrives (and the
//!   module sees `-ESRCH`).
//!
//! It needs the module, so it runs in the VM lab:
//!
//! ```text
//! cargo xtask lab --chapter ch03
//! ```

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ch03_multicast::greeting::{
    DEFAULT_MESSAGES, GROUP, RECV_TIMEOUT, check, memberships_line, received_line,
};
use nlbook_common::membership::{MembershipError, group_mask, join_group, memberships};
use nlbook_common::uapi::SOL_NETLINK;
use nlbook_common::{
    Errno, NlMsgIter, NlSocket, SysError, UsageError, WithHint, exit_code, in_fresh_netns,
    module_hint,
};

const PROGRAM: &str = "ch03-listener-raw";
const USAGE: &str =
    "usage: ch03-listener-raw [--messages N] [--stall-ms MS] | ch03-listener-raw --other-netns";

/// `NETLINK_BROADCAST_ERROR` (netlink.h): make a sender's broadcast fail
/// with ENOBUFS when this socket could not take the message.
const NETLINK_BROADCAST_ERROR: i32 = 4;
/// What socket 2 asks for with `--stall-ms`: less than the kernel's floor,
/// which it then gets (the floor holds two greetings).
const SMALL_RCVBUF: i32 = 1024;
/// How long `--other-netns` waits for a message that must not come: the
/// module sends every few milliseconds.
const NOTHING_WITHIN: Duration = Duration::from_secs(1);

#[derive(Debug, PartialEq, Eq)]
enum Mode {
    BothWays {
        messages: u32,
        stall_ms: Option<u64>,
    },
    OtherNetns,
}

fn parse_args(args: &[String]) -> Result<Mode, String> {
    let mut messages = DEFAULT_MESSAGES;
    let mut stall_ms = None;
    let mut other_netns = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--messages" => {
                let v = value("--messages")?;
                messages = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--messages: not a positive count: {v}"))?;
            }
            "--stall-ms" => {
                let v = value("--stall-ms")?;
                stall_ms = Some(
                    v.parse()
                        .map_err(|_| format!("--stall-ms: not a number of milliseconds: {v}"))?,
                );
            }
            "--other-netns" => other_netns = true,
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    match (other_netns, stall_ms, messages) {
        (false, _, _) => Ok(Mode::BothWays { messages, stall_ms }),
        (true, None, DEFAULT_MESSAGES) => Ok(Mode::OtherNetns),
        (true, _, _) => Err("--other-netns takes no other option".into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args) {
        Ok(Mode::BothWays { messages, stall_ms }) => {
            exit_code(PROGRAM, both_ways(messages, stall_ms))
        }
        Ok(Mode::OtherNetns) => {
            let result = in_fresh_netns(other_netns)
                .map_err(anyhow::Error::from)
                .and_then(|r| r);
            exit_code(PROGRAM, result)
        }
        Err(msg) => exit_code(PROGRAM, Err(UsageError::new(msg, USAGE))),
    }
}

fn open() -> Result<NlSocket> {
    Ok(NlSocket::open(libc::NETLINK_USERSOCK)?)
}

// ANCHOR: read_greetings
/// Read `count` greetings from `sock`, checking each; `Err(ENOBUFS)` if
/// the kernel reports lost messages first.
fn read_greetings(sock: &NlSocket, count: u32) -> Result<u32, ReadError> {
    let mut buf = vec![0u8; 8192];
    let mut seen = 0;
    while seen < count {
        let got = match sock.recv(&mut buf) {
            Ok(got) => got,
            Err(e) if e.errno == Errno(libc::ENOBUFS) => return Err(ReadError::Overrun(e)),
            Err(e) if e.errno == Errno(libc::EAGAIN) => return Err(ReadError::Nothing(e)),
            Err(e) => return Err(ReadError::Other(e.into())),
        };
        if got.truncated() {
            return Err(ReadError::Other(anyhow::anyhow!(
                "a {}-byte datagram did not fit",
                got.datagram_len
            )));
        }
        for msg in NlMsgIter::new(&buf[..got.len]) {
            let msg = msg.map_err(|e| ReadError::Other(e.into()))?;
            check(
                msg.header.nlmsg_type,
                msg.payload,
                got.from_portid,
                got.groups,
            )
            .map_err(|why| ReadError::Other(anyhow::anyhow!("unexpected: {why}")))?;
            seen += 1;
        }
    }
    Ok(seen)
}
// ANCHOR_END: read_greetings

enum ReadError {
    /// `ENOBUFS`: the socket's queue overflowed; messages were dropped.
    Overrun(SysError),
    /// `EAGAIN`: nothing within the receive timeout.
    Nothing(SysError),
    Other(anyhow::Error),
}

fn expect_greetings(sock: &NlSocket, name: &str, count: u32) -> Result<String> {
    match read_greetings(sock, count) {
        Ok(n) => Ok(received_line(name, n)),
        // The SysError's hint says what was lost and what to do.
        Err(ReadError::Overrun(e)) => {
            Err(anyhow::Error::new(e)
                .context(format!("{name}: messages were dropped while reading")))
        }
        Err(ReadError::Nothing(e)) => Err(WithHint::new(
            format!(
                "{name}: no greeting within {} s ({e})",
                RECV_TIMEOUT.as_secs()
            ),
            module_hint("mcast_timer.ko", "ch03-multicast"),
        )
        .into()),
        Err(ReadError::Other(e)) => Err(e.context(name.to_owned())),
    }
}

fn both_ways(messages: u32, stall_ms: Option<u64>) -> Result<()> {
    let group_bit = group_mask(GROUP).context("group 22 has a bit")?;

    // ANCHOR: both_ways
    // Socket 1: the group's bit in nl_groups, at bind time.
    let first = open()?;
    first
        .bind(0, group_bit)
        .map_err(|e| MembershipError::classify(e, GROUP))?;
    // Socket 2: bound without groups, then the group number as an option.
    let second = open()?;
    second.bind(0, 0)?;
    join_group(&second, GROUP)?;
    // ANCHOR_END: both_ways
    println!("socket 1: bind(nl_groups {group_bit:#010x})");
    println!("socket 2: bind(nl_groups 0), then setsockopt(NETLINK_ADD_MEMBERSHIP, {GROUP})");
    println!("{}", memberships_line("socket 1", &memberships(&first)?));
    println!("{}", memberships_line("socket 2", &memberships(&second)?));
    first.set_recv_timeout(RECV_TIMEOUT)?;
    second.set_recv_timeout(RECV_TIMEOUT)?;

    if let Some(ms) = stall_ms {
        second.set_option(libc::SOL_SOCKET, libc::SO_RCVBUF, SMALL_RCVBUF)?;
        second.set_option(SOL_NETLINK, NETLINK_BROADCAST_ERROR, 1)?;
        println!(
            "socket 2: SO_RCVBUF {SMALL_RCVBUF} (the kernel made it {}), NETLINK_BROADCAST_ERROR on, \
             then not read for {ms} ms",
            second.option(libc::SOL_SOCKET, libc::SO_RCVBUF)?
        );
        std::thread::sleep(Duration::from_millis(ms));
    }

    println!("{}", expect_greetings(&first, "socket 1", messages)?);
    if stall_ms.is_some() {
        match read_greetings(&second, 1) {
            Err(ReadError::Overrun(_)) => println!(
                "socket 2: first recv: {}: the kernel dropped messages for it",
                Errno(libc::ENOBUFS)
            ),
            Ok(_) => bail!("socket 2: no ENOBUFS after the stall: did its queue not fill?"),
            Err(ReadError::Nothing(_)) => bail!("socket 2: nothing at all after the stall"),
            Err(ReadError::Other(e)) => return Err(e.context("socket 2")),
        }
    }
    println!("{}", expect_greetings(&second, "socket 2", messages)?);
    Ok(())
}

/// A listener the module cannot reach: joined in another network namespace.
fn other_netns() -> Result<()> {
    let sock = open()?;
    sock.bind(0, 0)?;
    join_group(&sock, GROUP)?;
    println!(
        "in a fresh network namespace: bind(nl_groups 0), then setsockopt(NETLINK_ADD_MEMBERSHIP, {GROUP})"
    );
    println!("{}", memberships_line("the socket", &memberships(&sock)?));
    sock.set_recv_timeout(NOTHING_WITHIN)?;
    match read_greetings(&sock, 1) {
        Err(ReadError::Nothing(_)) => {
            println!(
                "nothing within {} s: the module multicasts in the initial network namespace only",
                NOTHING_WITHIN.as_secs()
            );
            Ok(())
        }
        Ok(_) => bail!("a greeting reached another network namespace"),
        Err(ReadError::Overrun(_)) => bail!("ENOBUFS on a socket that should receive nothing"),
        Err(ReadError::Other(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options() {
        assert_eq!(
            parse_args(&[]),
            Ok(Mode::BothWays {
                messages: DEFAULT_MESSAGES,
                stall_ms: None
            })
        );
        assert_eq!(
            parse_args(&args(&["--messages", "3", "--stall-ms", "500"])),
            Ok(Mode::BothWays {
                messages: 3,
                stall_ms: Some(500)
            })
        );
        assert_eq!(parse_args(&args(&["--other-netns"])), Ok(Mode::OtherNetns));
        assert!(parse_args(&args(&["--other-netns", "--stall-ms", "5"])).is_err());
        assert!(parse_args(&args(&["--messages", "0"])).is_err());
        assert!(parse_args(&args(&["--stall-ms"])).is_err());
        assert!(parse_args(&args(&["--bogus"])).is_err());
    }
}
