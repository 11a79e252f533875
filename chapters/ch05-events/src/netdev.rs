//! The client of `netdev_events.ko` (`kmod/ch05-events/netdev_events.c`):
//! an event family of our own on netlink protocol 27. The module turns
//! network device events into multicast messages, one group per kind of
//! event, in the namespace of the device.

use std::fmt;
use std::time::Duration;

use nlbook_common::link::{self, LinkError, Mac};
use nlbook_common::membership::{MembershipError, group_mask, join_group};
use nlbook_common::uapi::{IFNAMSIZ, NLMSG_MIN_TYPE};
use nlbook_common::{
    Errno, Malformed, NLMSG_HDRLEN, NetnsError, NlMsgIter, NlSocket, Problem, SysError,
    in_fresh_netns,
};

// ANCHOR: protocol
/// The module's protocol number: below `MAX_LINKS` (32), unused by the
/// kernel (its own end at 22) and by the other chapters' modules.
pub const EVENTS_PROTOCOL: i32 = 27;

/// The kinds of event, each with its multicast group. The message type is
/// `NLMSG_MIN_TYPE` + the group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EventKind {
    /// `NETDEV_REGISTER`, group 1.
    Register = 1,
    /// `NETDEV_UP`, group 2.
    Up = 2,
    /// `NETDEV_DOWN`, group 3.
    Down = 3,
    /// `NETDEV_UNREGISTER`, group 4.
    Unregister = 4,
}

/// Every kind, in group order.
pub const EVENT_KINDS: [EventKind; 4] = [
    EventKind::Register,
    EventKind::Up,
    EventKind::Down,
    EventKind::Unregister,
];

/// `struct nlbook_netdev_event`: `__s32 ifindex`, `char name[IFNAMSIZ]`.
pub const EVENT_LEN: usize = 4 + IFNAMSIZ;
// ANCHOR_END: protocol

impl EventKind {
    /// The multicast group of this kind.
    pub fn group(self) -> u32 {
        self as u32
    }

    /// The message type the module gives this kind.
    pub fn message_type(self) -> u16 {
        NLMSG_MIN_TYPE + self as u16
    }

    /// The kind a message type stands for.
    pub fn from_message_type(nlmsg_type: u16) -> Option<Self> {
        EVENT_KINDS
            .into_iter()
            .find(|k| k.message_type() == nlmsg_type)
    }

    /// The notifier event's name in `<linux/netdevice.h>`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Register => "NETDEV_REGISTER",
            EventKind::Up => "NETDEV_UP",
            EventKind::Down => "NETDEV_DOWN",
            EventKind::Unregister => "NETDEV_UNREGISTER",
        }
    }
}

/// One event as the module sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetdevEvent {
    /// What happened.
    pub kind: EventKind,
    /// The device's ifindex in its namespace.
    pub ifindex: i32,
    /// The device's name.
    pub name: String,
}

impl fmt::Display for NetdevEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} (ifindex {})",
            self.kind.name(),
            self.name,
            self.ifindex
        )
    }
}

// ANCHOR: decode
/// Decode one message of the module: its type names the kind, its payload
/// is exactly one `struct nlbook_netdev_event`. Offsets in errors count
/// from the start of the message, its `nlmsghdr`.
pub fn decode_event(nlmsg_type: u16, payload: &[u8]) -> Result<NetdevEvent, Malformed> {
    let at = |problem| Malformed {
        what: "nlbook_netdev_event",
        offset: NLMSG_HDRLEN,
        problem,
    };
    let kind = EventKind::from_message_type(nlmsg_type).ok_or_else(|| {
        at(Problem::Invalid(format!(
            "unknown message type {nlmsg_type}"
        )))
    })?;
    if payload.len() != EVENT_LEN {
        return Err(at(if payload.len() < EVENT_LEN {
            Problem::Truncated {
                have: payload.len(),
                need: EVENT_LEN,
            }
        } else {
            Problem::Invalid(format!(
                "{} bytes, the structure has {EVENT_LEN}",
                payload.len()
            ))
        }));
    }
    let (index, name) = payload.split_at(4);
    let ifindex = i32::from_ne_bytes([index[0], index[1], index[2], index[3]]);
    // The module copies the name with strscpy(): NUL-terminated, always.
    let Some(end) = name.iter().position(|&b| b == 0) else {
        return Err(at(Problem::Invalid("the name has no NUL".into())));
    };
    let name = std::str::from_utf8(&name[..end])
        .map_err(|_| at(Problem::Invalid("the name is not UTF-8".into())))?;
    Ok(NetdevEvent {
        kind,
        ifindex,
        name: name.to_owned(),
    })
}
// ANCHOR_END: decode

