//! Chapter 13: how fast is netlink? The benchmark's cases, written once as
//! a harness (threads, barrier, clock, result line) and three times as hot
//! loops: raw `libc` calls ([`raw`]), the `neli` crate ([`with_neli`]) and
//! the rust-netlink crates ([`with_rust_netlink`]). The C reference,
//! `c/netlink_bench.c`, follows the same protocol and prints the same line;
//! `cargo xtask bench` runs all four side by side.
//!
//! Every message of the USERSOCK cases is 36 bytes: the 16-byte `nlmsghdr`,
//! then the message's index (u64), a marker (u64) and a spare u32. A
//! receiver checks the type, the length, the marker and that indices only
//! grow, so a fast wrong answer cannot pass for a fast right one.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nlbook_common::socket::{set_int_option, set_recv_timeout};
use nlbook_common::{NlMsgHdr, nlmsg_align};

pub mod raw;
pub mod with_neli;
pub mod with_rust_netlink;

/// The benchmark message's `nlmsg_type`: `NLMSG_MIN_TYPE`, the first type
/// that is not a control message.
pub const MSG_TYPE: u16 = 0x10;
/// The benchmark message's length: header, index, marker, spare.
pub const MSG_LEN: usize = 36;
/// Where the next message starts in a datagram (36 is already aligned).
pub const MSG_SPACE: usize = nlmsg_align(MSG_LEN);
/// "nlbench!" read as a little-endian u64: garbage cannot carry it by chance.
pub const MARKER: u64 = u64::from_le_bytes(*b"nlbench!");
/// The USERSOCK multicast group of the multicast cases.
pub const GROUP: u32 = 1;
/// Messages per datagram in `recv-batched`.
pub const BATCH: usize = 64;
/// Every receiver's buffer: room for a whole batch, and for the kernel's
/// answer about `lo`.
pub const RECV_BUF: usize = 32 * 1024;
/// The receive queue limit asked for: large, so that receivers that fall
/// behind queue messages instead of dropping them.
pub const RCVBUF_BYTES: i32 = 256 << 20;
/// A receiver gives up after this long without a message: a lost message
/// ends the run (counted as a drop) instead of hanging it.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(2);
/// The most receivers a case uses.
pub const MAX_RECEIVERS: usize = 4;
/// `SO_RCVBUFFORCE` (`asm-generic/socket.h`): `SO_RCVBUF` past `rmem_max`,
/// for CAP_NET_ADMIN.
const SO_RCVBUFFORCE: i32 = 33;

/// The benchmark's cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// USERSOCK multicast, one sender, one receiver: messages/s.
    Mcast1,
    /// USERSOCK multicast, one sender, four receivers: messages/s sent.
    Mcast4,
    /// USERSOCK unicast to a peer that echoes: round trips/s.
    PingPong,
    /// `RTM_GETLINK` for `lo`, answered by the kernel: round trips/s.
    KernelGetlink,
    /// USERSOCK unicast stream, one message per datagram: messages/s.
    RecvSingle,
    /// The same stream, [`BATCH`] messages per datagram: messages/s.
    RecvBatched,
    /// No socket: [`BATCH`] messages per datagram written into a buffer
    /// and read back, as the stream's sender and receiver do: messages/s.
    /// What `recv-batched` spends in user space.
    Codec,
}

impl Case {
    /// Every case, in the order reports list them.
    pub const ALL: [Case; 7] = [
        Case::Mcast1,
        Case::Mcast4,
        Case::PingPong,
        Case::KernelGetlink,
        Case::RecvSingle,
        Case::RecvBatched,
        Case::Codec,
    ];

    /// The name on the command line and in the result line.
    pub fn name(self) -> &'static str {
        match self {
            Case::Mcast1 => "mcast-1",
            Case::Mcast4 => "mcast-4",
            Case::PingPong => "pingpong",
            Case::KernelGetlink => "kernel-getlink",
            Case::RecvSingle => "recv-single",
            Case::RecvBatched => "recv-batched",
            Case::Codec => "codec",
        }
    }

    /// The case called `name`.
    pub fn from_name(name: &str) -> Option<Case> {
        Case::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// The implementations of the Rust side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    /// `libc` calls through `nlbook_common::NlSocket`.
    Raw,
    /// The `neli` crate: its socket, its message types.
    Neli,
    /// The rust-netlink crates: `netlink-sys`'s socket,
    /// `netlink-packet-core`'s and `netlink-packet-route`'s messages.
    RustNetlink,
}

