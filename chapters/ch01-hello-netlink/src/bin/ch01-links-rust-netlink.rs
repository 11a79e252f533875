//! `ch01-links-rust-netlink`: the link dump of `ch01-links-raw`, written with
//! the rust-netlink crates: `netlink-sys` for the socket,
//! `netlink-packet-core` for the header and `netlink-packet-route` for
//! `RTM_GETLINK` and its answers. It prints the same report, line for line.
//!
//! ```text
//! cargo run -p ch01-hello-netlink --bin ch01-links-rust-netlink
//! ```

use std::process::ExitCode;

use anyhow::{Context, Result, bail, ensure};
use ch01_hello_netlink::links::{self, DUMP_BUFFER_LEN, DUMP_SEQ, Link, RECV_TIMEOUT};
use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_sys::protocols::NETLINK_ROUTE;
use netlink_sys::{Socket, SocketAddr};
use nlbook_common::socket::set_recv_timeout;
use nlbook_common::{Errno, NlMsgHdr, NlMsgIter, exit_code, in_fresh_netns};

const PROGRAM: &str = "ch01-links-rust-netlink";

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

/// The crate's header, as the fields the report prints.
fn header_of(header: &NetlinkHeader) -> NlMsgHdr {
    NlMsgHdr {
        nlmsg_len: header.length,
        nlmsg_type: header.message_type,
        nlmsg_flags: header.flags,
        nlmsg_seq: header.sequence_number,
        nlmsg_pid: header.port_number,
    }
}

fn run() -> Result<String> {
    links::setup_namespace().context("preparing the namespace")?;

    // ANCHOR: connect
    // socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), then bind() with port
    // id 0: the kernel assigns one, and bind_auto returns it.
    let mut sock = Socket::new(NETLINK_ROUTE).context("socket(AF_NETLINK, NETLINK_ROUTE)")?;
    let our_portid = sock.bind_auto().context("bind()")?.port_number();
    ensure!(our_portid != 0, "the kernel assigned port id 0");
    // Requests go to the kernel, port id 0; send() then needs no address.
    sock.connect(&SocketAddr::new(0, 0))
        .context("connect() to the kernel")?;
    // netlink-sys has no receive timeout of its own; the descriptor takes one.
    set_recv_timeout(&sock, RECV_TIMEOUT)?;
    // ANCHOR_END: connect

    // ANCHOR: request
    // A default LinkMessage is an ifinfomsg of zeros: family AF_UNSPEC.
    let mut request = NetlinkMessage::new(
        NetlinkHeader::default(),
        NetlinkPayload::from(RouteNetlinkMessage::GetLink(LinkMessage::default())),
    );
    request.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.header.sequence_number = DUMP_SEQ;
    // finalize() fills in nlmsg_len and nlmsg_type from the payload.
    request.finalize();
    // serialize() panics on a buffer of the wrong size: size it from the
    // message itself.
    let mut bytes = vec![0; request.buffer_len()];
    request.serialize(&mut bytes);
    sock.send(&bytes, 0).context("send()")?;
    // ANCHOR_END: request

    // ANCHOR: recv_loop
    let mut links = Vec::new();
    let mut datagram = vec![0u8; DUMP_BUFFER_LEN];
    'dump: loop {
        // One recv() is one datagram; the caller walks its messages.
        datagram.clear();
        match sock.recv(&mut datagram, 0) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => bail!(
                "the dump stopped: nothing received for {} s",
                RECV_TIMEOUT.as_secs()
            ),
            Err(e) => return Err(anyhow::Error::new(e).context("recv()")),
        }
        // netlink-packet-core parses one message from the start of a buffer
        // and leaves walking the datagram to the caller (its own example
        // steps by nlmsg_len). The book's checked walk finds each message.
        for found in NlMsgIter::new(&datagram) {
            let found = found.context("a malformed reply")?;
            let end = found.offset + found.header.nlmsg_len as usize;
            let msg =
                NetlinkMessage::<RouteNetlinkMessage>::deserialize(&datagram[found.offset..end])
                    .context("a reply the crate cannot parse")?;
            links::check_reply(&header_of(&msg.header), our_portid)?;
            match msg.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) => {
                    links.push(link_of(&link)?)
                }
                NetlinkPayload::Done(done) => {
                    ensure!(
                        done.code == 0,
                        "the dump ended with {}",
                        Errno(done.code.saturating_neg())
                    );
                    break 'dump;
                }
                NetlinkPayload::Error(e) => bail!(
                    "the kernel refused the dump: {}",
                    Errno(e.raw_code().saturating_neg())
                ),
                _ => bail!(
                    "unexpected {} in the dump",
                    links::nlmsg_type_name(msg.header.message_type)
                ),
            }
        }
    }
    // ANCHOR_END: recv_loop

    Ok(links::report(
        &header_of(&request.header),
        libc::AF_UNSPEC as u8,
        &links,
    ))
}

// ANCHOR: link_of
/// The fields of the report, from the crate's parsed `LinkMessage`.
fn link_of(msg: &LinkMessage) -> Result<Link> {
    let mut name = None;
    let mut mtu = None;
    let mut address = None;
    // Attributes arrive parsed into an enum, one variant per IFLA_*.
    for attribute in &msg.attributes {
        match attribute {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::Mtu(m) => mtu = Some(*m),
            LinkAttribute::Address(a) => address = Some(a.clone()),
            _ => {}
        }
    }
    Ok(Link {
        index: i32::try_from(msg.header.index).context("an ifindex beyond i32")?,
        name: name.context("a link without IFLA_IFNAME")?,
        arphrd: msg.header.link_layer_type.into(),
        flags: msg.header.flags.bits(),
        mtu,
        address,
    })
}
// ANCHOR_END: link_of
