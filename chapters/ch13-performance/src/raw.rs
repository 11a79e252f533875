//! The benchmark's hot loops in raw `libc` calls, through
//! `nlbook_common::NlSocket` (one `sendmsg` or `recvmsg` per call, nothing
//! else).
//!
//! What makes them as fast as the C reference: each loop owns one buffer,
//! allocated and zeroed once before the loop, and reuses it; messages are
//! written and checked in place, never copied into owned values.

use anyhow::{Result, bail};
use nlbook_common::uapi::{IFINFOMSG_LEN, NLM_F_REQUEST, RTM_GETLINK, RTM_NEWLINK};
use nlbook_common::{Errno, NLMSG_HDRLEN, NlMsgHdr, NlMsgIter, NlSocket, SysError};

use crate::{
    Destination, Implementation, MSG_LEN, MSG_SPACE, RECV_BUF, StreamTally, message_index,
    write_message,
};

/// The raw implementation.
pub struct Raw;

/// USERSOCK multicast also tries a unicast to port 0, where no kernel
/// socket listens: the send reports `ECONNREFUSED` after the delivery.
fn refused_after_multicast(err: &SysError, to: Destination) -> bool {
    matches!(to, Destination::Group(_)) && err.errno == Errno(libc::ECONNREFUSED)
}

fn destination(to: Destination) -> (u32, u32) {
    match to {
        Destination::Port(portid) => (portid, 0),
        Destination::Group(group) => (0, 1 << (group - 1)),
    }
}

impl Implementation for Raw {
    type Socket = NlSocket;

    fn open(protocol: i32) -> Result<NlSocket> {
        let sock = NlSocket::open(protocol)?;
        sock.bind(0, 0)?;
        Ok(sock)
    }

    fn join(sock: &NlSocket, group: u32) -> Result<()> {
        nlbook_common::membership::join_group(sock, group)?;
        Ok(())
    }

    fn portid(sock: &NlSocket) -> Result<u32> {
        Ok(sock.portid()?)
    }

    // ANCHOR: send_stream
    fn send_stream(sock: &NlSocket, to: Destination, messages: u64, batch: usize) -> Result<()> {
        let (portid, groups) = destination(to);
        // One buffer for the whole run, written in place for each datagram.
        let mut datagram = vec![0u8; batch * MSG_SPACE];
        let mut sent = 0;
        while sent < messages {
            let mut len = 0;
            while len < datagram.len() && sent < messages {
                write_message(&mut datagram[len..], sent)?;
                len += MSG_SPACE;
                sent += 1;
            }
            match sock.send_to(&datagram[..len], portid, groups) {
                Ok(_) => {}
                Err(e) if refused_after_multicast(&e, to) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
    // ANCHOR_END: send_stream

    // ANCHOR: receive_stream
    fn receive_stream(sock: &NlSocket, messages: u64) -> Result<StreamTally> {
        let mut buf = vec![0u8; RECV_BUF];
        let mut tally = StreamTally::default();
        while tally.next_index < messages {
            let got = match sock.recv(&mut buf) {
                Ok(got) => got,
                Err(e) if e.errno == Errno(libc::ENOBUFS) => {
                    tally.overruns += 1;
                    continue;
                }
                // Nothing for RECV_TIMEOUT: the rest was lost.
                Err(e) if e.errno == Errno(libc::EAGAIN) => break,
                Err(e) => return Err(e.into()),
            };
            if got.truncated() {
                bail!(
                    "a {}-byte datagram cut to {RECV_BUF} bytes",
                    got.datagram_len
                );
            }
            // Every message of the datagram, checked where it lies.
            for offset in (0..got.len).step_by(MSG_SPACE) {
                tally.record(message_index(&buf[offset..got.len])?)?;
            }
        }
        Ok(tally)
    }
    // ANCHOR_END: receive_stream

    // ANCHOR: ping
    fn ping(sock: &NlSocket, server: u32, messages: u64) -> Result<()> {
        let mut msg = [0u8; MSG_LEN];
        let mut buf = vec![0u8; RECV_BUF];
        for i in 0..messages {
            write_message(&mut msg, i)?;
            sock.send_to(&msg, server, 0)?;
            let got = sock.recv(&mut buf)?;
            if message_index(&buf[..got.len])? != i {
                bail!("the echo of message {i} is another message");
            }
        }
        Ok(())
    }
    // ANCHOR_END: ping

    fn echo(sock: &NlSocket, client: u32, messages: u64) -> Result<()> {
        let mut buf = vec![0u8; RECV_BUF];
        for i in 0..messages {
            let got = sock.recv(&mut buf)?;
            if message_index(&buf[..got.len])? != i {
                bail!("message {i} arrived as another message");
            }
            sock.send_to(&buf[..got.len], client, 0)?;
        }
        Ok(())
    }

    // ANCHOR: get_link
    fn get_link(sock: &NlSocket, messages: u64) -> Result<()> {
        // nlmsghdr + ifinfomsg { family AF_UNSPEC, index 1 (lo) }: only the
        // sequence number changes from one request to the next.
        let mut request = [0u8; NLMSG_HDRLEN + IFINFOMSG_LEN];
        request[NLMSG_HDRLEN + 4..NLMSG_HDRLEN + 8].copy_from_slice(&1i32.to_ne_bytes());
        let mut buf = vec![0u8; RECV_BUF];
        for seq in 0..messages {
            let header = NlMsgHdr {
                nlmsg_len: request.len() as u32,
                nlmsg_type: RTM_GETLINK,
                nlmsg_flags: NLM_F_REQUEST,
                nlmsg_seq: seq as u32,
                nlmsg_pid: 0,
            };
            request[..NlMsgHdr::LEN].copy_from_slice(&header.to_bytes());
            sock.send_to(&request, 0, 0)?;
            let got = sock.recv(&mut buf)?;
            let answer = NlMsgIter::new(&buf[..got.len]).next().transpose()?;
            match answer {
                Some(m)
                    if m.header.nlmsg_type == RTM_NEWLINK && m.header.nlmsg_seq == seq as u32 => {}
                _ => bail!("not the RTM_NEWLINK answer to request {seq}"),
            }
        }
        Ok(())
    }
    // ANCHOR_END: get_link
}