/// Why the listener failed.
#[derive(Debug)]
pub enum ListenerError {
    /// No fresh namespace.
    Netns(NetnsError),
    /// `socket()` answered `EPROTONOSUPPORT`: the module is not loaded.
    NotLoaded(SysError),
    /// Joining a group failed.
    Join(MembershipError),
    /// A link request failed.
    Link(LinkError),
    /// A socket call failed.
    Sys(SysError),
    /// A message did not decode.
    Malformed(Malformed),
}

impl fmt::Display for ListenerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenerError::Netns(e) => write!(f, "{e}"),
            ListenerError::NotLoaded(e) => write!(
                f,
                "{e}: no kernel socket for protocol {EVENTS_PROTOCOL}: is the chapter-5 module \
                 netdev_events loaded? It runs in the VM lab: \
                 `cargo xtask lab --chapter ch05-events`"
            ),
            ListenerError::Join(e) => write!(f, "{e}"),
            ListenerError::Link(e) => write!(f, "{e}"),
            ListenerError::Sys(e) => write!(f, "{e}"),
            ListenerError::Malformed(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ListenerError {}

impl From<SysError> for ListenerError {
    fn from(e: SysError) -> Self {
        ListenerError::Sys(e)
    }
}

impl From<LinkError> for ListenerError {
    fn from(e: LinkError) -> Self {
        ListenerError::Link(e)
    }
}

impl From<MembershipError> for ListenerError {
    fn from(e: MembershipError) -> Self {
        ListenerError::Join(e)
    }
}

impl From<Malformed> for ListenerError {
    fn from(e: Malformed) -> Self {
        ListenerError::Malformed(e)
    }
}

/// An event and the group `recvmsg()` said it was sent to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// The group, from the sender address's `nl_groups` bit.
    pub group: u32,
    /// The event.
    pub event: NetdevEvent,
}

/// How long to wait for more events once the device changes are done. The
/// module multicasts from inside the rtnetlink request, before its ACK, so
/// every event is queued by then; the wait only ends the drain.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(200);

/// Open a socket of the module's protocol.
fn open() -> Result<NlSocket, ListenerError> {
    NlSocket::open(EVENTS_PROTOCOL).map_err(|e| {
        if e.errno == Errno(libc::EPROTONOSUPPORT) {
            ListenerError::NotLoaded(e)
        } else {
            ListenerError::Sys(e)
        }
    })
}

// ANCHOR: drain
/// Read every event queued on `sock`, until the queue stays empty for
/// [`DRAIN_TIMEOUT`].
fn drain(sock: &NlSocket) -> Result<Vec<Delivered>, ListenerError> {
    sock.set_recv_timeout(DRAIN_TIMEOUT)?;
    let mut buf = vec![0u8; 8192];
    let mut got = Vec::new();
    loop {
        let received = match sock.recv(&mut buf) {
            Ok(r) => r,
            Err(e) if e.errno == Errno(libc::EAGAIN) => return Ok(got),
            Err(e) => return Err(e.into()),
        };
        if received.truncated() {
            return Err(Malformed {
                what: "datagram",
                offset: 0,
                problem: Problem::Truncated {
                    have: received.len,
                    need: received.datagram_len,
                },
            }
            .into());
        }
        // A group g <= 32 arrives as bit g - 1 of nl_groups (chapter 3).
        let group = received.groups.trailing_zeros() + 1;
        for msg in NlMsgIter::new(&buf[..received.len]) {
            let msg = msg?;
            let event = decode_event(msg.header.nlmsg_type, msg.payload)?;
            got.push(Delivered { group, event });
        }
    }
}
// ANCHOR_END: drain

/// The dummy link the run creates.
pub const LINK_NAME: &str = "nlbook0";
const LINK_MAC: Mac = [0x02, 0, 0, 0, 0, 0x05];

/// What the run saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// What the listener joined only to some groups received.
    pub some: Vec<Delivered>,
    /// What the listener joined to all groups received.
    pub all: Vec<Delivered>,
}

