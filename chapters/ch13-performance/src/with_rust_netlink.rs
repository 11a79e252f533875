//! The benchmark's hot loops with the rust-netlink crates: `netlink-sys`'s
//! `Socket` for the system calls, `netlink-packet-core`'s `NetlinkMessage`
//! to build and decode every message, and `netlink-packet-route` for
//! `RTM_GETLINK` and its answer.
//!
//! Written the way the crates' own examples write it: a message is a
//! `NetlinkMessage` around a payload type, `finalize()`d and `serialize()`d
//! into a buffer of its `buffer_len()`; a received datagram is walked by
//! deserialising the message at the front and stepping on by its length.
//! The USERSOCK payload is a type of the benchmark's own that implements
//! the crate's two payload traits, as the crate's `protocol` example does
//! for a protocol it does not know. Each loop owns its buffers, as the raw
//! and neli loops do; nothing here calls `libc`.

use anyhow::{Context, Result, bail};
use netlink_packet_core::{
    NLM_F_REQUEST, NetlinkDeserializable, NetlinkHeader, NetlinkMessage, NetlinkPayload,
    NetlinkSerializable,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::LinkMessage;
use netlink_sys::{Socket, SocketAddr};

use crate::{Destination, Implementation, MARKER, MSG_TYPE, RECV_BUF, StreamTally};

/// The rust-netlink implementation.
pub struct RustNetlink;

/// The payload's size on the wire.
const BODY_LEN: usize = crate::MSG_LEN - nlbook_common::NLMSG_HDRLEN;

// ANCHOR: body
/// The benchmark message's payload, as a payload type of the crate: it
/// names its message type, its size, and writes and reads its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BenchBody {
    /// The message's index.
    pub index: u64,
    /// [`MARKER`].
    pub marker: u64,
    /// Zero.
    pub spare: u32,
}

impl NetlinkSerializable for BenchBody {
    fn message_type(&self) -> u16 {
        MSG_TYPE
    }

    fn buffer_len(&self) -> usize {
        BODY_LEN
    }

    fn serialize(&self, buffer: &mut [u8]) {
        // The crate hands over exactly buffer_len() bytes.
        if let Some(at) = buffer.first_chunk_mut::<BODY_LEN>() {
            at[..8].copy_from_slice(&self.index.to_ne_bytes());
            at[8..16].copy_from_slice(&self.marker.to_ne_bytes());
            at[16..20].copy_from_slice(&self.spare.to_ne_bytes());
        }
    }
}

/// Why a payload is not a benchmark message.
#[derive(Debug)]
pub struct NotABenchMessage(u16, usize);

impl std::fmt::Display for NotABenchMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "not a benchmark message: type {:#x}, {} payload bytes",
            self.0, self.1
        )
    }
}

impl std::error::Error for NotABenchMessage {}

impl NetlinkDeserializable for BenchBody {
    type Error = NotABenchMessage;

    fn deserialize(header: &NetlinkHeader, payload: &[u8]) -> Result<Self, Self::Error> {
        let wrong = || NotABenchMessage(header.message_type, payload.len());
        let body = payload.first_chunk::<BODY_LEN>().ok_or_else(wrong)?;
        if header.message_type != MSG_TYPE || payload.len() != BODY_LEN {
            return Err(wrong());
        }
        let word = |from: usize| {
            body.get(from..from + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_ne_bytes)
        };
        Ok(BenchBody {
            index: word(0).ok_or_else(wrong)?,
            marker: word(8).ok_or_else(wrong)?,
            spare: 0,
        })
    }
}
// ANCHOR_END: body

/// Benchmark message `index`, as the crate's message.
fn message(index: u64) -> NetlinkMessage<BenchBody> {
    let mut header = NetlinkHeader::default();
    // The low 32 bits: nlmsg_seq is a u32, the index a u64.
    header.sequence_number = index as u32;
    let mut msg = NetlinkMessage::new(
        header,
        NetlinkPayload::InnerMessage(BenchBody {
            index,
            marker: MARKER,
            spare: 0,
        }),
    );
    // nlmsg_len and nlmsg_type, from the payload.
    msg.finalize();
    msg
}

