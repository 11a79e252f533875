//! `ch01-links-neli`: the link dump of `ch01-links-raw`, written with neli.
//! It prints the same report, line for line: the same request went out and
//! the same links came back.
//!
//! ```text
//! cargo run -p ch01-hello-netlink --bin ch01-links-neli
//! ```

use std::process::ExitCode;

use anyhow::{Context, Result, bail, ensure};
use ch01_hello_netlink::links::{self, DUMP_SEQ, Link, RECV_TIMEOUT};
use neli::consts::nl::NlmF;
use neli::consts::rtnl::{Ifla, RtAddrFamily, Rtm};
use neli::consts::socket::NlFamily;
use neli::err::SocketError;
use neli::nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder};
use neli::rtnl::{Ifinfomsg, IfinfomsgBuilder};
use neli::socket::synchronous::NlSocketHandle;
use neli::utils::Groups;
use nlbook_common::rtattr::cstr;
use nlbook_common::socket::set_recv_timeout;
use nlbook_common::{Errno, NlMsgHdr, exit_code, in_fresh_netns};

const PROGRAM: &str = "ch01-links-neli";

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

/// neli's header, as the fields the report prints.
fn header_of<T: Into<u16> + Copy, P>(msg: &Nlmsghdr<T, P>) -> NlMsgHdr {
    NlMsgHdr {
        nlmsg_len: *msg.nl_len(),
        nlmsg_type: (*msg.nl_type()).into(),
        nlmsg_flags: msg.nl_flags().bits(),
        nlmsg_seq: *msg.nl_seq(),
        nlmsg_pid: *msg.nl_pid(),
    }
}

/// The errno inside a neli socket error, if it is an I/O error.
fn errno_of(e: &SocketError) -> Option<Errno> {
    match e {
        SocketError::Io(io) => io.raw_os_error().map(Errno),
        _ => None,
    }
}

fn run() -> Result<String> {
    links::setup_namespace().context("preparing the namespace")?;

    // ANCHOR: connect
    // socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) and bind() with port id 0
    // (None): the kernel assigns one.
    let sock = NlSocketHandle::connect(NlFamily::Route, None, Groups::empty())?;
    let our_portid = sock.pid();
    ensure!(our_portid != 0, "the kernel assigned port id 0");
    // neli has no receive timeout of its own; the raw descriptor takes one.
    set_recv_timeout(&sock, RECV_TIMEOUT)?;
    // ANCHOR_END: connect

    // ANCHOR: request
    // The builders fill in nlmsg_len and the padding.
    let ifinfomsg = IfinfomsgBuilder::default()
        .ifi_family(RtAddrFamily::Unspecified)
        .build()?;
    let request = NlmsghdrBuilder::default()
        .nl_type(Rtm::Getlink)
        .nl_flags(NlmF::REQUEST | NlmF::DUMP)
        .nl_seq(DUMP_SEQ)
        .nl_pid(0)
        .nl_payload(NlPayload::Payload(ifinfomsg))
        .build()?;
    sock.send(&request)?;
    // ANCHOR_END: request

    // ANCHOR: recv_loop
    let mut links = Vec::new();
    'dump: loop {
        // One recv() is one datagram; the iterator walks its messages.
        let (messages, _groups) = match sock.recv::<u16, Ifinfomsg>() {
            Ok(received) => received,
            Err(e) if errno_of(&e) == Some(Errno(libc::EAGAIN)) => bail!(
                "the dump stopped: nothing received for {} s",
                RECV_TIMEOUT.as_secs()
            ),
            Err(e) => return Err(e.into()),
        };
        for msg in messages {
            let msg = msg?;
            links::check_reply(&header_of(&msg), our_portid)?;
            match msg.nl_payload() {
                NlPayload::Payload(ifinfomsg) => links.push(link_of(ifinfomsg)?),
                // neli's name for NLMSG_DONE at the end of a dump, with the
                // dump's status.
                NlPayload::DumpExtAck(done) => {
                    ensure!(
                        *done.error() == 0,
                        "the dump ended with {}",
                        Errno(done.error().saturating_neg())
                    );
                    break 'dump;
                }
                NlPayload::Err(e) => bail!(
                    "the kernel refused the dump: {}",
                    Errno(e.error().saturating_neg())
                ),
                NlPayload::Ack(_) => bail!("an ACK arrived, but the dump did not ask for one"),
                NlPayload::Empty => bail!(
                    "unexpected empty {} in the dump",
                    links::nlmsg_type_name(*msg.nl_type())
                ),
            }
        }
    }
    // ANCHOR_END: recv_loop

    let ifi_family: u8 = (*request
        .get_payload()
        .context("the request has no payload")?
        .ifi_family())
    .into();
    Ok(links::report(&header_of(&request), ifi_family, &links))
}

// ANCHOR: link_of
/// The fields of the report, from neli's parsed `Ifinfomsg`.
fn link_of(ifi: &Ifinfomsg) -> Result<Link> {
    let attrs = ifi.rtattrs().get_attr_handle();
    // Decoded by hand: neli's String decoder panics on an empty payload.
    let name = attrs
        .get_attribute(Ifla::Ifname)
        .and_then(|a| cstr(a.rta_payload().as_ref()))
        .context("a link without a readable IFLA_IFNAME")?;
    Ok(Link {
        index: *ifi.ifi_index(),
        name: name.to_owned(),
        arphrd: (*ifi.ifi_type()).into(),
        flags: ifi.ifi_flags().bits(),
        mtu: attrs.get_attr_payload_as::<u32>(Ifla::Mtu).ok(),
        address: attrs
            .get_attribute(Ifla::Address)
            .map(|a| a.rta_payload().as_ref().to_vec()),
    })
}
// ANCHOR_END: link_of
