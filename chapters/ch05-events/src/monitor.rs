//! The SA monitor: in a fresh network namespace, two sockets join
//! `XFRMNLGRP_SA` (one with `bind()`'s `nl_groups`, one with
//! `NETLINK_ADD_MEMBERSHIP`), a third adds an ESP SA and deletes it, and the
//! events the kernel multicast are decoded.

use std::fmt;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;
use std::time::Duration;

use nlbook_common::membership::{MembershipError, group_mask, join_group};
use nlbook_common::uapi::{NETLINK_EXT_ACK, NLM_F_ACK, NLM_F_REQUEST, NLMSG_ERROR, SOL_NETLINK};
use nlbook_common::{
    Errno, Malformed, MsgBuilder, NetnsError, NlMsgErr, NlMsgIter, NlSocket, Problem, SysError,
    in_fresh_netns,
};

use crate::xfrm::{
    IPPROTO_ESP, NETLINK_XFRM, SaEvent, SaSpec, XFRM_MODE_TRANSPORT, XFRM_MSG_DELSA,
    XFRM_MSG_NEWSA, XFRMA_ALG_AUTH_TRUNC, XFRMA_ALG_CRYPT, XFRMNLGRP_SA, clock_fields,
    decode_sa_event, usersa_id, usersa_info, xfrm_algo, xfrm_algo_auth,
};

// ANCHOR: sa
/// The SA the monitor adds: documentation addresses (RFC 5737), transport
/// mode, NULL encryption (RFC 2410) with HMAC-SHA-256 truncated to 128 bits
/// (RFC 4868).
pub fn the_sa() -> SaSpec {
    SaSpec {
        src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        dst: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        spi: 0x0000_c0de,
        proto: IPPROTO_ESP,
        mode: XFRM_MODE_TRANSPORT,
        reqid: 5,
        replay_window: 32,
    }
}

/// Encryption: none, `ecb(cipher_null)` with a 0-bit key. A real cipher
/// such as `cbc(aes)` needs an IV generator (`echainiv`), which seeds itself
/// from the kernel's default random number generator: on Debian's 6.1 that
/// is module `drbg`, which then stays in use and cannot be unloaded.
pub const CRYPT: (&str, [u8; 0]) = ("ecb(cipher_null)", []);
/// Authentication: `hmac(sha256)`, a 256-bit key, a 128-bit ICV.
pub const AUTH: (&str, [u8; 32], u32) = ("hmac(sha256)", *b"0123456789abcdef0123456789abcdef", 128);
// ANCHOR_END: sa

/// The port id the requesting socket binds to: fixed, so that the output
/// is the same on every run, and above PID_MAX_LIMIT (0x400000), so that it
/// is never the process id the first socket autobound to.
pub const REQUESTER_PORTID: u32 = 0x0050_0005;

/// How long to wait for an ACK.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the queue must stay empty before a drain ends. The kernel
/// multicasts the event inside the request, before the ACK: by the time
/// both ACKs are in, every event is queued.
pub const DRAIN_TIMEOUT: Duration = Duration::from_millis(200);

/// Why the monitor failed.
#[derive(Debug)]
pub enum MonitorError {
    /// No fresh namespace.
    Netns(NetnsError),
    /// `socket(AF_NETLINK, SOCK_RAW, NETLINK_XFRM)` failed with
    /// `EPROTONOSUPPORT`: no `xfrm_user`.
    NoXfrmUser(SysError),
    /// `XFRM_MSG_NEWSA` answered `EPROTONOSUPPORT`: no ESP in this kernel.
    NoEsp,
    /// `XFRM_MSG_NEWSA` answered `ENOSYS`: an algorithm is missing.
    NoAlgorithm {
        /// The kernel's extended-ACK text, if any.
        message: Option<String>,
    },
    /// A request answered `EPERM`.
    NeedCapNetAdmin {
        /// The request, in words.
        request: &'static str,
    },
    /// A request failed otherwise.
    Kernel {
        /// The request, in words.
        request: &'static str,
        /// The error.
        errno: Errno,
        /// The extended-ACK text, if any.
        message: Option<String>,
    },
    /// No ACK in time.
    NoAnswer {
        /// The request, in words.
        request: &'static str,
    },
    /// Joining the group failed.
    Join(MembershipError),
    /// A socket call failed.
    Sys(SysError),
    /// A message did not decode.
    Malformed(Malformed),
    /// A request could not be encoded.
    TooLong,
}