/// The index of a decoded benchmark message, or why it is not one.
fn index_of(msg: &NetlinkMessage<BenchBody>) -> Result<u64> {
    match &msg.payload {
        NetlinkPayload::InnerMessage(body) if body.marker == MARKER => Ok(body.index),
        _ => bail!(
            "not a benchmark message: type {:#x}",
            msg.header.message_type
        ),
    }
}

/// The address a destination names.
fn address(to: Destination) -> SocketAddr {
    match to {
        Destination::Port(portid) => SocketAddr::new(portid, 0),
        Destination::Group(group) => SocketAddr::new(0, 1 << (group - 1)),
    }
}

/// One `sendto()`; the ECONNREFUSED a USERSOCK multicast reports after the
/// delivery (no kernel socket at port 0) is not an error.
fn send(sock: &Socket, datagram: &[u8], to: &SocketAddr, multicast: bool) -> Result<()> {
    match sock.send_to(datagram, to, 0) {
        Ok(_) => Ok(()),
        Err(e) if multicast && e.raw_os_error() == Some(libc::ECONNREFUSED) => Ok(()),
        Err(e) => Err(e).context("sendto(AF_NETLINK)"),
    }
}

/// One datagram into `buf`, which is emptied first.
fn recv(sock: &Socket, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    buf.clear();
    sock.recv(buf, 0)
}

/// The one benchmark message a datagram holds.
fn only_message(datagram: &[u8]) -> Result<NetlinkMessage<BenchBody>> {
    NetlinkMessage::<BenchBody>::deserialize(datagram).context("a benchmark datagram")
}

impl Implementation for RustNetlink {
    type Socket = Socket;

    fn open(protocol: i32) -> Result<Socket> {
        let mut sock = Socket::new(protocol as isize)
            .with_context(|| format!("socket(AF_NETLINK, SOCK_RAW, {protocol})"))?;
        sock.bind_auto().context("bind(AF_NETLINK)")?;
        Ok(sock)
    }

    fn join(sock: &Socket, group: u32) -> Result<()> {
        sock.add_membership(group)
            .with_context(|| format!("NETLINK_ADD_MEMBERSHIP {group}"))
    }

    fn portid(sock: &Socket) -> Result<u32> {
        let mut addr = SocketAddr::new(0, 0);
        sock.get_address(&mut addr).context("getsockname()")?;
        Ok(addr.port_number())
    }

    // ANCHOR: codec
    /// One serialisation buffer for the run, overwritten per datagram.
    type Outgoing = Vec<u8>;

    fn outgoing(batch: usize) -> Vec<u8> {
        vec![0; batch * crate::MSG_SPACE]
    }

    fn fill(out: &mut Vec<u8>, first: u64, count: usize) -> Result<&[u8]> {
        let mut len = 0;
        for index in first..first + count as u64 {
            let msg = message(index);
            let end = len + msg.buffer_len();
            // serialize() panics on a buffer of another size than
            // buffer_len(): hand it exactly that slice.
            let at = out.get_mut(len..end).context("no room for a message")?;
            msg.serialize(at);
            len = nlbook_common::nlmsg_align(end);
        }
        out.get(..len).context("no room for the datagram")
    }

    fn read(datagram: &[u8], tally: &mut StreamTally) -> Result<()> {
        // The crate decodes the message at the front of a buffer; the
        // caller steps to the next one by its aligned length.
        let mut rest = datagram;
        while !rest.is_empty() {
            let msg = NetlinkMessage::<BenchBody>::deserialize(rest)
                .context("a message of the stream")?;
            tally.record(index_of(&msg)?)?;
            let step = nlbook_common::nlmsg_align(msg.header.length as usize);
            rest = rest.get(step..).unwrap_or_default();
        }
        Ok(())
    }
    // ANCHOR_END: codec

