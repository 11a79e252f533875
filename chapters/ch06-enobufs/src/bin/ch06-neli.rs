//! `ch06-neli`: where neli 0.7.5 hides ENOBUFS, and how to see it.
//!
//! 1. `NlRouter`: a background thread reads the socket. When its `recv`
//!    fails with ENOBUFS it hands the error to the requests in flight and
//!    to nobody else (`error_handling()` in `src/router/synchronous.rs`):
//!    a multicast listener never hears of the loss. To make the loss
//!    happen on purpose, that thread is held still (a signal handler that
//!    waits) while more messages are sent than its queue holds.
//! 2. `NlSocketHandle`, a socket the program reads itself: `recv` returns
//!    `Err(SocketError::Io(..))` with ENOBUFS, and the program can resync.
//!
//! Runs in a fresh network namespace (root, or `unshare -Urn`), on
//! `NETLINK_USERSOCK` group 22.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use neli::consts::socket::NlFamily;
use neli::err::SocketError;
use neli::router::synchronous::NlRouter;
use neli::socket::synchronous::NlSocketHandle;
use neli::types::Buffer;
use neli::utils::Groups;
use nlbook_common::membership::group_mask;
use nlbook_common::procfs;
use nlbook_common::socket::set_recv_timeout;
use nlbook_common::{Errno, MsgBuilder, NlSocket, exit_code, in_fresh_netns};

const GROUP: u32 = 22;
/// More than the default 212992-byte buffer holds, on every pinned kernel.
const ROUTER_BURST: u32 = 400;
const HANDLE_BURST: u32 = 10;

fn send_burst(sender: &NlSocket, count: u32) -> Result<()> {
    let mask = group_mask(GROUP).context("group 22 has a bit")?;
    for n in 1..=count {
        let msg = MsgBuilder::new(0x10, 0, n)
            .fixed(&[0u8; 20])
            .finish()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        match sender.send_to(&msg, 0, mask) {
            Ok(_) => {}
            // USERSOCK: broadcast done, nobody at port 0 (chapter 3).
            Err(e) if e.errno == Errno(libc::ECONNREFUSED) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// `Rmem` and `Drops` of port `portid` in this thread's /proc/net/netlink.
fn proc_columns(portid: u32) -> Result<(u32, u32)> {
    let e = procfs::read()?
        .into_iter()
        .find(|e| i32::from(e.protocol) == libc::NETLINK_USERSOCK && e.portid == portid)
        .context("a socket is missing from /proc/thread-self/net/netlink")?;
    Ok((e.rmem, e.drops))
}

// The pipes the signal handler uses: it reports that it runs, then waits.
static ENTERED_WRITE: AtomicI32 = AtomicI32::new(-1);
static RELEASE_READ: AtomicI32 = AtomicI32::new(-1);

extern "C" fn hold_thread(_: libc::c_int) {
    let mut byte = 0u8;
    // SAFETY: write and read are async-signal-safe; the buffers are ours.
    unsafe {
        libc::write(
            ENTERED_WRITE.load(Ordering::SeqCst),
            (&raw const byte).cast(),
            1,
        );
        libc::read(
            RELEASE_READ.load(Ordering::SeqCst),
            (&raw mut byte).cast(),
            1,
        );
    }
}

fn pipe() -> Result<[libc::c_int; 2]> {
    let mut fds = [-1; 2];
    // SAFETY: fds has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        bail!("pipe2: {}", Errno::last());
    }
    Ok(fds)
}

fn tasks() -> Result<Vec<i32>> {
    let mut ids: Vec<i32> = std::fs::read_dir("/proc/self/task")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

/// Hold thread `tid` inside a signal handler until the returned closure
/// runs.
fn hold(tid: i32) -> Result<impl FnOnce()> {
    let entered = pipe()?;
    let release = pipe()?;
    ENTERED_WRITE.store(entered[1], Ordering::SeqCst);
    RELEASE_READ.store(release[0], Ordering::SeqCst);
    // SAFETY: a zeroed sigaction with a handler set is valid; the handler
    // only makes async-signal-safe calls. tgkill targets our own thread.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = hold_thread as extern "C" fn(libc::c_int) as libc::sighandler_t;
        if libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()) != 0 {
            bail!("sigaction: {}", Errno::last());
        }
        if libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, libc::SIGUSR1) != 0 {
            bail!("tgkill: {}", Errno::last());
        }
        let mut byte = 0u8;
        if libc::read(entered[0], (&raw mut byte).cast(), 1) != 1 {
            bail!("the router's thread did not stop");
        }
    }
    Ok(move || {
        let byte = 1u8;
        // SAFETY: writing one byte from a valid buffer to our pipe.
        unsafe { libc::write(release[1], (&raw const byte).cast(), 1) };
    })
}