impl fmt::Display for MonitorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MonitorError::Netns(e) => write!(f, "{e}"),
            MonitorError::NoXfrmUser(e) => write!(
                f,
                "{e}: this kernel has no NETLINK_XFRM (CONFIG_XFRM_USER, module xfrm_user)"
            ),
            MonitorError::NoEsp => f.write_str(
                "XFRM_MSG_NEWSA: this kernel has no ESP (EPROTONOSUPPORT): \
                 run it in the VM lab: `cargo xtask lab --chapter ch05-events --test sa-monitor`",
            ),
            MonitorError::NoAlgorithm { message } => {
                write!(
                    f,
                    "XFRM_MSG_NEWSA: the kernel answered ENOSYS (38): it lacks {} or {} \
                     (or the authenc template)",
                    CRYPT.0, AUTH.0
                )?;
                if let Some(m) = message {
                    write!(f, " ({m})")?;
                }
                Ok(())
            }
            MonitorError::NeedCapNetAdmin { request } => write!(
                f,
                "{request}: EPERM: changing SAs needs CAP_NET_ADMIN over the network namespace: \
                 run as root, or under `unshare -Urn`"
            ),
            MonitorError::Kernel {
                request,
                errno,
                message,
            } => {
                write!(f, "{request}: the kernel answered {errno}")?;
                if let Some(m) = message {
                    write!(f, " ({m})")?;
                }
                Ok(())
            }
            MonitorError::NoAnswer { request } => {
                write!(f, "{request}: no answer within {} s", ACK_TIMEOUT.as_secs())
            }
            MonitorError::Join(e) => write!(f, "{e}"),
            MonitorError::Sys(e) => write!(f, "{e}"),
            MonitorError::Malformed(e) => write!(f, "{e}"),
            MonitorError::TooLong => f.write_str("a request does not fit in a netlink message"),
        }
    }
}

impl std::error::Error for MonitorError {}

impl From<SysError> for MonitorError {
    fn from(e: SysError) -> Self {
        MonitorError::Sys(e)
    }
}

impl From<Malformed> for MonitorError {
    fn from(e: Malformed) -> Self {
        MonitorError::Malformed(e)
    }
}

impl From<MembershipError> for MonitorError {
    fn from(e: MembershipError) -> Self {
        MonitorError::Join(e)
    }
}

fn open() -> Result<NlSocket, MonitorError> {
    NlSocket::open(NETLINK_XFRM).map_err(|e| {
        if e.errno == Errno(libc::EPROTONOSUPPORT) {
            MonitorError::NoXfrmUser(e)
        } else {
            MonitorError::Sys(e)
        }
    })
}

/// One datagram as received: who sent it, to which groups, and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// `nl_groups` of the sender's address.
    pub groups: u32,
    /// The sender's port id.
    pub from_portid: u32,
    /// The bytes.
    pub bytes: Vec<u8>,
}

fn recv_one(sock: &NlSocket, buf: &mut [u8]) -> Result<Option<Datagram>, MonitorError> {
    let got = match sock.recv(buf) {
        Ok(got) => got,
        Err(e) if e.errno == Errno(libc::EAGAIN) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if got.truncated() {
        return Err(Malformed {
            what: "datagram",
            offset: 0,
            problem: Problem::Truncated {
                have: got.len,
                need: got.datagram_len,
            },
        }
        .into());
    }
    Ok(Some(Datagram {
        groups: got.groups,
        from_portid: got.from_portid,
        bytes: buf[..got.len].to_vec(),
    }))
}

fn drain(sock: &NlSocket) -> Result<Vec<Datagram>, MonitorError> {
    sock.set_recv_timeout(DRAIN_TIMEOUT)?;
    let mut buf = vec![0u8; 16384];
    let mut got = Vec::new();
    while let Some(d) = recv_one(sock, &mut buf)? {
        got.push(d);
    }
    Ok(got)
}

// ANCHOR: request
/// Send `request` and wait for its `NLMSG_ERROR`: error 0 is the ACK.
fn request_ack(
    sock: &NlSocket,
    request: &[u8],
    seq: u32,
    what: &'static str,
) -> Result<(), MonitorError> {
    sock.send_to(request, 0, 0)?;
    let mut buf = vec![0u8; 16384];
    loop {
        let Some(d) = recv_one(sock, &mut buf)? else {
            return Err(MonitorError::NoAnswer { request: what });
        };
        if d.from_portid != 0 {
            continue;
        }
        for msg in NlMsgIter::new(&d.bytes) {
            let msg = msg?;
            if msg.header.nlmsg_type != NLMSG_ERROR || msg.header.nlmsg_seq != seq {
                continue;
            }
            let answer = NlMsgErr::parse(&msg)?;
            let message = answer.message.map(str::to_owned);
            return match answer.errno() {
                None => Ok(()),
                Some(Errno(libc::EPROTONOSUPPORT)) if seq == NEWSA_SEQ => Err(MonitorError::NoEsp),
                Some(Errno(libc::ENOSYS)) if seq == NEWSA_SEQ => {
                    Err(MonitorError::NoAlgorithm { message })
                }
                Some(Errno(libc::EPERM)) => Err(MonitorError::NeedCapNetAdmin { request: what }),
                Some(errno) => Err(MonitorError::Kernel {
                    request: what,
                    errno,
                    message,
                }),
            };
        }
    }
}
// ANCHOR_END: request

/// The `nlmsg_seq` of the `XFRM_MSG_NEWSA` request.
pub const NEWSA_SEQ: u32 = 1;
/// The `nlmsg_seq` of the `XFRM_MSG_DELSA` request.
pub const DELSA_SEQ: u32 = 2;

/// What the monitor saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// What socket B (joined with `bind()`) received.
    pub bound: Vec<Datagram>,
    /// What socket S (joined with `setsockopt()`) received.
    pub joined: Vec<Datagram>,
    /// What the requesting socket C, in no group, received after its ACKs.
    pub requester: Vec<Datagram>,
}

