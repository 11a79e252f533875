//! The benchmark's hot loops in raw `libc` calls, through
//! `nlbook_common::NlSocket` (one `sendmsg` or `recvmsg` per call, nothing
//! else).
//!
//! What makes them as fast as the C reference: each loop owns one buffer,
//! allocated and zeroed once before the loop, and reuses it; messages are
//! written and checked in place, never copied into owned values.

use std::os::fd::AsRawFd;

use anyhow::{Result, bail};
use nlbook_common::socket::sockaddr_nl;
use nlbook_common::uapi::{IFINFOMSG_LEN, NLM_F_REQUEST, RTM_GETLINK, RTM_NEWLINK};
use nlbook_common::{Errno, NLMSG_HDRLEN, NlMsgHdr, NlMsgIter, NlSocket, SysError};

use crate::{
    Destination, Implementation, MSG_LEN, MSG_SPACE, RECV_BUF, StreamTally, message_index,
    write_message,
};

/// The raw implementation.
pub struct Raw;

// ANCHOR: plain_calls
/// `recv()`: no sender address, no `msghdr` for the kernel to copy in and
/// check, unlike `NlSocket::recv` (`recvmsg`, which reports the sender and
/// truncation). The hot loops know both already. Returns the bytes received.
/// The neli loops call it on neli's descriptor too.
pub fn recv_plain(sock: &impl AsRawFd, buf: &mut [u8]) -> Result<usize, SysError> {
    loop {
        // SAFETY: buf is valid for writes of buf.len() bytes.
        let n = unsafe {
            libc::recv(
                sock.as_raw_fd(),
                buf.as_mut_ptr().cast::<libc::c_void>(),
                buf.len(),
                0,
            )
        };
        if let Ok(n) = usize::try_from(n) {
            return Ok(n);
        }
        let err = SysError::last("recv(AF_NETLINK)");
        if err.errno != Errno(libc::EINTR) {
            return Err(err);
        }
    }
}

/// `sendto()` with the address built once by the caller, instead of
/// `NlSocket::send_to`'s `sendmsg` and its `msghdr`.
fn send_plain(sock: &NlSocket, datagram: &[u8], to: &libc::sockaddr_nl) -> Result<(), SysError> {
    loop {
        // SAFETY: datagram is valid for reads of its length; to is a valid
        // sockaddr_nl and the length says so.
        let n = unsafe {
            libc::sendto(
                sock.as_raw_fd(),
                datagram.as_ptr().cast::<libc::c_void>(),
                datagram.len(),
                0,
                (to as *const libc::sockaddr_nl).cast::<libc::sockaddr>(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if n >= 0 {
            return Ok(());
        }
        let errno = Errno::last();
        // USERSOCK multicast also tries a unicast to port 0, where no
        // kernel socket listens: ECONNREFUSED after the delivery, on every
        // message. Decided from errno alone, before any error is built.
        if errno == Errno(libc::ECONNREFUSED) && to.nl_groups != 0 {
            return Ok(());
        }
        if errno != Errno(libc::EINTR) {
            return Err(send_error(to, errno));
        }
    }
}

#[cold]
fn send_error(to: &libc::sockaddr_nl, errno: Errno) -> SysError {
    SysError {
        call: format!(
            "sendto(AF_NETLINK, portid {}, groups {:#x})",
            to.nl_pid, to.nl_groups
        ),
        errno,
    }
}
// ANCHOR_END: plain_calls

fn destination(to: Destination) -> libc::sockaddr_nl {
    match to {
        Destination::Port(portid) => sockaddr_nl(portid, 0),
        Destination::Group(group) => sockaddr_nl(0, 1 << (group - 1)),
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

    // ANCHOR: codec
    type Outgoing = Vec<u8>;

    fn outgoing(batch: usize) -> Vec<u8> {
        vec![0u8; batch * MSG_SPACE]
    }

    fn fill(out: &mut Vec<u8>, first: u64, count: usize) -> Result<&[u8]> {
        let room = out.len();
        let Some(datagram) = out.get_mut(..count * MSG_SPACE) else {
            bail!("{count} messages do not fit a {room}-byte buffer");
        };
        for (message, index) in datagram.chunks_exact_mut(MSG_SPACE).zip(first..) {
            write_message(message, index)?;
        }
        Ok(datagram)
    }

    fn read(datagram: &[u8], tally: &mut StreamTally) -> Result<()> {
        // Counted in a local copy, stored once per datagram: through
        // `tally` every message would store both counters to memory.
        let mut counted = *tally;
        // Every message of the datagram, checked where it lies.
        let messages = datagram.chunks_exact(MSG_SPACE);
        let rest = messages.remainder();
        for message in messages {
            counted.record(message_index(message)?)?;
        }
        if !rest.is_empty() {
            message_index(rest)?;
        }
        *tally = counted;
        Ok(())
    }
    // ANCHOR_END: codec

    // ANCHOR: send_stream
    fn send_stream(sock: &NlSocket, to: Destination, messages: u64, batch: usize) -> Result<()> {
        let dest = destination(to);
        // One buffer for the whole run, written in place for each datagram.
        let mut out = Self::outgoing(batch);
        let mut sent = 0;
        while sent < messages {
            let count = batch.min((messages - sent) as usize);
            send_plain(sock, Self::fill(&mut out, sent, count)?, &dest)?;
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
            let len = match recv_plain(sock, &mut buf) {
                Ok(len) => len,
                Err(e) if e.errno == Errno(libc::ENOBUFS) => {
                    tally.overruns += 1;
                    continue;
                }
                // Nothing for RECV_TIMEOUT: the rest was lost.
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
        let server = sockaddr_nl(server, 0);
        let mut msg = [0u8; MSG_LEN];
        let mut buf = vec![0u8; RECV_BUF];
        for i in 0..messages {
            write_message(&mut msg, i)?;
            send_plain(sock, &msg, &server)?;
            let len = recv_plain(sock, &mut buf)?;
            if message_index(&buf[..len])? != i {
                bail!("the echo of message {i} is another message");
            }
        }
        Ok(())
    }
    // ANCHOR_END: ping

    fn echo(sock: &NlSocket, client: u32, messages: u64) -> Result<()> {
        let client = sockaddr_nl(client, 0);
        let mut buf = vec![0u8; RECV_BUF];
        for i in 0..messages {
            let len = recv_plain(sock, &mut buf)?;
            if message_index(&buf[..len])? != i {
                bail!("message {i} arrived as another message");
            }
            send_plain(sock, &buf[..len], &client)?;
        }
        Ok(())
    }

    // ANCHOR: get_link
    fn get_link(sock: &NlSocket, messages: u64) -> Result<()> {
        // nlmsghdr + ifinfomsg { family AF_UNSPEC, index 1 (lo) }: only the
        // sequence number changes from one request to the next.
        let mut request = [0u8; NLMSG_HDRLEN + IFINFOMSG_LEN];
        request[NLMSG_HDRLEN + 4..NLMSG_HDRLEN + 8].copy_from_slice(&1i32.to_ne_bytes());
        let kernel = sockaddr_nl(0, 0);
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
            send_plain(sock, &request, &kernel)?;
            let len = recv_plain(sock, &mut buf)?;
            let answer = NlMsgIter::new(&buf[..len]).next().transpose()?;
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
