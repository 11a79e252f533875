//! The benchmark's hot loops with the `neli` crate: neli's socket
//! (`neli::socket::NlSocket`) for the system calls, neli's `Nlmsghdr` to
//! build and decode every message.
//!
//! Four things neli does on every call cost more than the system call's
//! own work for small messages, so these loops go around them (see the
//! chapter):
//!
//! - `NlSocketHandle::recv` hands out a pooled 32 KiB buffer and, when the
//!   caller is done, resizes it back to 32 KiB, zero-filling everything past
//!   the bytes received: 32 KiB of `memset` per datagram. Here each loop
//!   owns one buffer and `NlSocket::recv` fills it in place.
//! - `NlSocketHandle::send` allocates a zeroed `Vec` per message. Here each
//!   loop serialises into one `Cursor<Vec<u8>>`, rewound per datagram.
//! - A `Buffer` payload is a `Vec` per message. Here the payload is a
//!   fixed-size struct deriving neli's traits: decoded without allocating.
//! - `NlSocket::recv` returns the sender's groups as a `Vec`, allocated for
//!   every multicast message. The stream receiver calls `recv(2)` on neli's
//!   descriptor (the raw loops' `recv_plain`).
//!
//! neli sends with `send()`, to the address the socket is connected to, so
//! the destination is set once with `connect()` on its descriptor.

use std::io::Cursor;
use std::os::fd::AsRawFd;

use anyhow::{Context, Result, bail};
use neli::consts::nl::NlmF;
use neli::consts::rtnl::{RtAddrFamily, Rtm};
use neli::consts::socket::{Msg, NlFamily};
use neli::err::DeError;
use neli::nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder};
use neli::rtnl::{Ifinfomsg, IfinfomsgBuilder};
use neli::socket::NlSocket;
use neli::utils::Groups;
use neli::{FromBytes, FromBytesWithInput, ToBytes};
use nlbook_common::Errno;

use crate::{Destination, Implementation, MARKER, MSG_TYPE, RECV_BUF, StreamTally};

/// The neli implementation.
pub struct Neli;

// ANCHOR: body
/// The benchmark message's payload, in neli's terms: the derives generate
/// its size and serialisation, field by field, in host byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, neli::Size, neli::ToBytes)]
pub struct BenchBody {
    /// The message's index.
    pub index: u64,
    /// [`MARKER`].
    pub marker: u64,
    /// Zero.
    pub spare: u32,
}

/// Decoding, written out: neli's derive for it expands to calls into the
/// `log` crate, a dependency this crate does not otherwise need.
impl FromBytesWithInput for BenchBody {
    type Input = usize;

    fn from_bytes_with_input(
        buffer: &mut Cursor<impl AsRef<[u8]>>,
        input: usize,
    ) -> Result<Self, DeError> {
        if input != BODY_LEN {
            return Err(DeError::InvalidInput(input));
        }
        Ok(BenchBody {
            index: u64::from_bytes(buffer)?,
            marker: u64::from_bytes(buffer)?,
            spare: u32::from_bytes(buffer)?,
        })
    }
}
// ANCHOR_END: body

// ANCHOR: unread
/// A payload left undecoded: its length, nothing copied. Decoding lo's
/// answer as `Ifinfomsg` builds an owned `Rtattr` with its own `Vec` for
/// each of its attributes; the benchmark reads only the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unread(usize);

impl neli::Size for Unread {
    fn unpadded_size(&self) -> usize {
        self.0
    }
}

impl FromBytesWithInput for Unread {
    type Input = usize;

    fn from_bytes_with_input(
        buffer: &mut Cursor<impl AsRef<[u8]>>,
        input: usize,
    ) -> Result<Self, DeError> {
        let end = buffer.position() as usize + input;
        if end > buffer.get_ref().as_ref().len() {
            return Err(DeError::InvalidInput(input));
        }
        buffer.set_position(end as u64);
        Ok(Unread(input))
    }
}
// ANCHOR_END: unread

/// The payload's size on the wire.
const BODY_LEN: usize = crate::MSG_LEN - nlbook_common::NLMSG_HDRLEN;