// ANCHOR: run
/// Subscribe two ways, add the SA, delete it, drain.
pub fn run() -> Result<Report, MonitorError> {
    in_fresh_netns(|| {
        // B: the group's bit in bind()'s nl_groups, as `ip xfrm monitor`
        // does. XFRMNLGRP_SA is group 3, bit 2: it has a bit.
        let bound = open()?;
        let mask = group_mask(XFRMNLGRP_SA).unwrap_or_default();
        bound.bind(0, mask)?;
        // S: the group's number, with setsockopt().
        let joined = open()?;
        joined.bind(0, 0)?;
        join_group(&joined, XFRMNLGRP_SA)?;
        // C: the requests; a fixed port id, in no group.
        let requester = open()?;
        requester.bind(REQUESTER_PORTID, 0)?;
        // Extended ACKs add the kernel's reason to errors, where it has one.
        let _ = requester.set_option(SOL_NETLINK, NETLINK_EXT_ACK, 1);
        requester.set_recv_timeout(ACK_TIMEOUT)?;

        let sa = the_sa();
        let newsa = MsgBuilder::new(XFRM_MSG_NEWSA, NLM_F_REQUEST | NLM_F_ACK, NEWSA_SEQ)
            .fixed(&usersa_info(&sa))
            .attr(XFRMA_ALG_CRYPT, &xfrm_algo(CRYPT.0, &CRYPT.1))
            .attr(
                XFRMA_ALG_AUTH_TRUNC,
                &xfrm_algo_auth(AUTH.0, &AUTH.1, AUTH.2),
            )
            .finish()
            .map_err(|_| MonitorError::TooLong)?;
        request_ack(&requester, &newsa, NEWSA_SEQ, "XFRM_MSG_NEWSA")?;

        let delsa = MsgBuilder::new(XFRM_MSG_DELSA, NLM_F_REQUEST | NLM_F_ACK, DELSA_SEQ)
            .fixed(&usersa_id(sa.dst, sa.spi, sa.proto))
            .finish()
            .map_err(|_| MonitorError::TooLong)?;
        request_ack(&requester, &delsa, DELSA_SEQ, "XFRM_MSG_DELSA")?;

        Ok(Report {
            bound: drain(&bound)?,
            joined: drain(&joined)?,
            requester: drain(&requester)?,
        })
    })
    .map_err(MonitorError::Netns)?
}
// ANCHOR_END: run

