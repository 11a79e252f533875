//! `ch06-resync-rust-netlink`: `ch06-resync`'s listener written with the
//! rust-netlink crates (`netlink-sys`'s socket, `netlink-packet-route`'s
//! address messages). The run around it is the same (`resync::run`), and
//! so is the report, line for line.
//!
//! With `netlink-sys`, `ENOBUFS` is what the kernel says it is: the
//! `recv` call fails with an `io::Error` whose `raw_os_error()` is
//! `ENOBUFS`, once, and the queued events follow.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ch06_enobufs::addr::{Addr, RTNLGRP_IPV4_IFADDR};
use ch06_enobufs::resync::{self, ResyncListener, Round};
use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::protocols::NETLINK_ROUTE;
use netlink_sys::{Socket, SocketAddr};
use nlbook_common::socket::set_recv_timeout;
use nlbook_common::{Errno, NlMsgIter, exit_code, in_fresh_netns};

const PROGRAM: &str = "ch06-resync-rust-netlink";

/// Room for one datagram: events are one message each, dump parts 16 KiB at
/// most on these kernels' page size.
const DATAGRAM_ROOM: usize = 32 * 1024;

/// How long a dump may stay silent before the program gives up.
const DUMP_TIMEOUT: Duration = Duration::from_secs(5);

// ANCHOR: listener
/// A table of addresses kept in step with the kernel.
struct AddrListener {
    sock: Socket,
    table: BTreeSet<Addr>,
    applied: usize,
    resyncs: usize,
}

impl ResyncListener for AddrListener {
    fn start(rcvbuf: i32) -> Result<Self> {
        let mut sock = Socket::new(NETLINK_ROUTE).context("socket(NETLINK_ROUTE)")?;
        // SO_RCVBUF: the crate passes the value as given, so it must be
        // the C int the kernel reads.
        sock.set_rx_buf_sz(rcvbuf).context("SO_RCVBUF")?;
        sock.bind_auto().context("bind()")?;
        // Join first, then dump: an address that appears in between shows
        // up twice (dump and event), never not at all.
        sock.add_membership(RTNLGRP_IPV4_IFADDR)
            .context("NETLINK_ADD_MEMBERSHIP RTNLGRP_IPV4_IFADDR")?;
        let table = dump()?;
        Ok(AddrListener {
            sock,
            table,
            applied: 0,
            resyncs: 0,
        })
    }

    /// Read everything queued. On ENOBUFS: read on to the end of the queue
    /// (those events are older than any dump), then replace the table with
    /// a fresh dump and say what the lost events would have changed.
    fn read_queued(&mut self) -> Result<Round> {
        let mut lost = false;
        let mut drained = 0;
        let mut datagram = Vec::with_capacity(DATAGRAM_ROOM);
        loop {
            datagram.clear();
            // MSG_TRUNC: the call returns the datagram's real size.
            match self
                .sock
                .recv(&mut datagram, libc::MSG_DONTWAIT | libc::MSG_TRUNC)
            {
                Ok(len) if len > datagram.len() => {
                    bail!("an event did not fit in {} bytes", datagram.len())
                }
                Ok(_) => {
                    self.applied += apply(&mut self.table, &datagram)?;
                    drained += usize::from(lost);
                }
                // The kernel's report of lost events, as the crate passes
                // it on: the recv() error itself.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => lost = true,
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => break,
                Err(e) => bail!("recv: {e}"),
            }
        }
        if !lost {
            return Ok(Round::UpToDate);
        }
        self.resyncs += 1;
        let fresh = dump()?;
        let added = fresh.difference(&self.table).copied().collect();
        let removed = self.table.difference(&fresh).copied().collect();
        self.table = fresh;
        Ok(Round::Resynced {
            drained,
            added,
            removed,
        })
    }

    fn table(&self) -> &BTreeSet<Addr> {
        &self.table
    }

    fn applied(&self) -> usize {
        self.applied
    }

    fn resyncs(&self) -> usize {
        self.resyncs
    }
}
// ANCHOR_END: listener