impl Impl {
    /// The name on the command line and in the result line.
    pub fn name(self) -> &'static str {
        match self {
            Impl::Raw => "raw",
            Impl::Neli => "neli",
            Impl::RustNetlink => "rust-netlink",
        }
    }
}

/// What one run measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// From the first send to the last receiver's last message.
    pub elapsed: Duration,
    /// Messages received, over all receivers (answers, for round trips).
    pub delivered: u64,
    /// Messages sent but never received, over all receivers.
    pub drops: u64,
    /// `ENOBUFS` errors the receivers saw: the kernel's word for drops.
    pub overruns: u64,
}

/// The line every implementation prints, C included.
pub fn result_line(implementation: &str, case: Case, messages: u64, outcome: &Outcome) -> String {
    format!(
        "impl={implementation} case={} messages={messages} elapsed_ns={} delivered={} drops={} overruns={}",
        case.name(),
        outcome.elapsed.as_nanos(),
        outcome.delivered,
        outcome.drops,
        outcome.overruns
    )
}

// ANCHOR: check
/// Writes benchmark message `index` into the first [`MSG_LEN`] bytes of `at`.
// Inlined into the hot loops, with the error path out of line: the whole
// check then costs a few compares per message, as in the C reference.
#[inline]
pub fn write_message(at: &mut [u8], index: u64) -> Result<()> {
    let Some(at) = at.first_chunk_mut::<MSG_LEN>() else {
        return Err(no_room());
    };
    let header = NlMsgHdr {
        nlmsg_len: MSG_LEN as u32,
        nlmsg_type: MSG_TYPE,
        nlmsg_flags: 0,
        // The low 32 bits: nlmsg_seq is a u32, the index a u64.
        nlmsg_seq: index as u32,
        nlmsg_pid: 0,
    };
    at[..16].copy_from_slice(&header.to_bytes());
    at[16..24].copy_from_slice(&index.to_ne_bytes());
    at[24..32].copy_from_slice(&MARKER.to_ne_bytes());
    at[32..36].copy_from_slice(&0u32.to_ne_bytes());
    Ok(())
}

/// The index of the benchmark message at the start of `at`, or why it is
/// not one.
#[inline]
pub fn message_index(at: &[u8]) -> Result<u64> {
    let Some(msg) = at.first_chunk::<MSG_LEN>() else {
        return Err(too_short(at.len()));
    };
    // Fixed offsets in a fixed-size array: no bounds checks are left.
    let word = |from: usize| u64::from_ne_bytes(bytes_at(msg, from));
    let nlmsg_len = u32::from_ne_bytes(bytes_at(msg, 0));
    let nlmsg_type = u16::from_ne_bytes(bytes_at(msg, 4));
    if nlmsg_len as usize != MSG_LEN || nlmsg_type != MSG_TYPE || word(24) != MARKER {
        return Err(not_ours(msg));
    }
    Ok(word(16))
}

#[inline]
fn bytes_at<const N: usize>(msg: &[u8; MSG_LEN], from: usize) -> [u8; N] {
    msg.get(from..from + N)
        .and_then(|b| <[u8; N]>::try_from(b).ok())
        .unwrap_or([0; N])
}

#[cold]
fn no_room() -> anyhow::Error {
    anyhow::anyhow!("no room for a {MSG_LEN}-byte message")
}

#[cold]
fn too_short(len: usize) -> anyhow::Error {
    anyhow::anyhow!("{len} bytes: too short for a benchmark message")
}

#[cold]
fn not_ours(msg: &[u8; MSG_LEN]) -> anyhow::Error {
    match NlMsgHdr::from_bytes(msg) {
        Some(h) if h.nlmsg_len as usize != MSG_LEN || h.nlmsg_type != MSG_TYPE => anyhow::anyhow!(
            "not a benchmark message: length {}, type {:#x}",
            h.nlmsg_len,
            h.nlmsg_type
        ),
        _ => anyhow::anyhow!("a benchmark message without its marker"),
    }
}
// ANCHOR_END: check

/// Counts what a stream receiver got, and checks that indices only grow
/// (after a loss they jump).
#[derive(Clone, Copy, Debug, Default)]
pub struct StreamTally {
    /// Messages received.
    pub received: u64,
    /// The lowest index the next message may carry.
    pub next_index: u64,
    /// `ENOBUFS` errors seen.
    pub overruns: u64,
}

impl StreamTally {
    /// Records message `index`; an index that goes back is an error.
    #[inline]
    pub fn record(&mut self, index: u64) -> Result<()> {
        if index < self.next_index {
            return Err(out_of_order(index, self.next_index - 1));
        }
        self.next_index = index + 1;
        self.received += 1;
        Ok(())
    }
}

