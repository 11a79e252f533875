//! `ch01-links-raw`: list the links of a fresh network namespace with nothing
//! but libc: `socket()`, `bind()`, `sendmsg()`, `recvmsg()`, and the bytes of
//! `struct nlmsghdr` + `struct ifinfomsg` laid out by hand.
//!
//! Run it as root or under `unshare -Urn`; it never touches the host's
//! namespace:
//!
//! ```text
//! cargo run -p ch01-hello-netlink --bin ch01-links-raw
//! ```

use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::ExitCode;

use anyhow::{Context, Result, bail, ensure};
use ch01_hello_netlink::links::{self, DUMP_BUFFER_LEN, DUMP_SEQ, Link, RECV_TIMEOUT};
use nlbook_common::socket::set_recv_timeout;
use nlbook_common::uapi::{
    IFINFOMSG_LEN, IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, NETLINK_ROUTE, NLM_F_DUMP, NLM_F_REQUEST,
    NLMSG_DONE, NLMSG_ERROR, RTM_GETLINK, RTM_NEWLINK,
};
use nlbook_common::{
    Errno, NLMSG_HDRLEN, NlMsg, NlMsgErr, NlMsgHdr, NlMsgIter, RtAttrIter, SysError, exit_code,
    in_fresh_netns, nlmsg_align, nlmsg_length, nlmsg_space,
};

const PROGRAM: &str = "ch01-links-raw";

fn main() -> ExitCode {
    if let Err(usage) = nlbook_common::no_arguments(PROGRAM) {
        return nlbook_common::exit_code(PROGRAM, Err(usage));
    }
    // The namespace's own error (no CAP_SYS_ADMIN) or the program's.
    let result = in_fresh_netns(run)
        .map_err(anyhow::Error::from)
        .and_then(|report| report.map(|text| print!("{text}")));
    exit_code(PROGRAM, result)
}

// ANCHOR: run
fn run() -> Result<String> {
    links::setup_namespace().context("preparing the namespace")?;

    let fd = open_route_socket()?;
    let our_portid = bind_to_kernel_chosen_portid(&fd)?;
    set_recv_timeout(&fd, RECV_TIMEOUT)?;

    let request = build_getlink_dump();
    send_to_kernel(&fd, &request)?;
    let links = receive_dump(&fd, our_portid)?;

    // Report the request from its bytes: what was sent, not what was meant.
    let header = NlMsgHdr::from_bytes(&request).context("request shorter than a header")?;
    Ok(links::report(&header, request[NLMSG_HDRLEN], &links))
}
// ANCHOR_END: run

// ANCHOR: socket
/// `socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)`: a datagram socket whose
/// peer is the kernel's rtnetlink. `SOCK_RAW` and `SOCK_DGRAM` behave the
/// same for netlink.
fn open_route_socket() -> Result<OwnedFd> {
    // SAFETY: socket() takes no pointers.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(SysError::last("socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)").into());
    }
    // SAFETY: fd was just opened and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
// ANCHOR_END: socket