// ANCHOR: run
/// In a fresh network namespace: listener S joins the register and
/// unregister groups with `NETLINK_ADD_MEMBERSHIP`, listener A all four
/// with `bind()`'s `nl_groups`. Then a dummy link is created, set up, set
/// down and deleted over rtnetlink, and both listeners are drained.
pub fn run() -> Result<Report, ListenerError> {
    in_fresh_netns(|| {
        let some = open()?;
        some.bind(0, 0)?;
        join_group(&some, EventKind::Register.group())?;
        join_group(&some, EventKind::Unregister.group())?;

        let all = open()?;
        let mask = EVENT_KINDS
            .iter()
            .filter_map(|k| group_mask(k.group()))
            .fold(0, |m, bit| m | bit);
        all.bind(0, mask)?;

        link::create_dummy(LINK_NAME, LINK_MAC)?;
        link::set_up(LINK_NAME)?;
        link::set_down(LINK_NAME)?;
        link::delete(LINK_NAME)?;

        Ok(Report {
            some: drain(&some)?,
            all: drain(&all)?,
        })
    })
    .map_err(ListenerError::Netns)?
}
// ANCHOR_END: run

/// The report as the program prints it.
pub fn render(report: &Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let joined_by_some = [EventKind::Register, EventKind::Unregister];
    let _ = writeln!(
        out,
        "protocol {EVENTS_PROTOCOL} (netdev_events.ko), one group per event kind:"
    );
    for kind in EVENT_KINDS {
        let _ = writeln!(out, "  group {}: {}", kind.group(), kind.name());
    }
    let _ = writeln!(
        out,
        "listener S: setsockopt(NETLINK_ADD_MEMBERSHIP) to groups 1 and 4"
    );
    let _ = writeln!(
        out,
        "listener A: bind() with nl_groups 0x0000000f (groups 1 to 4)"
    );
    let _ = writeln!(
        out,
        "rtnetlink: create dummy {LINK_NAME}, set it up, set it down, delete it"
    );
    for (name, got) in [("A", &report.all), ("S", &report.some)] {
        let _ = writeln!(out, "listener {name} received {} events:", got.len());
        for d in got {
            let _ = writeln!(out, "  group {}: {}", d.group, d.event);
        }
    }
    let _ = writeln!(out, "per group: S joined?  A got  S got");
    for kind in EVENT_KINDS {
        let count = |got: &[Delivered]| got.iter().filter(|d| d.group == kind.group()).count();
        let _ = writeln!(
            out,
            "  {} {:<18} {:<4}  {:>5}  {:>5}",
            kind.group(),
            kind.name(),
            if joined_by_some.contains(&kind) {
                "yes"
            } else {
                "no"
            },
            count(&report.all),
            count(&report.some),
        );
    }
    let stray = report
        .some
        .iter()
        .filter(|d| !joined_by_some.iter().any(|k| k.group() == d.group))
        .count();
    let _ = writeln!(out, "S received {stray} events of groups it did not join");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(ifindex: i32, name: &[u8]) -> Vec<u8> {
        let mut p = ifindex.to_ne_bytes().to_vec();
        let mut n = [0u8; IFNAMSIZ];
        n[..name.len()].copy_from_slice(name);
        p.extend_from_slice(&n);
        p
    }

    #[test]
    fn decodes_each_kind() {
        for kind in EVENT_KINDS {
            let e = decode_event(kind.message_type(), &payload(2, b"nlbook0")).unwrap();
            assert_eq!(
                e,
                NetdevEvent {
                    kind,
                    ifindex: 2,
                    name: "nlbook0".into()
                }
            );
        }
        assert_eq!(EventKind::Up.message_type(), 18);
    }

    #[test]
    fn refuses_what_the_module_never_sends() {
        let short = decode_event(17, &payload(2, b"x")[..19]).unwrap_err();
        assert_eq!(
            short.to_string(),
            "malformed nlbook_netdev_event at offset 16: needs 20 bytes, only 19 left"
        );
        let long = decode_event(17, &[0u8; 24]).unwrap_err();
        assert_eq!(
            long.to_string(),
            "malformed nlbook_netdev_event at offset 16: 24 bytes, the structure has 20"
        );
        let unknown = decode_event(21, &payload(2, b"x")).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "malformed nlbook_netdev_event at offset 16: unknown message type 21"
        );
        let no_nul = decode_event(17, &payload(2, &[b'a'; 16])).unwrap_err();
        assert_eq!(
            no_nul.problem,
            Problem::Invalid("the name has no NUL".into())
        );
    }
}
