//! Printing a conversation: each request as it is sent (`->`), each
//! message of its answer as it comes (`<-`), with the `recv` call that
//! brought it, the error or ACK, what the kernel echoed of the request and
//! the extended ACK's text and offset.

use anyhow::Result;
use nlbook_common::uapi::NLM_F_CAPPED;
use nlbook_common::{Errno, NLMSG_HDRLEN, NlMsgIter, NlSocket, RtAttrIter, nlmsg_align};

use crate::names::{reply_flags, type_name};
use crate::receive::{Arrival, until_finished};

/// Print one answer, a line per message.
pub fn show(answer: &[Arrival]) -> Result<()> {
    for a in answer {
        let h = a.header;
        let mut line = format!(
            "  <- recv {}: {} seq {}, flags {}",
            a.recv,
            type_name(h.nlmsg_type),
            h.nlmsg_seq,
            reply_flags(h.nlmsg_type, h.nlmsg_flags)
        );
        if let Some(e) = a.error()? {
            match e.errno {
                None => line.push_str(", error 0: the ACK"),
                Some(errno) => line.push_str(&format!(", error {errno}")),
            }
            println!("{line}");
            // Without NETLINK_CAP_ACK the whole request comes back, padded.
            let capped = h.nlmsg_flags & NLM_F_CAPPED != 0;
            let echoed = if capped {
                NLMSG_HDRLEN
            } else {
                nlmsg_align(e.request.nlmsg_len as usize)
            };
            println!(
                "     echoes the request: {} (type {}, seq {}){}",
                if capped {
                    "its header only".to_owned()
                } else {
                    format!("all {echoed} bytes")
                },
                type_name(e.request.nlmsg_type),
                e.request.nlmsg_seq,
                match e.echoed_len.saturating_sub(4 + echoed) {
                    0 => String::new(),
                    n => format!(", then {n} bytes of extended ACK attributes"),
                }
            );
            if let Some(text) = e.message {
                println!("     extended ACK message: \"{text}\"");
            }
            if let Some(offset) = e.bad_attr_offset {
                println!("     extended ACK offset: byte {offset} of the request");
            }
        } else if let Some(code) = a.done_error().filter(|c| *c != 0) {
            // A dump that failed: NLMSG_DONE carries the error, and with
            // NETLINK_EXT_ACK the same attributes as an NLMSG_ERROR.
            println!("{line}, error {}", Errno(code.saturating_neg()));
            if let Some(text) = done_message(&a.payload) {
                println!("     extended ACK message: \"{text}\"");
            }
        } else {
            println!("{line}");
        }
    }
    Ok(())
}

/// Send `request` to the kernel, then print its answer.
pub fn ask(sock: &NlSocket, what: &str, request: &[u8], seq: u32, acked: bool) -> Result<()> {
    println!(
        "  -> {what}, seq {seq}{}",
        if acked { ", NLM_F_ACK" } else { "" }
    );
    sock.send_to(request, 0, 0)?;
    show(&until_finished(sock, seq, acked, 8192, |_| Ok(()))?)
}

/// `NLMSGERR_ATTR_MSG` (`linux/netlink.h`): the extended ACK's text.
const NLMSGERR_ATTR_MSG: u16 = 1;

/// The extended ACK's text in an `NLMSG_DONE`'s payload: attributes after
/// the 4-byte error code.
fn done_message(payload: &[u8]) -> Option<String> {
    RtAttrIter::new(payload.get(4..)?)
        .filter_map(Result::ok)
        .find(|attr| attr.rta_type == NLMSGERR_ATTR_MSG)
        .map(|attr| {
            String::from_utf8_lossy(attr.payload)
                .trim_end_matches('\0')
                .to_owned()
        })
}

/// Receive `datagrams` datagrams and print each message with what the
/// sender's address says: `nl_groups` is the group the kernel built the
/// message for (`NETLINK_CB(skb).dst_group`), 0 for an answer.
pub fn show_senders(sock: &NlSocket, datagrams: usize) -> Result<()> {
    let ours = sock.portid()?;
    let mut buf = vec![0u8; 8192];
    for recv in 1..=datagrams {
        let got = sock.recv(&mut buf)?;
        for msg in NlMsgIter::new(&buf[..got.len]) {
            let h = msg?.header;
            println!(
                "  <- recv {recv}: {} seq {}, nlmsg_pid {}, sender nl_groups {:#x}: {}",
                type_name(h.nlmsg_type),
                h.nlmsg_seq,
                if h.nlmsg_pid == ours {
                    "= our port id"
                } else {
                    "other"
                },
                got.groups,
                if got.groups == 0 {
                    "the answer"
                } else {
                    "a notification"
                }
            );
        }
    }
    Ok(())
}