// ANCHOR: bind
/// `bind()` with a `struct sockaddr_nl` whose `nl_pid` is 0: "kernel, pick a
/// port id for me". Then `getsockname()` tells which one it picked.
fn bind_to_kernel_chosen_portid(fd: &OwnedFd) -> Result<u32> {
    // struct sockaddr_nl { nl_family; nl_pad; nl_pid; nl_groups; }
    // SAFETY: all-zero bytes are a valid sockaddr_nl.
    let mut addr: libc::sockaddr_nl = unsafe { mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    addr.nl_pid = 0; // 0: assigned by the kernel
    addr.nl_groups = 0; // no multicast groups
    let len = mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;

    // SAFETY: addr is a sockaddr_nl and len is its size.
    let rc = unsafe { libc::bind(fd.as_raw_fd(), (&raw const addr).cast(), len) };
    if rc < 0 {
        return Err(SysError::last("bind(AF_NETLINK, portid 0)").into());
    }

    let mut bound = addr;
    let mut bound_len = len;
    // SAFETY: bound has room for bound_len bytes.
    let rc = unsafe { libc::getsockname(fd.as_raw_fd(), (&raw mut bound).cast(), &mut bound_len) };
    if rc < 0 {
        return Err(SysError::last("getsockname(AF_NETLINK)").into());
    }
    ensure!(bound.nl_pid != 0, "the kernel assigned port id 0");
    Ok(bound.nl_pid)
}
// ANCHOR_END: bind

// ANCHOR: request
/// `RTM_GETLINK` with `NLM_F_DUMP`: "describe every link". The payload is a
/// `struct ifinfomsg`; all zeros means no filter.
fn build_getlink_dump() -> Vec<u8> {
    // NLMSG_LENGTH: header + payload, the value of nlmsg_len.
    // NLMSG_SPACE: the same rounded up to 4, the room in the buffer.
    // (16 + 16 = 32 is already a multiple of 4: no padding this time.)
    const NLMSG_LEN: u32 = nlmsg_length(IFINFOMSG_LEN) as u32;
    let mut buf = vec![0u8; nlmsg_space(IFINFOMSG_LEN)];

    // struct nlmsghdr: 16 bytes, host byte order.
    buf[0..4].copy_from_slice(&NLMSG_LEN.to_ne_bytes()); // nlmsg_len
    buf[4..6].copy_from_slice(&RTM_GETLINK.to_ne_bytes()); // nlmsg_type
    buf[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes()); // nlmsg_flags
    buf[8..12].copy_from_slice(&DUMP_SEQ.to_ne_bytes()); // nlmsg_seq
    buf[12..16].copy_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: the kernel knows who sent it

    // struct ifinfomsg at NLMSG_HDRLEN: ifi_family u8, pad u8, ifi_type u16,
    // ifi_index i32, ifi_flags u32, ifi_change u32.
    buf[NLMSG_HDRLEN] = libc::AF_UNSPEC as u8; // links of every family
    // The other 15 bytes stay 0: any type, any index.
    buf
}
// ANCHOR_END: request

// ANCHOR: sendmsg
/// `sendmsg()` to port 0, the kernel. The address goes in `msg_name`, the
/// bytes in an iovec.
fn send_to_kernel(fd: &OwnedFd, request: &[u8]) -> Result<()> {
    // SAFETY: all-zero bytes are a valid sockaddr_nl: nl_pid 0 is the kernel.
    let mut kernel: libc::sockaddr_nl = unsafe { mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;

    let mut iov = libc::iovec {
        iov_base: request.as_ptr().cast_mut().cast(),
        iov_len: request.len(),
    };
    // SAFETY: all-zero bytes are a valid msghdr (no name, no data).
    let mut hdr: libc::msghdr = unsafe { mem::zeroed() };
    hdr.msg_name = (&raw mut kernel).cast();
    hdr.msg_namelen = mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    hdr.msg_iov = &raw mut iov;
    hdr.msg_iovlen = 1;

    // SAFETY: hdr points at kernel, iov and request, which outlive the call;
    // the kernel only reads the buffer.
    let sent = unsafe { libc::sendmsg(fd.as_raw_fd(), &hdr, 0) };
    if sent < 0 {
        return Err(SysError::last("sendmsg(to the kernel)").into());
    }
    ensure!(
        sent as usize == request.len(),
        "sendmsg sent {sent} of {} bytes",
        request.len()
    );
    Ok(())
}
// ANCHOR_END: sendmsg

// ANCHOR: recv_loop
/// `recvmsg()` until `NLMSG_DONE`. Each datagram holds one or more messages,
/// each starting at an aligned offset; the kernel decides how many fit.
fn receive_dump(fd: &OwnedFd, our_portid: u32) -> Result<Vec<Link>> {
    let mut links = Vec::new();
    let mut buf = vec![0u8; DUMP_BUFFER_LEN];
    loop {
        // SAFETY: all-zero bytes are a valid sockaddr_nl and msghdr.
        let mut from: libc::sockaddr_nl = unsafe { mem::zeroed() };
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut hdr: libc::msghdr = unsafe { mem::zeroed() };
        hdr.msg_name = (&raw mut from).cast();
        hdr.msg_namelen = mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        hdr.msg_iov = &raw mut iov;
        hdr.msg_iovlen = 1;

        // SAFETY: hdr points at from, iov and buf, which outlive the call, and
        // holds their sizes.
        let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut hdr, 0) };
        let Ok(n) = usize::try_from(n) else {
            match Errno::last() {
                Errno(libc::EINTR) => continue,
                Errno(libc::EAGAIN) => bail!(
                    "the dump stopped: nothing received for {} s",
                    RECV_TIMEOUT.as_secs()
                ),
                errno => bail!("recvmsg failed: {errno}"),
            }
        };
        // A datagram larger than the buffer is cut, and the rest is lost.
        ensure!(
            hdr.msg_flags & libc::MSG_TRUNC == 0,
            "a datagram of the dump did not fit in {} bytes",
            buf.len()
        );
        ensure!(
            from.nl_pid == 0,
            "a datagram came from port {}, not the kernel",
            from.nl_pid
        );

        for msg in NlMsgIter::new(&buf[..n]) {
            let msg = msg?;
            links::check_reply(&msg.header, our_portid)?;
            match msg.header.nlmsg_type {
                RTM_NEWLINK => links.push(parse_link(&msg)?),
                NLMSG_DONE => {
                    // NLMSG_DONE carries an int: 0, or the error that ended the dump.
                    let status = msg
                        .payload
                        .get(..4)
                        .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                    ensure!(
                        status == 0,
                        "the dump ended with {}",
                        Errno(status.saturating_neg())
                    );
                    return Ok(links);
                }
                NLMSG_ERROR => {
                    let answer = NlMsgErr::parse(&msg)?;
                    match answer.errno() {
                        Some(errno) => bail!("the kernel refused the dump: {errno}"),
                        None => bail!("an ACK arrived, but the dump did not ask for one"),
                    }
                }
                other => bail!("unexpected {} in the dump", links::nlmsg_type_name(other)),
            }
        }
    }
}
// ANCHOR_END: recv_loop