// ANCHOR: router
fn router_part(out: &mut String, sender: &NlSocket) -> Result<()> {
    let before = tasks()?;
    let (router, mut multicast) =
        NlRouter::connect(NlFamily::Usersock, None, Groups::new_groups(&[GROUP]))
            .context("NlRouter::connect")?;
    let thread = *tasks()?
        .iter()
        .find(|t| !before.contains(t))
        .context("NlRouter started no thread")?;
    let release = hold(thread)?;
    send_burst(sender, ROUTER_BURST)?;
    let (_, drops) = proc_columns(router.pid())?;
    release();
    // The thread reads on; wait until it has taken everything, then close
    // the router, which ends its channel after the last message.
    let deadline = Instant::now() + Duration::from_secs(5);
    while proc_columns(router.pid())?.0 != 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(router);
    let mut seqs = Vec::new();
    let mut errors = Vec::new();
    while let Some(item) = multicast.next_typed::<u16, Buffer>() {
        match item {
            Ok(msg) => seqs.push(*msg.nl_seq()),
            // Closing the router ends the channel: the last item says so.
            Err(neli::err::RouterError::ClosedChannel) => break,
            Err(e) => errors.push(e.to_string()),
        }
    }
    let _ = writeln!(
        out,
        "NlRouter, default buffer, {ROUTER_BURST} messages while its thread was held:"
    );
    let _ = writeln!(
        out,
        "  the kernel dropped {drops} (Drops); the multicast receiver got {} messages, in order: {}",
        seqs.len(),
        seqs.windows(2).all(|w| w[1] == w[0] + 1) && seqs.first() == Some(&1)
    );
    let _ = writeln!(
        out,
        "  errors it passed on before the router closed: {}",
        if errors.is_empty() {
            "none".to_owned()
        } else {
            errors.join("; ")
        }
    );
    Ok(())
}
// ANCHOR_END: router

// ANCHOR: handle
/// What a listener that reads its own neli socket sees.
fn handle_part(out: &mut String, sender: &NlSocket) -> Result<()> {
    let sock = NlSocketHandle::connect(NlFamily::Usersock, None, Groups::new_groups(&[GROUP]))
        .context("NlSocketHandle::connect")?;
    sock.set_recv_buffer_size(1024)?;
    // neli's socket blocks; a timeout turns "nothing queued" into EAGAIN.
    set_recv_timeout(&sock, Duration::from_millis(100))?;
    send_burst(sender, HANDLE_BURST)?;
    let _ = writeln!(
        out,
        "NlSocketHandle, set_recv_buffer_size(1024), {HANDLE_BURST} messages, then reading:"
    );
    loop {
        match sock.recv::<u16, Buffer>() {
            Ok((messages, _groups)) => {
                for msg in messages {
                    let msg = msg.context("parsing a message")?;
                    let _ = writeln!(out, "  recv: message {}", msg.nl_seq());
                }
            }
            Err(SocketError::Io(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                let _ = writeln!(
                    out,
                    "  recv: Err(SocketError::Io({})): messages were lost: time to resync",
                    Errno(libc::ENOBUFS)
                );
            }
            Err(SocketError::Io(e)) if e.raw_os_error() == Some(libc::EAGAIN) => {
                let _ = writeln!(out, "  recv: {}: nothing more", Errno(libc::EAGAIN));
                break;
            }
            Err(e) => bail!("NlSocketHandle::recv: {e}"),
        }
    }
    let (_, drops) = proc_columns(sock.pid())?;
    let _ = writeln!(out, "  Drops {drops}");
    Ok(())
}
// ANCHOR_END: handle

fn run() -> Result<String> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "neli 0.7.5, NETLINK_USERSOCK group {GROUP}, in a fresh network namespace"
    );
    let sender = NlSocket::open(libc::NETLINK_USERSOCK)?;
    sender.bind(0, 0)?;
    router_part(&mut out, &sender)?;
    handle_part(&mut out, &sender)?;
    Ok(out)
}

fn main() -> std::process::ExitCode {
    if let Err(usage) = nlbook_common::no_arguments("ch06-neli") {
        return nlbook_common::exit_code("ch06-neli", Err(usage));
    }
    let result = in_fresh_netns(run)
        .map_err(anyhow::Error::from)
        .and_then(|r| r)
        .map(|out| print!("{out}"));
    exit_code("ch06-neli", result)
}