/// Benchmark message `index`, as a neli message.
fn message(index: u64) -> Result<Nlmsghdr<u16, BenchBody>> {
    Ok(NlmsghdrBuilder::default()
        .nl_type(MSG_TYPE)
        .nl_flags(NlmF::empty())
        .nl_seq(index as u32)
        .nl_payload(NlPayload::Payload(BenchBody {
            index,
            marker: MARKER,
            spare: 0,
        }))
        .build()?)
}

/// The index of a decoded benchmark message, or why it is not one.
fn index_of(msg: &Nlmsghdr<u16, BenchBody>) -> Result<u64> {
    match msg.get_payload() {
        Some(body) if *msg.nl_type() == MSG_TYPE && body.marker == MARKER => Ok(body.index),
        _ => bail!("not a benchmark message: type {:#x}", msg.nl_type()),
    }
}

fn errno_of(e: &std::io::Error) -> Option<Errno> {
    e.raw_os_error().map(Errno)
}

/// `connect()` the socket to a port id or a group, for neli's `send()`.
fn connect(sock: &NlSocket, to: Destination) -> Result<()> {
    let addr = match to {
        Destination::Port(portid) => nlbook_common::socket::sockaddr_nl(portid, 0),
        Destination::Group(group) => nlbook_common::socket::sockaddr_nl(0, 1 << (group - 1)),
    };
    // SAFETY: addr is a valid sockaddr_nl and the length says so.
    let rc = unsafe {
        libc::connect(
            sock.as_raw_fd(),
            (&raw const addr).cast::<libc::sockaddr>(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error())
            .context(format!("connect(AF_NETLINK, {to:?})"));
    }
    Ok(())
}

/// One `send()`; the ECONNREFUSED a USERSOCK multicast reports after the
/// delivery (no kernel socket at port 0) is not an error.
fn send(sock: &NlSocket, datagram: &[u8], to: Destination) -> Result<()> {
    match sock.send(datagram, Msg::empty()) {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(to, Destination::Group(_))
                && errno_of(&e) == Some(Errno(libc::ECONNREFUSED)) =>
        {
            Ok(())
        }
        Err(e) => Err(e).context("send(AF_NETLINK)"),
    }
}

impl Implementation for Neli {
    type Socket = NlSocket;

    fn open(protocol: i32) -> Result<NlSocket> {
        let family = match protocol {
            libc::NETLINK_USERSOCK => NlFamily::Usersock,
            libc::NETLINK_ROUTE => NlFamily::Route,
            other => bail!("the benchmark does not use netlink protocol {other}"),
        };
        Ok(NlSocket::connect(family, None, Groups::empty())?)
    }

    fn join(sock: &NlSocket, group: u32) -> Result<()> {
        Ok(sock.add_mcast_membership(Groups::new_groups(&[group]))?)
    }

    fn portid(sock: &NlSocket) -> Result<u32> {
        Ok(sock.pid()?)
    }

    // ANCHOR: codec
    /// One serialisation buffer for the run: rewound, then overwritten.
    type Outgoing = Cursor<Vec<u8>>;

    fn outgoing(batch: usize) -> Cursor<Vec<u8>> {
        Cursor::new(Vec::with_capacity(batch * crate::MSG_SPACE))
    }

    fn fill(out: &mut Cursor<Vec<u8>>, first: u64, count: usize) -> Result<&[u8]> {
        out.set_position(0);
        for index in first..first + count as u64 {
            message(index)?.to_bytes(out)?;
        }
        let len = out.position() as usize;
        Ok(&out.get_ref()[..len])
    }

    fn read(datagram: &[u8], tally: &mut StreamTally) -> Result<()> {
        // Decode each message straight from the received bytes.
        let mut cursor = Cursor::new(datagram);
        while (cursor.position() as usize) < datagram.len() {
            let msg = Nlmsghdr::<u16, BenchBody>::from_bytes(&mut cursor)?;
            tally.record(index_of(&msg)?)?;
        }
        Ok(())
    }
    // ANCHOR_END: codec

    // ANCHOR: send_stream
    fn send_stream(sock: &NlSocket, to: Destination, messages: u64, batch: usize) -> Result<()> {
        connect(sock, to)?;
        let mut out = Self::outgoing(batch);
        let mut sent = 0;
        while sent < messages {
            let count = batch.min((messages - sent) as usize);
            send(sock, Self::fill(&mut out, sent, count)?, to)?;
            sent += count as u64;
        }
        Ok(())
    }
    // ANCHOR_END: send_stream

    // ANCHOR: receive_stream
    fn receive_stream(sock: &NlSocket, messages: u64) -> Result<StreamTally> {
        let mut buf = vec![0u8; RECV_BUF];
        let mut tally = StreamTally::default();
        while tally.next_index < messages {
            // Not NlSocket::recv: it asks the kernel for the sender's
            // address and returns the sender's groups as `Groups`, a `Vec`,
            // allocated for every multicast message. recv(2) on neli's
            // descriptor, as the raw loop does.
            let len = match crate::raw::recv_plain(sock, &mut buf) {
                Ok(len) => len,
                Err(e) if e.errno == Errno(libc::ENOBUFS) => {
                    tally.overruns += 1;
                    continue;
                }
                Err(e) if e.errno == Errno(libc::EAGAIN) => break,
                Err(e) => return Err(e.into()),
            };
            Self::read(&buf[..len], &mut tally)?;
        }
        Ok(tally)
    }
    // ANCHOR_END: receive_stream

    // ANCHOR: ping
    fn ping(sock: &NlSocket, server: u32, messages: u64) -> Result<()> {
        let to = Destination::Port(server);
        connect(sock, to)?;
        let mut out = Cursor::new(Vec::with_capacity(crate::MSG_SPACE));
        let mut buf = vec![0u8; RECV_BUF];
        for i in 0..messages {
            out.set_position(0);
            message(i)?.to_bytes(&mut out)?;
            send(sock, out.get_ref(), to)?;
            let (len, _) = sock.recv(&mut buf[..], Msg::empty())?;
            let echo = Nlmsghdr::<u16, BenchBody>::from_bytes(&mut Cursor::new(&buf[..len]))?;
            if index_of(&echo)? != i {
                bail!("the echo of message {i} is another message");
            }
        }
        Ok(())
    }
    // ANCHOR_END: ping

    fn echo(sock: &NlSocket, client: u32, messages: u64) -> Result<()> {
        let to = Destination::Port(client);
        connect(sock, to)?;
        let mut out = Cursor::new(Vec::with_capacity(crate::MSG_SPACE));
        let mut buf = vec![0u8; RECV_BUF];
        for i in 0..messages {
            let (len, _) = sock.recv(&mut buf[..], Msg::empty())?;
            let msg = Nlmsghdr::<u16, BenchBody>::from_bytes(&mut Cursor::new(&buf[..len]))?;
            if index_of(&msg)? != i {
                bail!("message {i} arrived as another message");
            }
            out.set_position(0);
            msg.to_bytes(&mut out)?;
            send(sock, out.get_ref(), to)?;
        }
        Ok(())
    }

    // ANCHOR: get_link
    fn get_link(sock: &NlSocket, messages: u64) -> Result<()> {
        let mut out = Cursor::new(Vec::with_capacity(64));
        let mut buf = vec![0u8; RECV_BUF];
        for seq in 0..messages {
            let lo = IfinfomsgBuilder::default()
                .ifi_family(RtAddrFamily::Unspecified)
                .ifi_index(1)
                .build()?;
            let request: Nlmsghdr<Rtm, Ifinfomsg> = NlmsghdrBuilder::default()
                .nl_type(Rtm::Getlink)
                .nl_flags(NlmF::REQUEST)
                .nl_seq(seq as u32)
                .nl_payload(NlPayload::Payload(lo))
                .build()?;
            out.set_position(0);
            request.to_bytes(&mut out)?;
            let len = out.position() as usize;
            sock.send(&out.get_ref()[..len], Msg::empty())?;
            let (len, _) = sock.recv(&mut buf[..], Msg::empty())?;
            let answer = Nlmsghdr::<Rtm, Unread>::from_bytes(&mut Cursor::new(&buf[..len]))?;
            if *answer.nl_type() != Rtm::Newlink || *answer.nl_seq() != seq as u32 {
                bail!("not the RTM_NEWLINK answer to request {seq}");
            }
        }
        Ok(())
    }
    // ANCHOR_END: get_link
}