// ANCHOR: parse_link
/// One `RTM_NEWLINK` message of the dump: a `struct ifinfomsg`, then
/// attributes from the next aligned offset.
fn parse_link(msg: &NlMsg) -> Result<Link> {
    let p = msg.payload;
    ensure!(
        p.len() >= IFINFOMSG_LEN,
        "RTM_NEWLINK at offset {}: payload of {} bytes, shorter than an ifinfomsg",
        msg.offset,
        p.len()
    );
    let mut link = Link {
        arphrd: u16::from_ne_bytes([p[2], p[3]]),
        index: i32::from_ne_bytes([p[4], p[5], p[6], p[7]]),
        flags: u32::from_ne_bytes([p[8], p[9], p[10], p[11]]),
        name: String::new(),
        mtu: None,
        address: None,
    };

    let attrs_at = nlmsg_align(IFINFOMSG_LEN);
    let attrs = p.get(attrs_at..).unwrap_or_default();
    for attr in RtAttrIter::at(attrs, msg.offset + NLMSG_HDRLEN + attrs_at) {
        let attr = attr?;
        match attr.kind() {
            IFLA_IFNAME => {
                let name = attr.cstr().context("IFLA_IFNAME is not a string")?;
                link.name = name.to_owned();
            }
            IFLA_MTU => link.mtu = Some(attr.u32().context("IFLA_MTU is not 4 bytes")?),
            IFLA_ADDRESS => link.address = Some(attr.payload.to_vec()),
            _ => {} // dozens more (statistics, queues, ...): not needed here
        }
    }
    ensure!(
        !link.name.is_empty(),
        "link {} has no IFLA_IFNAME",
        link.index
    );
    Ok(link)
}
// ANCHOR_END: parse_link
