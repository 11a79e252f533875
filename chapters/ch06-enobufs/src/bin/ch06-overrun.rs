//! `ch06-overrun`: make netlink drop messages on purpose, the same way on
//! every run, and look at it from every side.
//!
//! In a fresh network namespace, on `NETLINK_USERSOCK` group 22: what
//! `SO_RCVBUF` really sets; what one queued message costs; a listener with
//! the report's `SO_RCVBUF 1024` that is sent 10 messages before it reads;
//! the same with `NETLINK_NO_ENOBUFS`; and `SO_RCVBUFFORCE`.
//!
//! Every message is multicast before the listener's first `recv`: delivery
//! happens inside the sender's `sendmsg()`, so what the queue holds when
//! that returns is all the listener will ever get.

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use ch06_enobufs::queue::{Recv, drain, try_recv};
use ch06_enobufs::rcvbuf::{
    MemInfo, RMEM_DEFAULT_PATH, RMEM_MAX_PATH, effective_rcvbuf, in_initial_user_namespace,
    meminfo, messages_that_fit, rcvbuf, read_sysctl, set_no_enobufs, set_rcvbuf, set_rcvbuf_force,
};
use nlbook_common::membership::{group_mask, join_group};
use nlbook_common::procfs;
use nlbook_common::{Errno, MsgBuilder, NlMsgIter, NlSocket, exit_code, in_fresh_netns};

/// The report's group (chapter 3's timer module sends there too).
const GROUP: u32 = 22;
/// The message type: the first one a protocol may use.
const MSG_TYPE: u16 = 0x10;
/// Payload bytes: with the 16-byte header, a 36-byte message.
const PAYLOAD_LEN: usize = 20;
/// How many messages the overrun sends before the first `recv`.
const BURST: u32 = 10;
/// Past the pinned kernels' rmem_max (212992): SO_RCVBUF would cap it.
const FORCE_REQUEST: i32 = 1 << 20;
/// The report's request.
const SMALL_REQUEST: i32 = 1024;

