//! `ch06-uevent`: the report, reproduced. Three applications listen to the
//! kernel's uevents (`NETLINK_KOBJECT_UEVENT` group 1); one copied
//! `setsockopt(SO_RCVBUF, 1024)` from the web. A device announces itself
//! several times in a row, as a USB device does when plugged in, while
//! nobody reads; then each reads what it has.
//!
//! ```text
//! ch06-uevent [--events N] [--trigger /sys/.../uevent]
//! ```
//!
//! Writing an action to a device's `uevent` file makes the kernel send that
//! uevent (`kobject_synth_uevent()`, `lib/kobject_uevent.c`), synchronously:
//! when `write()` returns, the uevent is in every listener's queue that had
//! room. Writing needs root, and it reaches every listener of the machine
//! (udev too): run it in the VM lab, `cargo xtask lab --chapter ch06 --test
//! uevent`. The listeners live in a fresh network namespace; the kernel
//! sends device uevents to every namespace owned by the initial user
//! namespace.

use nlbook_common::UsageError;
use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use ch06_enobufs::queue::{Recv, drain, ranges};
use ch06_enobufs::rcvbuf::{meminfo, messages_that_fit, rcvbuf, set_rcvbuf};
use ch06_enobufs::uevent::{self, KERNEL_GROUP};
use nlbook_common::procfs;
use nlbook_common::{NlSocket, exit_code, in_fresh_netns};

const USAGE: &str = "usage: ch06-uevent [--events N] [--trigger /sys/.../uevent]";
/// `/dev/null`'s device: present on every kernel, no driver behind it.
const DEFAULT_TRIGGER: &str = "/sys/devices/virtual/mem/null/uevent";
const DEFAULT_EVENTS: u32 = 8;
/// Large enough for any uevent (`UEVENT_BUFFER_SIZE` is 2048).
const ROOM: usize = 8192;

struct App {
    name: &'static str,
    sock: NlSocket,
}

// ANCHOR: listener
fn app(name: &'static str, request: Option<i32>) -> Result<App> {
    let sock = NlSocket::open(libc::NETLINK_KOBJECT_UEVENT)?;
    if let Some(bytes) = request {
        set_rcvbuf(&sock, bytes)?;
    }
    // Group 1 is the kernel's. NETLINK_KOBJECT_UEVENT lets anyone join
    // (NL_CFG_F_NONROOT_RECV).
    sock.bind(0, 1 << (KERNEL_GROUP - 1))?;
    Ok(App { name, sock })
}
// ANCHOR_END: listener

fn read_all(app: &App, first_seqnum: Option<u64>, sent: u32) -> Result<(String, Vec<u64>)> {
    let portid = app.sock.portid()?;
    let drops = procfs::read()?
        .into_iter()
        .find(|e| i32::from(e.protocol) == libc::NETLINK_KOBJECT_UEVENT && e.portid == portid)
        .context("a listener is missing from /proc/thread-self/net/netlink")?
        .drops;
    let mut parts = Vec::new();
    let mut seqnums = Vec::new();
    for r in drain(&app.sock, ROOM) {
        match r {
            Recv::Error(e) => parts.push(e.to_string()),
            Recv::Datagram { bytes, .. } => {
                let ev = uevent::parse(&bytes).context("not a kernel uevent")?;
                seqnums.push(ev.seqnum);
            }
            Recv::Empty => {
                if let (Some(first), false) = (
                    first_seqnum.or(seqnums.first().copied()),
                    seqnums.is_empty(),
                ) {
                    let numbers: Vec<u32> = seqnums
                        .iter()
                        .map(|s| u32::try_from(s.saturating_sub(first) + 1).unwrap_or(u32::MAX))
                        .collect();
                    parts.push(format!(
                        "events {} ({} of {sent})",
                        ranges(&numbers),
                        numbers.len()
                    ));
                }
                parts.push("EAGAIN".into());
            }
        }
    }
    Ok((
        format!("{:>9}: {}; Drops {drops}", app.name, parts.join(", then ")),
        seqnums,
    ))
}

fn run(events: u32, trigger: &str) -> Result<String> {
    let mut out = String::new();
    macro_rules! say {
        ($($arg:tt)*) => { let _ = writeln!(out, $($arg)*); };
    }
    say!("NETLINK_KOBJECT_UEVENT group {KERNEL_GROUP}, listeners in a fresh network namespace");
    let udevd = app("udevd", None)?;
    let report = app("app", Some(1024))?;
    let fixed = app("fixed app", Some(65536))?;
    say!("    udevd: SO_RCVBUF untouched -> {}", rcvbuf(&udevd.sock)?);
    say!(
        "      app: SO_RCVBUF 1024, copied from the web -> {}",
        rcvbuf(&report.sock)?
    );
    say!(
        "fixed app: SO_RCVBUF 65536, sized for a burst -> {}",
        rcvbuf(&fixed.sock)?
    );

    // ANCHOR: trigger
    for _ in 0..events {
        std::fs::write(trigger, "add").with_context(|| {
            format!("writing \"add\" to {trigger} (needs root; run it in the VM lab)")
        })?;
    }
    // ANCHOR_END: trigger
    let devpath = trigger
        .strip_prefix("/sys")
        .and_then(|p| p.strip_suffix("/uevent"))
        .unwrap_or(trigger);
    say!("{events} times \"add\" written to {trigger}, nobody reading: add@{devpath}");
    let queued = meminfo(&udevd.sock)?.rmem_alloc;
    let truesize = queued / events.max(1);
    say!(
        "one uevent costs {truesize} bytes in a queue; 2304 bytes hold {}, 131072 hold {}",
        messages_that_fit(2304, truesize),
        messages_that_fit(131_072, truesize)
    );

    let (line, seqnums) = read_all(&udevd, None, events)?;
    say!("{line}");
    let first = seqnums.first().copied();
    if seqnums.len() != events as usize {
        bail!("udevd got {} of {events} uevents", seqnums.len());
    }
    for a in [&report, &fixed] {
        let (line, _) = read_all(a, first, events)?;
        say!("{line}");
    }
    Ok(out)
}

fn parse_args(args: &[String]) -> Result<(u32, String)> {
    let mut events = DEFAULT_EVENTS;
    let mut trigger = DEFAULT_TRIGGER.to_owned();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--events" => {
                let v = it.next().context("--events needs a value")?;
                events = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=64).contains(n))
                    .with_context(|| format!("--events: 1 to 64, not {v}"))?;
            }
            "--trigger" => trigger = it.next().context("--trigger needs a value")?.clone(),
            other => bail!("unknown argument {other}"),
        }
    }
    if !trigger.starts_with("/sys/") || !trigger.ends_with("/uevent") {
        bail!("--trigger: a uevent file under /sys, not {trigger}");
    }
    Ok((events, trigger))
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse_args(&args)
        .map_err(|e| anyhow::Error::from(UsageError::new(format!("{e:#}"), USAGE)))
        .and_then(|(events, trigger)| {
            let out = in_fresh_netns(|| run(events, &trigger))??;
            print!("{out}");
            Ok(())
        });
    exit_code("ch06-uevent", result)
}