/// One event, as the monitor prints it.
pub fn describe(event: &SaEvent) -> String {
    let mut out = String::new();
    let (name, header) = match event {
        SaEvent::New { header, .. } => ("XFRM_MSG_NEWSA", header),
        SaEvent::Deleted { header, .. } => ("XFRM_MSG_DELSA", header),
    };
    // seq and pid are copied from the request's header (xfrm_add_sa(),
    // xfrm_del_sa()): whatever the requester wrote there, not its port id.
    let _ = writeln!(
        out,
        "{name} ({} bytes), nlmsg_seq {}, nlmsg_pid {}",
        header.nlmsg_len, header.nlmsg_seq, header.nlmsg_pid,
    );
    let attrs = match event {
        SaEvent::New { sa, attrs, .. } => {
            let _ = writeln!(out, "    SA {sa}");
            attrs
        }
        SaEvent::Deleted { id, attrs, .. } => {
            let _ = writeln!(out, "    id {id}");
            attrs
        }
    };
    for a in attrs {
        let _ = writeln!(out, "    {a}");
    }
    out
}

/// `bytes` as hex, 16 a line, with their offsets.
pub fn hex_lines(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let _ = write!(out, "    {:04x}:", i * 16);
        for b in chunk {
            let _ = write!(out, " {b:02x}");
        }
        out.push('\n');
    }
    out
}

/// One message of a datagram, decoded: where it lies in the datagram
/// (`nlmsg_len` bytes from its start), and its event.
pub type Decoded = (Range<usize>, SaEvent);

/// Every message of a datagram, decoded by this chapter's decoder.
pub fn decode_datagram(bytes: &[u8]) -> Result<Vec<Decoded>, Malformed> {
    let mut events = Vec::new();
    for msg in NlMsgIter::new(bytes) {
        let msg = msg?;
        let start = msg.offset;
        let end = start + msg.header.nlmsg_len as usize;
        events.push((start..end, decode_sa_event(&bytes[start..end])?));
    }
    Ok(events)
}

/// The report as the program prints it; with `hex`, each event's bytes too,
/// the kernel's clock zeroed.
pub fn render(report: &Report, hex: bool) -> Result<String, Malformed> {
    render_with(report, hex, decode_datagram)
}

/// [`render`], with each datagram B received decoded by `decode`: the
/// same report from another decoder (a crate's), as long as it yields the
/// same events.
pub fn render_with<E>(
    report: &Report,
    hex: bool,
    mut decode: impl FnMut(&[u8]) -> Result<Vec<Decoded>, E>,
) -> Result<String, E> {
    let mut out = String::new();
    let sa = the_sa();
    let _ = writeln!(out, "fresh network namespace, three NETLINK_XFRM sockets:");
    let _ = writeln!(
        out,
        "  B: bind() with nl_groups 0x{:08x} (XFRMNLGRP_SA = {XFRMNLGRP_SA})",
        group_mask(XFRMNLGRP_SA).unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "  S: setsockopt(NETLINK_ADD_MEMBERSHIP, {XFRMNLGRP_SA})"
    );
    let _ = writeln!(
        out,
        "  C: bind() to port id 0x{REQUESTER_PORTID:08x}, no group: sends the requests"
    );
    let _ = writeln!(
        out,
        "C: XFRM_MSG_NEWSA (nlmsg_seq {NEWSA_SEQ}, nlmsg_pid 0) esp spi 0x{:08x} {} -> {} transport reqid {}, {} + {}: ACK",
        sa.spi, sa.src, sa.dst, sa.reqid, CRYPT.0, AUTH.0
    );
    let _ = writeln!(
        out,
        "C: XFRM_MSG_DELSA (nlmsg_seq {DELSA_SEQ}, nlmsg_pid 0) esp spi 0x{:08x} dst {}: ACK",
        sa.spi, sa.dst
    );
    let _ = writeln!(out, "B received {} messages:", report.bound.len());
    for d in &report.bound {
        let mut bytes = d.bytes.clone();
        for (range, event) in decode(&d.bytes)? {
            let _ = write!(
                out,
                "  from port id {}, groups 0x{:08x}: {}",
                d.from_portid,
                d.groups,
                describe(&event)
            );
            if hex {
                for clock in clock_fields(&event) {
                    let at = range.start + clock.start..range.start + clock.end;
                    if let Some(field) = bytes.get_mut(at) {
                        field.fill(0);
                    }
                }
                let _ = writeln!(out, "    bytes (curlft.add_time zeroed):");
                out.push_str(&hex_lines(bytes.get(range).unwrap_or_default()));
            }
        }
    }
    let same = report.joined == report.bound;
    let _ = writeln!(
        out,
        "S received {} messages{}",
        report.joined.len(),
        if same {
            ", the same as B, byte for byte"
        } else {
            ", not the same as B's"
        }
    );
    let _ = writeln!(
        out,
        "C received {} messages after its ACKs",
        report.requester.len()
    );
    Ok(out)
}