/// The 36-byte message number `n`: payload "message NN", NUL-padded.
fn message(n: u32) -> Result<Vec<u8>> {
    let mut payload = [0u8; PAYLOAD_LEN];
    let text = format!("message {n:02}");
    payload[..text.len()].copy_from_slice(text.as_bytes());
    MsgBuilder::new(MSG_TYPE, 0, n)
        .fixed(&payload)
        .finish()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

struct Sender {
    sock: NlSocket,
}

impl Sender {
    fn new() -> Result<Self> {
        let sock = NlSocket::open(libc::NETLINK_USERSOCK)?;
        sock.bind(0, 0)?;
        Ok(Sender { sock })
    }

    // ANCHOR: send
    /// Multicast message `n` to the group. On `NETLINK_USERSOCK` the
    /// broadcast is done before `sendmsg()` goes on to unicast to port 0,
    /// where no kernel socket listens: `ECONNREFUSED` (chapter 3) means
    /// "delivered to every member that had room".
    fn send(&self, n: u32) -> Result<()> {
        let mask = group_mask(GROUP).context("group 22 has a bit")?;
        match self.sock.send_to(&message(n)?, 0, mask) {
            Ok(_) => Ok(()),
            Err(e) if e.errno == Errno(libc::ECONNREFUSED) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
    // ANCHOR_END: send
}

/// A member of the group, its buffer set before joining.
fn listener(request: Option<i32>) -> Result<NlSocket> {
    let sock = NlSocket::open(libc::NETLINK_USERSOCK)?;
    // A port id of its own: the sender's broadcast skips no one else.
    sock.bind(0, 0)?;
    if let Some(bytes) = request {
        set_rcvbuf(&sock, bytes)?;
    }
    join_group(&sock, GROUP).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(sock)
}

/// The `Rmem` and `Drops` columns of this socket's line in the thread's
/// `/proc/net/netlink`.
fn proc_columns(sock: &NlSocket) -> Result<(u32, u32)> {
    let portid = sock.portid()?;
    let entry = procfs::read()?
        .into_iter()
        .find(|e| e.protocol == libc::NETLINK_USERSOCK as u8 && e.portid == portid)
        .context("the listener is missing from /proc/thread-self/net/netlink")?;
    Ok((entry.rmem, entry.drops))
}

/// One `recv`'s answer, in words.
fn describe(r: Recv) -> Result<String> {
    Ok(match r {
        Recv::Error(e) if e == Errno(libc::ENOBUFS) => {
            format!("recv: {e}: the kernel dropped messages for this socket")
        }
        Recv::Error(e) => bail!("recv: {e}"),
        Recv::Empty => format!("recv: {}: the queue is empty", Errno(libc::EAGAIN)),
        Recv::Datagram { bytes, .. } => {
            let msg = NlMsgIter::new(&bytes)
                .next()
                .context("an empty datagram")??;
            format!("recv: message {}", msg.header.nlmsg_seq)
        }
    })
}

/// One line per `recv` until the queue is empty.
fn show_drain(out: &mut String, sock: &NlSocket) -> Result<()> {
    for r in drain(sock, 256) {
        let _ = writeln!(out, "   {}", describe(r)?);
    }
    Ok(())
}

/// What the program learns before it enters the fresh namespace.
struct Outside {
    rmem_max: u32,
    rmem_default: u32,
    forced: String,
}

fn run_in_netns(outside: &Outside) -> Result<String> {
    let mut out = String::new();
    macro_rules! say {
        ($($arg:tt)*) => { let _ = writeln!(out, $($arg)*); };
    }
    let Outside {
        rmem_max,
        rmem_default,
        ref forced,
    } = *outside;

    say!("NETLINK_USERSOCK group {GROUP}, in a fresh network namespace");
    // ANCHOR: table
    say!("1. SO_RCVBUF: requested -> effective (net.core.rmem_max {rmem_max})");
    let probe = NlSocket::open(libc::NETLINK_USERSOCK)?;
    say!(
        "   a new socket: {} (net.core.rmem_default)",
        rcvbuf(&probe)?
    );
    let floor = set_rcvbuf(&probe, 0)?;
    say!("   {:>8} -> {floor:>7}: the floor, SOCK_MIN_RCVBUF", 0);
    for requested in [SMALL_REQUEST, 1152, 4096, 65536, 1 << 20] {
        let effective = set_rcvbuf(&probe, requested)?;
        let why = if effective == floor {
            "the floor"
        } else if i64::from(requested) > i64::from(rmem_max) {
            "capped at rmem_max, then doubled"
        } else {
            "doubled"
        };
        if effective != effective_rcvbuf(requested.into(), rmem_max, floor) {
            bail!("SO_RCVBUF {requested} gave {effective}: not the kernel's rule");
        }
        say!("   {requested:>8} -> {effective:>7}: {why}");
    }
    // ANCHOR_END: table
    if rcvbuf(&NlSocket::open(libc::NETLINK_USERSOCK)?)? != rmem_default {
        bail!("a new socket's buffer is not net.core.rmem_default");
    }

    let sender = Sender::new()?;

    // ANCHOR: truesize
    say!("2. what one queued message costs");
    let meter = listener(None)?;
    sender.send(1)?;
    let MemInfo { rmem_alloc, .. } = meminfo(&meter)?;
    let (proc_rmem, _) = proc_columns(&meter)?;
    let len = message(1)?.len();
    say!(
        "   one {len}-byte message queued: SO_MEMINFO rmem_alloc {rmem_alloc}, /proc/net/netlink Rmem {proc_rmem}"
    );
    // ANCHOR_END: truesize
    let truesize = rmem_alloc;
    let fit = messages_that_fit(floor, truesize);
    say!("   so a {floor}-byte buffer holds {fit} of them");

    say!("3. SO_RCVBUF {SMALL_REQUEST}, {BURST} messages sent before the first recv");
    // ANCHOR: overrun
    let small = listener(Some(SMALL_REQUEST))?;
    for n in 1..=BURST {
        sender.send(n)?;
    }
    let before = meminfo(&small)?;
    let (_, proc_drops) = proc_columns(&small)?;
    say!(
        "   queued {} bytes in a {}-byte buffer; drops: SO_MEMINFO {}, /proc/net/netlink Drops {proc_drops}",
        before.rmem_alloc,
        before.rcvbuf,
        before.drops
    );
    show_drain(&mut out, &small)?;
    // ANCHOR_END: overrun
    if before.drops != BURST - fit || proc_drops != before.drops {
        bail!("{} drops, expected {}", before.drops, BURST - fit);
    }

    say!("4. after a drop, nothing is queued until the queue is empty");
    // ANCHOR: congested
    for n in 1..=BURST {
        sender.send(n)?;
    }
    for _ in 0..2 {
        let line = describe(try_recv(&small, 256))?;
        say!("   {line}");
    }
    let queued = meminfo(&small)?;
    sender.send(BURST + 1)?;
    let now = meminfo(&small)?;
    say!(
        "   message {} sent with {} of {} bytes queued: drops {} -> {}",
        BURST + 1,
        queued.rmem_alloc,
        queued.rcvbuf,
        queued.drops,
        now.drops
    );
    show_drain(&mut out, &small)?;
    let empty = meminfo(&small)?;
    sender.send(BURST + 2)?;
    say!(
        "   message {} sent to the empty queue: drops {} -> {}",
        BURST + 2,
        empty.drops,
        meminfo(&small)?.drops
    );
    show_drain(&mut out, &small)?;
    // ANCHOR_END: congested
    if now.drops != queued.drops + 1 {
        bail!("message {} was not dropped", BURST + 1);
    }

    say!("5. NETLINK_NO_ENOBUFS, SO_RCVBUF {SMALL_REQUEST}, {BURST} messages");
    // ANCHOR: no_enobufs
    let quiet = listener(Some(SMALL_REQUEST))?;
    set_no_enobufs(&quiet)?;
    for n in 1..=BURST {
        sender.send(n)?;
    }
    let drops = meminfo(&quiet)?.drops;
    let (_, proc_drops) = proc_columns(&quiet)?;
    say!("   drops: SO_MEMINFO {drops}, /proc/net/netlink Drops {proc_drops}");
    show_drain(&mut out, &quiet)?;
    // ANCHOR_END: no_enobufs

    let force = FORCE_REQUEST;
    say!("6. SO_RCVBUFFORCE {force}, which SO_RCVBUF would cap at rmem_max");
    let forced_here = match set_rcvbuf_force(&probe, force) {
        Ok(effective) => format!("ok, effective {effective}"),
        Err(e) if e.errno == Errno(libc::EPERM) => format!(
            "{}: needs CAP_NET_ADMIN in the initial user namespace",
            e.errno
        ),
        Err(e) => return Err(e.into()),
    };
    let who = if in_initial_user_namespace() {
        "this process, initial user namespace"
    } else {
        "this process, a user namespace of its own"
    };
    say!("   {who}: {forced_here}");
    say!("   a child in a new user namespace (as unshare -Urn): {forced}");
    Ok(out)
}

// ANCHOR: force_in_child
/// Try `SO_RCVBUFFORCE` from a child that makes its own user and network
/// namespaces first, as `unshare -Urn` does. Forked before this process
/// starts any thread (`unshare(CLONE_NEWUSER)` needs a single-threaded
/// caller); the child makes system calls only, and exits with 0 or the
/// errno.
fn force_in_new_user_namespace() -> String {
    // SAFETY: no thread has been started yet; the child calls only
    // async-signal-safe functions and leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: plain system calls on values owned by the child.
        unsafe {
            if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 {
                libc::_exit(255);
            }
            let fd = libc::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_USERSOCK);
            if fd < 0 {
                libc::_exit(254);
            }
            let value: libc::c_int = FORCE_REQUEST;
            let rc = libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                (&raw const value).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
            let errno = *libc::__errno_location();
            libc::_exit(if rc == 0 { 0 } else { errno.clamp(1, 253) });
        }
    }
    if pid < 0 {
        return format!("fork failed: {}", Errno::last());
    }
    let mut status = 0;
    // SAFETY: waiting for our own child; status is a valid int.
    if unsafe { libc::waitpid(pid, &raw mut status, 0) } != pid || !libc::WIFEXITED(status) {
        return "the child did not exit normally".into();
    }
    match libc::WEXITSTATUS(status) {
        0 => "ok".into(),
        255 => "could not make a user namespace".into(),
        254 => "could not open a socket".into(),
        e if e == libc::EPERM => format!(
            "{}: CAP_NET_ADMIN there is not CAP_NET_ADMIN in the initial user namespace",
            Errno(e)
        ),
        e => format!("{}", Errno(e)),
    }
}
// ANCHOR_END: force_in_child

fn run() -> Result<()> {
    let outside = Outside {
        forced: force_in_new_user_namespace(),
        // Read here: a namespace made by this process shows them on 6.12
        // but not on 6.1, whose net.core.rmem_* exist in the initial one only.
        rmem_max: read_sysctl(RMEM_MAX_PATH).map_err(anyhow::Error::msg)?,
        rmem_default: read_sysctl(RMEM_DEFAULT_PATH).map_err(anyhow::Error::msg)?,
    };
    let out = in_fresh_netns(|| run_in_netns(&outside))??;
    print!("{out}");
    Ok(())
}

fn main() -> std::process::ExitCode {
    if let Err(usage) = nlbook_common::no_arguments("ch06-overrun") {
        return nlbook_common::exit_code("ch06-overrun", Err(usage));
    }
    exit_code("ch06-overrun", run())
}
