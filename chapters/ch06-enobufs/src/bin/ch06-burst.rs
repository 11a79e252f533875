//! `ch06-burst`: three listeners on group 1 of the chapter's module
//! (`burst_sender.ko`, protocol 23), one burst, then each listener reads.
//!
//! ```text
//! ch06-burst [--messages N] [--no-enobufs]
//! ```
//!
//! - `small` copied the report's `SO_RCVBUF 1024`;
//! - `default` leaves the buffer alone;
//! - `sized` asks for room for the whole burst, from the cost of one
//!   message measured first.
//!
//! `--no-enobufs` turns `NETLINK_NO_ENOBUFS` on for `small`. Needs the
//! module (the VM lab loads it) and, to join its group, `CAP_NET_ADMIN`.

use nlbook_common::UsageError;
use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use ch06_enobufs::burst::{self, BurstError};
use ch06_enobufs::queue::{Recv, drain, ranges};
use ch06_enobufs::rcvbuf::{meminfo, rcvbuf, set_no_enobufs, set_rcvbuf};
use nlbook_common::membership::join_group;
use nlbook_common::procfs;
use nlbook_common::{NlSocket, exit_code};

const USAGE: &str = "usage: ch06-burst [--messages N] [--no-enobufs]";
const DEFAULT_MESSAGES: u32 = 16;

struct Listener {
    name: &'static str,
    sock: NlSocket,
}

fn listener(name: &'static str, request: Option<i32>) -> Result<Listener> {
    let sock = NlSocket::open(burst::PROTOCOL).map_err(BurstError::Sys)?;
    sock.bind(0, 0)?;
    if let Some(bytes) = request {
        set_rcvbuf(&sock, bytes)?;
    }
    join_group(&sock, burst::GROUP).map_err(|e| {
        anyhow::anyhow!("{e} (joining the module's group needs CAP_NET_ADMIN: run as root)")
    })?;
    Ok(Listener { name, sock })
}

/// What `listener` holds, in one line: errors, message numbers, drops.
fn report(l: &Listener, sent: u32) -> Result<String> {
    let drops_proc = {
        let portid = l.sock.portid()?;
        procfs::read()?
            .into_iter()
            .find(|e| i32::from(e.protocol) == burst::PROTOCOL && e.portid == portid)
            .context("a listener is missing from /proc/net/netlink")?
            .drops
    };
    let mut parts = Vec::new();
    let mut numbers = Vec::new();
    for r in drain(&l.sock, 256) {
        match r {
            Recv::Error(e) => parts.push(format!("{e}")),
            Recv::Datagram { bytes, .. } => {
                numbers.push(burst::message_number(&bytes).context("not a burst message")?);
            }
            Recv::Empty => {
                if !numbers.is_empty() {
                    parts.push(format!(
                        "messages {} ({} of {sent})",
                        ranges(&numbers),
                        numbers.len()
                    ));
                }
                parts.push("EAGAIN".into());
            }
        }
    }
    Ok(format!(
        "{:>7}: {}; Drops {drops_proc}",
        l.name,
        parts.join(", then ")
    ))
}

fn run(messages: u32, no_enobufs: bool) -> Result<String> {
    let mut out = String::new();
    macro_rules! say {
        ($($arg:tt)*) => { let _ = writeln!(out, $($arg)*); };
    }
    let control = burst::open()?;
    say!(
        "protocol {} (burst_sender.ko), group {}",
        burst::PROTOCOL,
        burst::GROUP
    );
    let small = listener("small", Some(1024))?;
    if no_enobufs {
        set_no_enobufs(&small.sock)?;
    }
    let default = listener("default", None)?;
    say!(
        "  small: SO_RCVBUF 1024 -> {}{}",
        rcvbuf(&small.sock)?,
        if no_enobufs {
            ", NETLINK_NO_ENOBUFS"
        } else {
            ""
        }
    );
    say!("default: SO_RCVBUF untouched -> {}", rcvbuf(&default.sock)?);

    // ANCHOR: sized
    // One message first, to learn what it costs in a queue.
    burst::request(&control, 1)?;
    let truesize = meminfo(&default.sock)?.rmem_alloc;
    for l in [&small, &default] {
        drain(&l.sock, 256);
    }
    // The kernel doubles the request: ask for half of what the burst needs.
    let need = messages
        .checked_mul(truesize)
        .context("the burst's size overflows")?;
    let request = i32::try_from(need.div_ceil(2)).context("too large for SO_RCVBUF")?;
    let sized = listener("sized", Some(request))?;
    // ANCHOR_END: sized
    say!(
        "  sized: SO_RCVBUF {request} -> {}: {messages} messages of {truesize} bytes (one measured in a queue)",
        rcvbuf(&sized.sock)?
    );

    burst::request(&control, messages)?;
    say!("a burst of {messages} messages, acknowledged; then each listener reads:");
    for l in [&small, &default, &sized] {
        let line = report(l, messages)?;
        say!("{line}");
    }
    Ok(out)
}

fn parse_args(args: &[String]) -> Result<(u32, bool)> {
    let mut messages = DEFAULT_MESSAGES;
    let mut no_enobufs = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--messages" => {
                let v = it.next().context("--messages needs a value")?;
                messages = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=burst::MAX).contains(n))
                    .with_context(|| format!("--messages: 1 to {}, not {v}", burst::MAX))?;
            }
            "--no-enobufs" => no_enobufs = true,
            other => bail!("unknown argument {other}"),
        }
    }
    Ok((messages, no_enobufs))
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    exit_code(
        "ch06-burst",
        parse_args(&args)
            .map_err(|e| anyhow::Error::from(UsageError::new(format!("{e:#}"), USAGE)))
            .and_then(|(n, quiet)| run(n, quiet))
            .map(|out| print!("{out}")),
    )
}
