//! `ch02-whoami-neli`: the `whoami` module through neli's `NlRouter`, which
//! fills in `nlmsg_pid` and `nlmsg_seq` itself and matches answers to
//! requests. And what that matching rests on: the header's `nlmsg_seq` and
//! `nlmsg_pid`, which any sender can write, not the sender's address.
//!
//! It needs the module, so it runs in the VM lab:
//!
//! ```text
//! cargo xtask lab --chapter ch02-addresses --test whoami
//! ```
//!
//! The forged answer is sent from a second socket of this program. Sending
//! to another user socket's port id on protocol 29 needs CAP_NET_ADMIN,
//! which the lab's root has; on NETLINK_USERSOCK any process may.

use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use ch02_addresses::module::{self, ModuleError, PROTOCOL};
use ch02_addresses::ports::{message, process_id, yes_no};
use ch02_addresses::whoami::{Answer, MODULE, WHOAMI};
use neli::consts::nl::NlmF;
use neli::consts::socket::NlFamily;
use neli::err::{RouterError, SocketError};
use neli::nl::{NlPayload, Nlmsghdr};
use neli::router::synchronous::NlRouter;
use neli::types::Buffer;
use neli::utils::Groups;
use nlbook_common::uapi::NLMSG_NOOP;
use nlbook_common::{Errno, NlMsgHdr, SysError, exit_code};

const PROGRAM: &str = "ch02-whoami-neli";

fn main() -> ExitCode {
    if let Err(usage) = nlbook_common::no_arguments(PROGRAM) {
        return nlbook_common::exit_code(PROGRAM, Err(usage));
    }
    exit_code(PROGRAM, run())
}

/// The next answer a router's receiver hands out, and its payload.
fn next_answer(
    answers: &mut impl Iterator<Item = Result<Nlmsghdr<u16, Buffer>, RouterError<u16, Buffer>>>,
) -> Result<(NlMsgHdr, Vec<u8>)> {
    let msg = match answers.next() {
        Some(Ok(msg)) => msg,
        Some(Err(e)) => bail!("NlRouter: {e}"),
        None => bail!("NlRouter: no answer"),
    };
    let NlPayload::Payload(body) = msg.nl_payload() else {
        bail!("NlRouter handed out a message without a payload");
    };
    let header = NlMsgHdr {
        nlmsg_len: *msg.nl_len(),
        nlmsg_type: *msg.nl_type(),
        nlmsg_flags: msg.nl_flags().bits(),
        nlmsg_seq: *msg.nl_seq(),
        nlmsg_pid: *msg.nl_pid(),
    };
    Ok((header, body.as_ref().to_vec()))
}

fn run() -> Result<()> {
    // ANCHOR: connect
    let family = NlFamily::UnrecognizedConst(PROTOCOL);
    let (router, _multicast) = match NlRouter::connect(family, None, Groups::empty()) {
        Ok(connected) => connected,
        Err(RouterError::Socket(SocketError::Io(io)))
            if io.raw_os_error() == Some(libc::EPROTONOSUPPORT) =>
        {
            return Err(ModuleError::NotLoaded {
                error: SysError {
                    call: format!("socket(AF_NETLINK, SOCK_RAW, {PROTOCOL})"),
                    errno: Errno(libc::EPROTONOSUPPORT),
                },
                module: MODULE,
            }
            .into());
        }
        Err(e) => return Err(anyhow!("NlRouter::connect: {e}")),
    };
    let ours = router.pid();
    // ANCHOR_END: connect
    println!(
        "NlRouter::connect(protocol {PROTOCOL}, no port id given): port id == process id: {}",
        yes_no(ours == process_id())
    );

    // ANCHOR: ask
    let mut answers = router
        .send::<u16, Buffer, u16, Buffer>(WHOAMI, NlmF::empty(), NlPayload::Payload(Buffer::new()))
        .map_err(|e| anyhow!("NlRouter::send: {e}"))?;
    let (header, payload) = next_answer(&mut answers)?;
    // NlRouter does not report the sender's address; 0 is what a kernel
    // answer would carry, so Answer::parse checks the rest.
    let answer = Answer::parse(&header, &payload, 0, WHOAMI, header.nlmsg_seq)?;
    // ANCHOR_END: ask
    println!("request 1, WHOAMI through NlRouter::send(), which fills in seq and nlmsg_pid:");
    println!("  neli numbered it seq {}", header.nlmsg_seq);
    println!(
        "  the module saw nlmsg_pid == our port id: {}; sender (NETLINK_CB(skb).portid) == our port id: {}",
        yes_no(answer.claimed == ours),
        yes_no(answer.sender == ours)
    );
    println!(
        "  the answer's nlmsg_pid == our port id: {} (NlRouter hands out only answers that name it)",
        yes_no(header.nlmsg_pid == ours)
    );

    // ANCHOR: forge
    // A control message without NLM_F_ACK: netlink_rcv_skb() skips it and
    // the kernel answers nothing. NlRouter waits for seq + 1 all the same.
    let mut pending = router
        .send::<u16, Buffer, u16, Buffer>(NLMSG_NOOP, NlmF::empty(), NlPayload::Empty)
        .map_err(|e| anyhow!("NlRouter::send: {e}"))?;
    let awaited_seq = header.nlmsg_seq.wrapping_add(1);

    // Another socket, not the kernel, writes what the router checks.
    let forger = module::open_bound(MODULE)?;
    let fake = Answer {
        claimed: 4242,
        sender: 4242,
    };
    let mut fake_payload = fake.claimed.to_ne_bytes().to_vec();
    fake_payload.extend_from_slice(&fake.sender.to_ne_bytes());
    let forged = message(WHOAMI, 0, awaited_seq, ours, &fake_payload)?;
    forger.send_to(&forged, ours, 0)?;
    let (got_header, got_payload) = next_answer(&mut pending)?;
    // ANCHOR_END: forge
    println!("request 2, NLMSG_NOOP through NlRouter::send(): the kernel answers nothing");
    println!(
        "  meanwhile another socket of ours sends a message with seq {awaited_seq} and our port id \
         in nlmsg_pid to our port id"
    );
    println!(
        "  NlRouter handed it out as the answer to request 2: {}",
        yes_no(got_header.nlmsg_seq == awaited_seq && got_payload == fake_payload)
    );
    println!(
        "  its sender address was the kernel's port 0: {} (it was the other socket's port id)",
        yes_no(forger.portid()? == 0)
    );
    Ok(())
}
