//! `ch03-usersock`: multicast between processes on NETLINK_USERSOCK, the
//! protocol the kernel reserves for user space. Three listeners join, one
//! socket sends; after each send every listener reads what arrived.
//!
//! The surprise it shows: `sendto()` to a group answers -1 ECONNREFUSED,
//! although the listeners got the message.
//!
//! It works in a fresh network namespace of its own (root or
//! `unshare -Urn`):
//!
//! ```text
//! cargo xtask demo ch03 ch03-usersock
//! ```

use std::fmt::Write as _;
use std::os::fd::AsRawFd;
use std::process::ExitCode;

use anyhow::{Context, Result, bail, ensure};
use nlbook_common::membership::{
    MembershipError, group_mask, join_group, leave_group, memberships,
};
use nlbook_common::uapi::NLMSG_MIN_TYPE;
use nlbook_common::{Errno, MsgBuilder, NlMsgIter, NlSocket, SysError, exit_code, in_fresh_netns};

const PROGRAM: &str = "ch03-usersock";

/// The group of the chapter (the original report's).
const GROUP: u32 = 22;
/// Any other group, for the sender's second bit.
const OTHER_GROUP: u32 = 1;

fn main() -> ExitCode {
    if let Err(usage) = nlbook_common::no_arguments(PROGRAM) {
        return nlbook_common::exit_code(PROGRAM, Err(usage));
    }
    let result = in_fresh_netns(run)
        .map_err(anyhow::Error::from)
        .and_then(|report| report.map(|text| print!("{text}")));
    exit_code(PROGRAM, result)
}