#[cold]
fn out_of_order(index: u64, previous: u64) -> anyhow::Error {
    anyhow::anyhow!("message {index} after message {previous}: out of order")
}

/// A receiver's socket options, for every implementation alike: a receive
/// queue of [`RCVBUF_BYTES`] (`SO_RCVBUFFORCE` as root, else `SO_RCVBUF`,
/// which `rmem_max` caps) and [`RECV_TIMEOUT`].
pub fn prepare_receiver(sock: &impl AsRawFd) -> Result<()> {
    if set_int_option(sock, libc::SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES).is_err() {
        set_int_option(sock, libc::SOL_SOCKET, libc::SO_RCVBUF, RCVBUF_BYTES)
            .map_err(|e| anyhow::anyhow!("setsockopt(SO_RCVBUF, {RCVBUF_BYTES}): {e}"))?;
    }
    set_recv_timeout(sock, RECV_TIMEOUT)?;
    Ok(())
}

/// Where a stream goes: a port id (unicast) or a group (multicast).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Unicast to this port id.
    Port(u32),
    /// Multicast to this group (1..=32).
    Group(u32),
}

/// One implementation of the benchmark's hot loops. The harness in
/// [`run_case`] opens the sockets through it, starts the threads and
/// takes the time.
pub trait Implementation {
    /// A socket of this implementation; moved into receiver threads.
    type Socket: AsRawFd + Send + Sync;

    /// `socket(AF_NETLINK, SOCK_RAW, protocol)`, bound to a port id the
    /// kernel chooses.
    fn open(protocol: i32) -> Result<Self::Socket>;
    /// Join multicast `group`.
    fn join(sock: &Self::Socket, group: u32) -> Result<()>;
    /// The port id the kernel gave the socket.
    fn portid(sock: &Self::Socket) -> Result<u32>;
    /// Where a sender builds its datagrams, allocated once per run.
    type Outgoing;
    /// Room for datagrams of up to `batch` messages.
    fn outgoing(batch: usize) -> Self::Outgoing;
    /// Writes messages `first..first + count` into `out`; returns the
    /// datagram's bytes.
    fn fill(out: &mut Self::Outgoing, first: u64, count: usize) -> Result<&[u8]>;
    /// Checks every message of a received datagram and records it.
    fn read(datagram: &[u8], tally: &mut StreamTally) -> Result<()>;
    /// Send `messages` benchmark messages to `to`, `batch` per datagram.
    fn send_stream(sock: &Self::Socket, to: Destination, messages: u64, batch: usize)
    -> Result<()>;
    /// Receive until message `messages - 1` arrived or [`RECV_TIMEOUT`]
    /// passed without a message.
    fn receive_stream(sock: &Self::Socket, messages: u64) -> Result<StreamTally>;
    /// Send message `i` to `server`, wait for its echo; `messages` times.
    fn ping(sock: &Self::Socket, server: u32, messages: u64) -> Result<()>;
    /// Receive a message, send it back to `client`; `messages` times.
    fn echo(sock: &Self::Socket, client: u32, messages: u64) -> Result<()>;
    /// Ask the kernel for `lo` (`RTM_GETLINK`, index 1) and check its
    /// `RTM_NEWLINK` answer; `messages` times.
    fn get_link(sock: &Self::Socket, messages: u64) -> Result<()>;
}

// ANCHOR: cpu
/// Keeps the calling thread, and every thread it starts from now on, on
/// one CPU: the first the process may use. Returns that CPU.
///
/// On one CPU a case measures what its messages cost in CPU time. On two,
/// it measured the scheduler: unpinned, `mcast-4`'s five threads ran
/// between 126 k and 477 k messages/s from one run to the next; with
/// senders and receivers pinned apart, a receiver that was faster than its
/// sender emptied its queue, slept, and made the sender pay for a wake-up
/// every few datagrams, so the faster implementation measured slower.
pub fn pin_to_one_cpu() -> Result<usize> {
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: set is a valid cpu_set_t and the size says so.
    if unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) } < 0 {
        return Err(std::io::Error::last_os_error()).context("sched_getaffinity");
    }
    let Some(cpu) = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: cpu is below CPU_SETSIZE.
        .find(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
    else {
        bail!("sched_getaffinity: no CPU allowed");
    };
    // SAFETY: set is a valid cpu_set_t and cpu is below CPU_SETSIZE.
    unsafe {
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
    }
    // SAFETY: set is a valid cpu_set_t and the size says so; pid 0 is the
    // calling thread.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) } < 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("sched_setaffinity(CPU {cpu})"));
    }
    Ok(cpu)
}
// ANCHOR_END: cpu