    // ANCHOR: send_stream
    fn send_stream(sock: &Socket, to: Destination, messages: u64, batch: usize) -> Result<()> {
        let addr = address(to);
        let multicast = matches!(to, Destination::Group(_));
        let mut out = Self::outgoing(batch);
        let mut sent = 0;
        while sent < messages {
            let count = batch.min((messages - sent) as usize);
            send(sock, Self::fill(&mut out, sent, count)?, &addr, multicast)?;
            sent += count as u64;
        }
        Ok(())
    }
    // ANCHOR_END: send_stream

    // ANCHOR: receive_stream
    fn receive_stream(sock: &Socket, messages: u64) -> Result<StreamTally> {
        let mut buf = Vec::with_capacity(RECV_BUF);
        let mut tally = StreamTally::default();
        while tally.next_index < messages {
            match recv(sock, &mut buf) {
                Ok(_) => Self::read(&buf, &mut tally)?,
                // The kernel's report of dropped messages: the recv()
                // error, as the crate passes it on.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => tally.overruns += 1,
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => break,
                Err(e) => return Err(e).context("recv(AF_NETLINK)"),
            }
        }
        Ok(tally)
    }
    // ANCHOR_END: receive_stream

    // ANCHOR: ping
    fn ping(sock: &Socket, server: u32, messages: u64) -> Result<()> {
        let to = SocketAddr::new(server, 0);
        let mut out = vec![0u8; crate::MSG_LEN];
        let mut buf = Vec::with_capacity(RECV_BUF);
        for i in 0..messages {
            message(i).serialize(&mut out);
            send(sock, &out, &to, false)?;
            recv(sock, &mut buf).context("recv(AF_NETLINK)")?;
            if index_of(&only_message(&buf)?)? != i {
                bail!("the echo of message {i} is another message");
            }
        }
        Ok(())
    }
    // ANCHOR_END: ping

    fn echo(sock: &Socket, client: u32, messages: u64) -> Result<()> {
        let to = SocketAddr::new(client, 0);
        let mut out = vec![0u8; crate::MSG_LEN];
        let mut buf = Vec::with_capacity(RECV_BUF);
        for i in 0..messages {
            recv(sock, &mut buf).context("recv(AF_NETLINK)")?;
            let msg = only_message(&buf)?;
            if index_of(&msg)? != i {
                bail!("message {i} arrived as another message");
            }
            msg.serialize(&mut out);
            send(sock, &out, &to, false)?;
        }
        Ok(())
    }

    // ANCHOR: get_link
    fn get_link(sock: &Socket, messages: u64) -> Result<()> {
        let kernel = SocketAddr::new(0, 0);
        let mut out = Vec::with_capacity(64);
        let mut buf = Vec::with_capacity(RECV_BUF);
        for seq in 0..messages {
            let mut lo = LinkMessage::default();
            lo.header.index = 1;
            let mut request = NetlinkMessage::new(
                NetlinkHeader::default(),
                NetlinkPayload::from(RouteNetlinkMessage::GetLink(lo)),
            );
            request.header.flags = NLM_F_REQUEST;
            request.header.sequence_number = seq as u32;
            request.finalize();
            out.resize(request.buffer_len(), 0);
            request.serialize(&mut out);
            send(sock, &out, &kernel, false)?;
            recv(sock, &mut buf).context("recv(AF_NETLINK)")?;
            // The crate's one way to read the answer: the whole
            // RTM_NEWLINK, every attribute decoded into its enum.
            let answer = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf)
                .context("the RTM_NEWLINK answer")?;
            let is_link = matches!(
                answer.payload,
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(_))
            );
            if !is_link || answer.header.sequence_number != seq as u32 {
                bail!("not the RTM_NEWLINK answer to request {seq}");
            }
        }
        Ok(())
    }
    // ANCHOR_END: get_link
}