/// `O_NONBLOCK` on `sock`: a receive on an empty queue then fails with
/// `EAGAIN` at once.
fn set_nonblocking(sock: &NlSocket) -> Result<(), SysError> {
    // SAFETY: fcntl on a descriptor we own, with integer arguments.
    let flags = unsafe { libc::fcntl(sock.as_raw_fd(), libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0
        || unsafe { libc::fcntl(sock.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0
    {
        return Err(SysError::last("fcntl(O_NONBLOCK)"));
    }
    Ok(())
}

struct Listener {
    name: &'static str,
    sock: NlSocket,
}

// ANCHOR: send
/// Send `text` as one message from `sender` to port `portid` and the
/// `groups` bitmask; say what `sendto()` answered.
fn send(
    sender: &NlSocket,
    text: &str,
    portid: u32,
    portid_shown: &str,
    groups: u32,
) -> Result<String> {
    let mut payload = text.as_bytes().to_vec();
    payload.push(0);
    let message = MsgBuilder::new(NLMSG_MIN_TYPE, 0, 1)
        .fixed(&payload)
        .finish()?;
    let answer = match sender.send_to(&message, portid, groups) {
        Ok(n) => format!("{n} bytes sent"),
        Err(e) if e.errno == Errno(libc::ECONNREFUSED) => format!("-1 {}", e.errno),
        Err(e) => return Err(e.into()),
    };
    Ok(format!(
        "sender: sendto(nl_pid {portid_shown}, nl_groups {groups:#010x}) {text:?}: {answer}"
    ))
}
// ANCHOR_END: send

// ANCHOR: drain
/// Everything queued on `listener`, read without waiting: multicast
/// delivery happens inside the sender's `sendto()`, so what is not queued
/// when it returns never arrives.
fn drain(listener: &Listener, sender_portid: u32) -> Result<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        // The listeners' sockets are non-blocking: EAGAIN means "empty".
        let received = match listener.sock.recv(&mut buf) {
            Ok(r) => r,
            Err(e) if e.errno == Errno(libc::EAGAIN) => break,
            Err(e) => return Err(e.into()),
        };
        ensure!(!received.truncated(), "a datagram did not fit");
        let from = if received.from_portid == sender_portid {
            "from the sender"
        } else {
            bail!("{}: a message from another port id", listener.name);
        };
        for msg in NlMsgIter::new(&buf[..received.len]) {
            let msg = msg?;
            let text = nlbook_common::rtattr::cstr(msg.payload).context("not text")?;
            got.push(format!(
                "{text:?} {from}, nl_groups {:#010x}",
                received.groups
            ));
        }
    }
    Ok(if got.is_empty() {
        format!("{}: nothing", listener.name)
    } else {
        format!("{}: {}", listener.name, got.join("; "))
    })
}
// ANCHOR_END: drain

fn run() -> Result<String> {
    let mut out = String::new();
    macro_rules! say {
        ($($arg:tt)*) => { let _ = writeln!(out, $($arg)*); };
    }
    let group_bit = group_mask(GROUP).context("group 22 has a bit")?;
    let other_bit = group_mask(OTHER_GROUP).context("group 1 has a bit")?;
    say!("NETLINK_USERSOCK, in a fresh network namespace");

    // ANCHOR: listeners
    // A joins with the bitmask at bind time, B and C with the socket option.
    let a = NlSocket::open(libc::NETLINK_USERSOCK)?;
    a.bind(0, group_bit)
        .map_err(|e| MembershipError::classify(e, GROUP))?;
    let b = NlSocket::open(libc::NETLINK_USERSOCK)?;
    b.bind(0, 0)?;
    join_group(&b, GROUP)?;
    let c = NlSocket::open(libc::NETLINK_USERSOCK)?;
    c.bind(0, 0)?;
    join_group(&c, OTHER_GROUP)?;
    // ANCHOR_END: listeners
    let listeners = [
        Listener { name: "A", sock: a },
        Listener { name: "B", sock: b },
        Listener { name: "C", sock: c },
    ];
    let joined = |l: &Listener| -> Result<String> {
        let groups: Vec<String> = memberships(&l.sock)?.iter().map(u32::to_string).collect();
        Ok(groups.join(" "))
    };
    say!(
        "A: bind(nl_groups {group_bit:#010x}): groups {}",
        joined(&listeners[0])?
    );
    say!(
        "B: bind(nl_groups 0), setsockopt(NETLINK_ADD_MEMBERSHIP, {GROUP}): groups {}",
        joined(&listeners[1])?
    );
    say!(
        "C: bind(nl_groups 0), setsockopt(NETLINK_ADD_MEMBERSHIP, {OTHER_GROUP}): groups {}",
        joined(&listeners[2])?
    );
    for l in &listeners {
        set_nonblocking(&l.sock)?;
    }
    let sender = NlSocket::open(libc::NETLINK_USERSOCK)?;
    sender.bind(0, 0)?;
    let sender_portid = sender.portid()?;
    let a_portid = listeners[0].sock.portid()?;
    say!("sender: bind(nl_groups 0), a member of no group");

    let step = |out: &mut String, title: &str, sent: String| -> Result<()> {
        let _ = writeln!(out, "{title}");
        let _ = writeln!(out, "   {sent}");
        for l in &listeners {
            let _ = writeln!(out, "   {}", drain(l, sender_portid)?);
        }
        Ok(())
    };

    step(
        &mut out,
        "1. to group 22",
        send(&sender, "one", 0, "0", group_bit)?,
    )?;
    step(
        &mut out,
        "2. to group 22 and to A's port id",
        send(&sender, "two", a_portid, "A", group_bit)?,
    )?;
    leave_group(&listeners[1].sock, GROUP)?;
    step(
        &mut out,
        "3. B leaves group 22: setsockopt(NETLINK_DROP_MEMBERSHIP, 22); to group 22",
        send(&sender, "three", 0, "0", group_bit)?,
    )?;
    step(
        &mut out,
        "4. two bits in nl_groups: groups 22 and 1",
        send(&sender, "four", 0, "0", group_bit | other_bit)?,
    )?;
    Ok(out)
}
