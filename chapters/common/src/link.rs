//! Create links, bring them up and down, and delete them over raw
//! rtnetlink: `RTM_NEWLINK` (or `RTM_DELLINK`) with `NLM_F_ACK`, and the ACK
//! checked. Demos call
//! these inside [`in_fresh_netns`](crate::in_fresh_netns), where they need no
//! privilege beyond owning the namespace.

use std::fmt;
use std::time::Duration;

use crate::errno::{Errno, SysError};
use crate::nlmsg::{Malformed, MsgBuilder, NlMsgErr, NlMsgIter, Problem, TooLong};
use crate::socket::NlSocket;
use crate::uapi::{
    IFINFOMSG_LEN, IFLA_ADDRESS, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINKINFO,
    IFNAMSIZ, NETLINK_EXT_ACK, NETLINK_ROUTE, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST,
    NLMSG_ERROR, RTM_DELLINK, RTM_NEWLINK, SOL_NETLINK, VETH_INFO_PEER,
};

/// An Ethernet hardware address.
pub type Mac = [u8; 6];

/// How long to wait for the kernel's ACK before calling it lost.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a link (or address, see [`crate::address`]) request failed.
#[derive(Debug)]
pub enum LinkError {
    /// A socket call failed.
    Sys(SysError),
    /// The name cannot be a link name.
    BadName(String),
    /// The kernel has no driver for this link kind (`EOPNOTSUPP`).
    NoDriver {
        /// The kind asked for: "dummy", "veth", ...
        kind: &'static str,
    },
    /// The caller lacks `CAP_NET_ADMIN` over the namespace (`EPERM`).
    NeedCapNetAdmin {
        /// The request, in words.
        request: String,
    },
    /// The kernel refused the request.
    Kernel {
        /// The request, in words.
        request: String,
        /// The error it answered.
        errno: Errno,
        /// Its extended-ACK message, if any.
        message: Option<String>,
    },
    /// No ACK arrived in time.
    NoAnswer {
        /// The request, in words.
        request: String,
    },
    /// The answer did not parse.
    Malformed(Malformed),
    /// The request could not be encoded.
    TooLong(TooLong),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Sys(e) => write!(f, "{e}"),
            LinkError::BadName(name) => write!(
                f,
                "{name:?} cannot be a link name: it needs 1 to {} bytes and no NUL",
                IFNAMSIZ - 1
            ),
            LinkError::NoDriver { kind } => write!(
                f,
                "this kernel has no {kind:?} link driver (RTM_NEWLINK answered {}): \
                 it needs CONFIG_{} built in or its module loaded",
                Errno(libc::EOPNOTSUPP),
                kind.to_uppercase()
            ),
            LinkError::NeedCapNetAdmin { request } => write!(
                f,
                "{request}: EPERM: changing links and addresses needs CAP_NET_ADMIN over the namespace: \
                 run inside a fresh namespace as root, or under `unshare -Urn`, \
                 or use `cargo xtask test`, which does that for you"
            ),
            LinkError::Kernel {
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
            LinkError::NoAnswer { request } => write!(
                f,
                "{request}: no answer from the kernel within {} s",
                ACK_TIMEOUT.as_secs()
            ),
            LinkError::Malformed(e) => write!(f, "{e}"),
            LinkError::TooLong(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LinkError {}

impl From<SysError> for LinkError {
    fn from(e: SysError) -> Self {
        LinkError::Sys(e)
    }
}

impl From<Malformed> for LinkError {
    fn from(e: Malformed) -> Self {
        LinkError::Malformed(e)
    }
}

impl From<TooLong> for LinkError {
    fn from(e: TooLong) -> Self {
        LinkError::TooLong(e)
    }
}

/// `struct ifinfomsg` (`rtnetlink.h`): family u8, pad u8, type u16,
/// index i32, flags u32, change u32, in host byte order. Family and type 0
/// (`AF_UNSPEC`, any) are what link requests use.
pub fn ifinfomsg(index: i32, flags: u32, change: u32) -> [u8; IFINFOMSG_LEN] {
    let mut b = [0u8; IFINFOMSG_LEN];
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b[8..12].copy_from_slice(&flags.to_ne_bytes());
    b[12..16].copy_from_slice(&change.to_ne_bytes());
    b
}

fn check_name(name: &str) -> Result<(), LinkError> {
    if name.is_empty() || name.len() >= IFNAMSIZ || name.contains('\0') {
        return Err(LinkError::BadName(name.to_owned()));
    }
    Ok(())
}

// ANCHOR: create_dummy
/// Create a dummy link `name` with hardware address `mac`.
///
/// Fails with [`LinkError::NoDriver`] on kernels without the dummy driver
/// (this project's host kernel is one).
pub fn create_dummy(name: &str, mac: Mac) -> Result<(), LinkError> {
    check_name(name)?;
    const SEQ: u32 = 1;
    let request = MsgBuilder::new(
        RTM_NEWLINK,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        SEQ,
    )
    .fixed(&ifinfomsg(0, 0, 0))
    .attr_str(IFLA_IFNAME, name)
    .attr(IFLA_ADDRESS, &mac)
    .nested(IFLA_LINKINFO, |b| b.attr_str(IFLA_INFO_KIND, "dummy"))
    .finish()?;
    request_ack(
        &request,
        SEQ,
        &format!("RTM_NEWLINK {name} (dummy)"),
        "dummy",
    )
}
// ANCHOR_END: create_dummy

// ANCHOR: create_veth_pair
/// Create a veth pair: `name` with address `mac`, and its peer `peer` with
/// `peer_mac`. The kernel registers the peer first, so the peer gets the
/// lower ifindex.
pub fn create_veth_pair(name: &str, mac: Mac, peer: &str, peer_mac: Mac) -> Result<(), LinkError> {
    check_name(name)?;
    check_name(peer)?;
    const SEQ: u32 = 1;
    let request = MsgBuilder::new(
        RTM_NEWLINK,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        SEQ,
    )
    .fixed(&ifinfomsg(0, 0, 0))
    .attr_str(IFLA_IFNAME, name)
    .attr(IFLA_ADDRESS, &mac)
    .nested(IFLA_LINKINFO, |b| {
        b.attr_str(IFLA_INFO_KIND, "veth")
            .nested(IFLA_INFO_DATA, |b| {
                // The peer is described like a link of its own: an ifinfomsg,
                // then its attributes.
                b.nested(VETH_INFO_PEER, |b| {
                    b.fixed(&ifinfomsg(0, 0, 0))
                        .attr_str(IFLA_IFNAME, peer)
                        .attr(IFLA_ADDRESS, &peer_mac)
                })
            })
    })
    .finish()?;
    request_ack(
        &request,
        SEQ,
        &format!("RTM_NEWLINK {name} (veth, peer {peer})"),
        "veth",
    )
}
// ANCHOR_END: create_veth_pair

/// Which kind [`create_dummy_or_veth`] managed to create.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// One dummy link.
    Dummy,
    /// A veth pair.
    Veth,
}

/// Create a dummy link `name`; on a kernel without the dummy driver, a veth
/// pair `name` / `peer` instead. Say which.
///
/// What a link dump then shows depends on the kernel, so programs whose
/// output is a snapshot should create one fixed kind instead.
pub fn create_dummy_or_veth(
    name: &str,
    mac: Mac,
    peer: &str,
    peer_mac: Mac,
) -> Result<LinkKind, LinkError> {
    match create_dummy(name, mac) {
        Ok(()) => Ok(LinkKind::Dummy),
        Err(LinkError::NoDriver { .. }) => {
            create_veth_pair(name, mac, peer, peer_mac).map(|()| LinkKind::Veth)
        }
        Err(e) => Err(e),
    }
}

// ANCHOR: set_up
/// Bring link `name` up: `RTM_NEWLINK` on an existing link, found by name
/// (`ifi_index` 0), changing only `IFF_UP` (`ifi_change`).
pub fn set_up(name: &str) -> Result<(), LinkError> {
    check_name(name)?;
    const SEQ: u32 = 1;
    let up = libc::IFF_UP as u32;
    let request = MsgBuilder::new(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, SEQ)
        .fixed(&ifinfomsg(0, up, up))
        .attr_str(IFLA_IFNAME, name)
        .finish()?;
    request_ack(&request, SEQ, &format!("RTM_NEWLINK {name} (set up)"), "")
}
// ANCHOR_END: set_up

// ANCHOR: set_down
/// Bring link `name` down: like [`set_up`], with `IFF_UP` cleared.
pub fn set_down(name: &str) -> Result<(), LinkError> {
    check_name(name)?;
    const SEQ: u32 = 1;
    let up = libc::IFF_UP as u32;
    let request = MsgBuilder::new(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, SEQ)
        .fixed(&ifinfomsg(0, 0, up))
        .attr_str(IFLA_IFNAME, name)
        .finish()?;
    request_ack(&request, SEQ, &format!("RTM_NEWLINK {name} (set down)"), "")
}
// ANCHOR_END: set_down

// ANCHOR: delete
/// Delete link `name`: `RTM_DELLINK`, the link found by name.
pub fn delete(name: &str) -> Result<(), LinkError> {
    check_name(name)?;
    const SEQ: u32 = 1;
    let request = MsgBuilder::new(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, SEQ)
        .fixed(&ifinfomsg(0, 0, 0))
        .attr_str(IFLA_IFNAME, name)
        .finish()?;
    request_ack(&request, SEQ, &format!("RTM_DELLINK {name}"), "")
}
// ANCHOR_END: delete

// ANCHOR: request_ack
/// Send `request` to the kernel and wait for the `NLMSG_ERROR` that answers
/// it: error 0 is the ACK, anything else the reason it failed. `kind` names
/// the link kind a `RTM_NEWLINK` creates, for `EOPNOTSUPP`; empty otherwise.
pub(crate) fn request_ack(
    request: &[u8],
    seq: u32,
    what: &str,
    kind: &'static str,
) -> Result<(), LinkError> {
    let sock = NlSocket::open(NETLINK_ROUTE)?;
    sock.bind(0, 0)?;
    // Extended ACKs add the kernel's reason ("Unknown device type") to
    // errors. Kernels before 4.12 lack the option; the errno alone will do.
    let _ = sock.set_option(SOL_NETLINK, NETLINK_EXT_ACK, 1);
    sock.set_recv_timeout(ACK_TIMEOUT)?;
    sock.send_to(request, 0, 0)?;

    let mut buf = vec![0u8; 8192];
    loop {
        let got = match sock.recv(&mut buf) {
            Ok(got) => got,
            Err(e) if e.errno == Errno(libc::EAGAIN) => {
                return Err(LinkError::NoAnswer {
                    request: what.to_owned(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        if got.truncated() {
            return Err(LinkError::Malformed(Malformed {
                what: "datagram",
                offset: 0,
                problem: Problem::Truncated {
                    have: got.len,
                    need: got.datagram_len,
                },
            }));
        }
        if got.from_portid != 0 {
            continue; // not from the kernel
        }
        for msg in NlMsgIter::new(&buf[..got.len]) {
            let msg = msg?;
            if msg.header.nlmsg_type != NLMSG_ERROR || msg.header.nlmsg_seq != seq {
                continue;
            }
            let answer = NlMsgErr::parse(&msg)?;
            return match answer.errno() {
                None => Ok(()),
                Some(Errno(libc::EOPNOTSUPP)) if !kind.is_empty() => {
                    Err(LinkError::NoDriver { kind })
                }
                Some(Errno(libc::EPERM)) => Err(LinkError::NeedCapNetAdmin {
                    request: what.to_owned(),
                }),
                Some(errno) => Err(LinkError::Kernel {
                    request: what.to_owned(),
                    errno,
                    message: answer.message.map(str::to_owned),
                }),
            };
        }
    }
}
// ANCHOR_END: request_ack

#[cfg(test)]
mod tests {
    use super::*;
    use crate::in_fresh_netns;

    fn link_names() -> Vec<String> {
        let devs = std::fs::read_to_string("/proc/thread-self/net/dev").unwrap();
        devs.lines()
            .skip(2)
            .filter_map(|l| l.split(':').next())
            .map(|s| s.trim().to_owned())
            .collect()
    }

    /// The link's flags, read with the SIOCGIFFLAGS ioctl (test-only check,
    /// independent of the netlink code under test).
    fn if_flags(name: &str) -> u32 {
        // SAFETY: plain syscalls on a socket we own; ifreq is zeroed POD.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0);
            let mut req: libc::ifreq = std::mem::zeroed();
            for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
                *d = s as libc::c_char;
            }
            let rc = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req);
            libc::close(fd);
            assert_eq!(rc, 0);
            req.ifr_ifru.ifru_flags as u16 as u32
        }
    }

    #[test]
    fn veth_pair_and_lo_up() {
        in_fresh_netns(|| {
            set_up("lo").unwrap();
            create_veth_pair("veth0", [2, 0, 0, 0, 0, 1], "veth1", [2, 0, 0, 0, 0, 2]).unwrap();
            let names = link_names();
            assert!(names.contains(&"veth0".to_owned()), "{names:?}");
            assert!(names.contains(&"veth1".to_owned()), "{names:?}");
            assert_ne!(if_flags("lo") & libc::IFF_UP as u32, 0);
            assert_eq!(if_flags("veth0") & libc::IFF_UP as u32, 0);
        })
        .unwrap();
    }

    #[test]
    fn creating_twice_is_eexist() {
        in_fresh_netns(|| {
            create_veth_pair("a0", [2, 0, 0, 0, 0, 1], "a1", [2, 0, 0, 0, 0, 2]).unwrap();
            let err =
                create_veth_pair("a0", [2, 0, 0, 0, 0, 3], "a2", [2, 0, 0, 0, 0, 4]).unwrap_err();
            match &err {
                LinkError::Kernel { errno, .. } => assert_eq!(*errno, Errno(libc::EEXIST)),
                other => panic!("expected EEXIST, got {other}"),
            }
            assert!(
                err.to_string()
                    .starts_with("RTM_NEWLINK a0 (veth, peer a2): the kernel answered EEXIST (17)"),
                "{err}"
            );
        })
        .unwrap();
    }

    #[test]
    fn down_and_delete() {
        in_fresh_netns(|| {
            create_veth_pair("d0", [2, 0, 0, 0, 0, 1], "d1", [2, 0, 0, 0, 0, 2]).unwrap();
            set_up("d0").unwrap();
            assert_ne!(if_flags("d0") & libc::IFF_UP as u32, 0);
            set_down("d0").unwrap();
            assert_eq!(if_flags("d0") & libc::IFF_UP as u32, 0);
            delete("d0").unwrap();
            // Deleting one end of a veth pair deletes both.
            let names = link_names();
            assert!(!names.contains(&"d0".to_owned()), "{names:?}");
            assert!(!names.contains(&"d1".to_owned()), "{names:?}");
            match delete("d0").unwrap_err() {
                LinkError::Kernel { errno, .. } => assert_eq!(errno, Errno(libc::ENODEV)),
                other => panic!("expected ENODEV, got {other}"),
            }
        })
        .unwrap();
    }

    #[test]
    fn missing_link_is_enodev() {
        in_fresh_netns(|| {
            let err = set_up("nosuch0").unwrap_err();
            match err {
                LinkError::Kernel { errno, .. } => assert_eq!(errno, Errno(libc::ENODEV)),
                other => panic!("expected ENODEV, got {other}"),
            }
        })
        .unwrap();
    }

    #[test]
    fn dummy_works_or_says_the_driver_is_missing() {
        in_fresh_netns(|| match create_dummy("dummy0", [2, 0, 0, 0, 0, 1]) {
            Ok(()) => assert!(link_names().contains(&"dummy0".to_owned())),
            Err(e @ LinkError::NoDriver { .. }) => {
                assert_eq!(
                    e.to_string(),
                    "this kernel has no \"dummy\" link driver (RTM_NEWLINK answered \
                     EOPNOTSUPP (95)): it needs CONFIG_DUMMY built in or its module loaded"
                );
            }
            Err(e) => panic!("{e}"),
        })
        .unwrap();
    }

    #[test]
    fn fallback_creates_one_or_the_other() {
        in_fresh_netns(|| {
            let kind =
                create_dummy_or_veth("t0", [2, 0, 0, 0, 0, 1], "t1", [2, 0, 0, 0, 0, 2]).unwrap();
            let names = link_names();
            assert!(names.contains(&"t0".to_owned()));
            assert_eq!(names.contains(&"t1".to_owned()), kind == LinkKind::Veth);
        })
        .unwrap();
    }

    #[test]
    fn bad_names_are_refused_before_asking_the_kernel() {
        let err = set_up("a-name-that-is-too-long").unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"a-name-that-is-too-long\" cannot be a link name: it needs 1 to 15 bytes and no NUL"
        );
    }
}