/// Run `case` with implementation `I`. Call it in a fresh network namespace
/// (see [`run_in_fresh_netns`]).
pub fn run_case<I: Implementation>(case: Case, messages: u64) -> Result<Outcome> {
    // Before any thread starts: they inherit it.
    pin_to_one_cpu()?;
    match case {
        Case::Mcast1 => stream::<I>(messages, 1, true, 1),
        Case::Mcast4 => stream::<I>(messages, 4, true, 1),
        Case::RecvSingle => stream::<I>(messages, 1, false, 1),
        Case::RecvBatched => stream::<I>(messages, 1, false, BATCH),
        Case::PingPong => pingpong::<I>(messages),
        Case::Codec => codec::<I>(messages),
        Case::KernelGetlink => {
            let sock = I::open(libc::NETLINK_ROUTE)?;
            prepare_receiver(&sock)?;
            let start = Instant::now();
            I::get_link(&sock, messages)?;
            Ok(Outcome {
                elapsed: start.elapsed(),
                delivered: messages,
                ..Outcome::default()
            })
        }
    }
}

/// Runs `case` on a thread of its own in a new network namespace: no other
/// USERSOCK listener of the machine is counted, and `lo` is the only link.
/// Threads the case starts inherit the namespace.
pub fn run_in_fresh_netns<I: Implementation>(case: Case, messages: u64) -> Result<Outcome> {
    nlbook_common::in_fresh_netns(|| run_case::<I>(case, messages))?
}

fn stream<I: Implementation>(
    messages: u64,
    receivers: usize,
    multicast: bool,
    batch: usize,
) -> Result<Outcome> {
    let sender = I::open(libc::NETLINK_USERSOCK)?;
    let mut sockets = Vec::with_capacity(receivers);
    for _ in 0..receivers {
        let sock = I::open(libc::NETLINK_USERSOCK)?;
        prepare_receiver(&sock)?;
        if multicast {
            I::join(&sock, GROUP).with_context(|| {
                format!(
                    "joining USERSOCK group {GROUP} (needs CAP_NET_ADMIN: root, or `unshare -Urn`)"
                )
            })?;
        }
        sockets.push(sock);
    }
    let to = match (multicast, sockets.first()) {
        (true, _) => Destination::Group(GROUP),
        (false, Some(only)) => Destination::Port(I::portid(only)?),
        (false, None) => bail!("a unicast stream needs a receiver"),
    };
    let ready = std::sync::Barrier::new(receivers + 1);
    std::thread::scope(|scope| {
        let threads: Vec<_> = sockets
            .iter()
            .map(|sock| {
                let ready = &ready;
                scope.spawn(move || {
                    ready.wait();
                    let tally = I::receive_stream(sock, messages);
                    (tally, Instant::now())
                })
            })
            .collect();
        ready.wait();
        let start = Instant::now();
        let sent = I::send_stream(&sender, to, messages, batch);
        let mut outcome = Outcome::default();
        let mut end = start;
        for thread in threads {
            let (tally, finished) = thread
                .join()
                .map_err(|_| anyhow::anyhow!("a receiver thread panicked"))?;
            let tally = tally?;
            end = end.max(finished);
            outcome.delivered += tally.received;
            outcome.drops += messages.saturating_sub(tally.received);
            outcome.overruns += tally.overruns;
        }
        sent?;
        outcome.elapsed = end - start;
        Ok(outcome)
    })
}

// ANCHOR: codec
/// `recv-batched` without the kernel: the sender's [`Implementation::fill`]
/// and the receiver's [`Implementation::read`], one after the other on one
/// thread, [`BATCH`] messages at a time.
fn codec<I: Implementation>(messages: u64) -> Result<Outcome> {
    let mut out = I::outgoing(BATCH);
    let mut tally = StreamTally::default();
    let start = Instant::now();
    let mut done = 0;
    while done < messages {
        let count = BATCH.min((messages - done) as usize);
        let datagram = I::fill(&mut out, done, count)?;
        // As if the bytes had gone through the kernel: the compiler may not
        // decode what it just encoded from its registers.
        I::read(std::hint::black_box(datagram), &mut tally)?;
        done += count as u64;
    }
    Ok(Outcome {
        elapsed: start.elapsed(),
        delivered: tally.received,
        drops: messages.saturating_sub(tally.received),
        overruns: 0,
    })
}
// ANCHOR_END: codec