// ANCHOR: parse
/// Every message of `datagram`, parsed by the crate: the address events
/// applied to `table`. Returns how many were applied.
fn apply(table: &mut BTreeSet<Addr>, datagram: &[u8]) -> Result<usize> {
    let mut applied = 0;
    for found in NlMsgIter::new(datagram) {
        let found = found.context("a malformed event")?;
        let end = found.offset + found.header.nlmsg_len as usize;
        let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&datagram[found.offset..end])
            .context("an event the crate cannot parse")?;
        let NetlinkPayload::InnerMessage(event) = msg.payload else {
            continue;
        };
        match event {
            RouteNetlinkMessage::NewAddress(m) => match ipv4_of(&m) {
                Some(a) => table.insert(a),
                None => continue,
            },
            RouteNetlinkMessage::DelAddress(m) => match ipv4_of(&m) {
                Some(a) => table.remove(&a),
                None => continue,
            },
            _ => continue,
        };
        applied += 1;
    }
    Ok(applied)
}

/// The IPv4 address a message is about: `IFA_LOCAL`, or `IFA_ADDRESS`
/// without it; `None` for another family.
fn ipv4_of(msg: &AddressMessage) -> Option<Addr> {
    if msg.header.family != AddressFamily::Inet {
        return None;
    }
    let (mut local, mut address) = (None, None);
    for attribute in &msg.attributes {
        match attribute {
            AddressAttribute::Local(IpAddr::V4(ip)) => local = Some(*ip),
            AddressAttribute::Address(IpAddr::V4(ip)) => address = Some(*ip),
            _ => {}
        }
    }
    Some(Addr {
        ifindex: msg.header.index,
        addr: local.or(address)?,
        prefix: msg.header.prefix_len,
    })
}
// ANCHOR_END: parse

// ANCHOR: dump
/// Every IPv4 address in the namespace: an `RTM_GETADDR` dump on a socket
/// of its own, with the default buffer, read to `NLMSG_DONE`.
fn dump() -> Result<BTreeSet<Addr>> {
    let mut sock = Socket::new(NETLINK_ROUTE).context("socket(NETLINK_ROUTE)")?;
    sock.bind_auto().context("bind()")?;
    set_recv_timeout(&sock, DUMP_TIMEOUT)?;
    let mut request_body = AddressMessage::default();
    request_body.header.family = AddressFamily::Inet;
    let mut request = NetlinkMessage::new(
        NetlinkHeader::default(),
        NetlinkPayload::from(RouteNetlinkMessage::GetAddress(request_body)),
    );
    request.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.header.sequence_number = 1;
    request.finalize();
    let mut bytes = vec![0; request.buffer_len()];
    request.serialize(&mut bytes);
    sock.send_to(&bytes, &SocketAddr::new(0, 0), 0)
        .context("sending RTM_GETADDR")?;

    let mut found = BTreeSet::new();
    let mut datagram = Vec::with_capacity(DATAGRAM_ROOM);
    loop {
        datagram.clear();
        let len = sock
            .recv(&mut datagram, libc::MSG_TRUNC)
            .context("RTM_GETADDR dump")?;
        if len > datagram.len() {
            bail!("a dump datagram did not fit in {} bytes", datagram.len());
        }
        for found_msg in NlMsgIter::new(&datagram) {
            let found_msg = found_msg.context("a malformed dump message")?;
            let end = found_msg.offset + found_msg.header.nlmsg_len as usize;
            let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(
                &datagram[found_msg.offset..end],
            )
            .context("a dump message the crate cannot parse")?;
            match msg.payload {
                NetlinkPayload::Done(_) => return Ok(found),
                NetlinkPayload::Error(e) => bail!(
                    "RTM_GETADDR dump: the kernel answered {}",
                    Errno(e.raw_code().saturating_neg())
                ),
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(m)) => {
                    if let Some(a) = ipv4_of(&m) {
                        found.insert(a);
                    }
                }
                _ => {}
            }
        }
    }
}
// ANCHOR_END: dump

fn main() -> std::process::ExitCode {
    if let Err(usage) = nlbook_common::no_arguments(PROGRAM) {
        return nlbook_common::exit_code(PROGRAM, Err(usage));
    }
    let result = in_fresh_netns(resync::run::<AddrListener>)
        .map_err(anyhow::Error::from)
        .and_then(|r| r)
        .map(|out| print!("{out}"));
    exit_code(PROGRAM, result)
}