fn pingpong<I: Implementation>(messages: u64) -> Result<Outcome> {
    let client = I::open(libc::NETLINK_USERSOCK)?;
    let server = I::open(libc::NETLINK_USERSOCK)?;
    prepare_receiver(&client)?;
    prepare_receiver(&server)?;
    let (client_port, server_port) = (I::portid(&client)?, I::portid(&server)?);
    std::thread::scope(|scope| {
        let echo = scope.spawn(|| I::echo(&server, client_port, messages));
        let start = Instant::now();
        let pinged = I::ping(&client, server_port, messages);
        let elapsed = start.elapsed();
        echo.join()
            .map_err(|_| anyhow::anyhow!("the echo thread panicked"))??;
        pinged?;
        Ok(Outcome {
            elapsed,
            delivered: messages,
            ..Outcome::default()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips_through_its_bytes() {
        let mut buf = [0u8; MSG_LEN];
        write_message(&mut buf, 0x1_0000_0002).unwrap();
        assert_eq!(buf.len(), MSG_SPACE);
        assert_eq!(message_index(&buf).unwrap(), 0x1_0000_0002);
        // nlmsg_seq holds the low 32 bits.
        assert_eq!(&buf[8..12], &2u32.to_ne_bytes());
    }

    #[test]
    fn damaged_messages_are_refused() {
        let mut buf = [0u8; MSG_LEN];
        write_message(&mut buf, 7).unwrap();
        assert!(
            message_index(&buf[..20])
                .unwrap_err()
                .to_string()
                .contains("too short")
        );
        let mut other_type = buf;
        other_type[4] = 0x11;
        assert!(
            message_index(&other_type)
                .unwrap_err()
                .to_string()
                .contains("type 0x11")
        );
        let mut no_marker = buf;
        no_marker[30] ^= 1;
        assert!(
            message_index(&no_marker)
                .unwrap_err()
                .to_string()
                .contains("marker")
        );
    }

    #[test]
    fn indices_may_jump_but_not_go_back() {
        let mut tally = StreamTally::default();
        tally.record(0).unwrap();
        tally.record(5).unwrap();
        assert_eq!((tally.received, tally.next_index), (2, 6));
        assert!(
            tally
                .record(5)
                .unwrap_err()
                .to_string()
                .contains("out of order")
        );
    }

    #[test]
    fn case_names_round_trip() {
        for case in Case::ALL {
            assert_eq!(Case::from_name(case.name()), Some(case));
        }
        assert_eq!(Case::from_name("mcast-2"), None);
    }

    /// Both codecs write the same bytes, read each other's datagrams, and
    /// refuse a datagram that ends inside a message.
    #[test]
    fn raw_and_neli_datagrams_are_the_same_bytes() {
        use crate::raw::Raw;
        use crate::with_neli::Neli;
        let (mut raw_out, mut neli_out) = (Raw::outgoing(BATCH), Neli::outgoing(BATCH));
        let raw = Raw::fill(&mut raw_out, 100, 3).unwrap().to_vec();
        let neli = Neli::fill(&mut neli_out, 100, 3).unwrap().to_vec();
        assert_eq!(raw.len(), 3 * MSG_SPACE);
        assert_eq!(raw, neli);
        for read in [Raw::read, Neli::read] {
            let mut tally = StreamTally::default();
            read(&raw, &mut tally).unwrap();
            assert_eq!((tally.received, tally.next_index), (3, 103));
            assert!(read(&raw[..raw.len() - 4], &mut StreamTally::default()).is_err());
        }
    }

    #[test]
    fn the_codec_case_delivers_every_message() {
        for outcome in [
            codec::<crate::raw::Raw>(1000).unwrap(),
            codec::<crate::with_neli::Neli>(1000).unwrap(),
        ] {
            assert_eq!((outcome.delivered, outcome.drops), (1000, 0));
        }
    }

    #[test]
    fn threads_started_after_pinning_share_the_cpu() {
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let cpu = pin_to_one_cpu().unwrap();
                let started = std::thread::spawn(|| {
                    // SAFETY: sched_getcpu takes no arguments.
                    unsafe { libc::sched_getcpu() }
                });
                assert_eq!(started.join().unwrap(), cpu as i32);
            });
        });
    }

    #[test]
    fn the_marker_spells_its_name() {
        assert_eq!(MARKER, 0x2168636e65626c6e);
    }
}
