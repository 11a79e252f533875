//! `ch12-buffers`: how big a receive buffer must be. A datagram that does
//! not fit is cut and the rest is lost; `MSG_PEEK | MSG_TRUNC` tells the
//! size before reading; and the kernel sizes dump parts by the largest
//! buffer the socket ever read into.
//!
//! Runs in a fresh network namespace of its own (root, or `unshare -Urn`),
//! with [`ADDRESSES`] IPv4 addresses on `lo` to dump.

use std::process::ExitCode;

use anyhow::{Result, bail};
use ch12_request_response::addresses::{add_many, dump_request};
use ch12_request_response::{RECOMMENDED_BUFFER, route_socket};
use nlbook_common::socket::peek;
use nlbook_common::uapi::{NLMSG_DONE, RTM_NEWADDR};
use nlbook_common::{Errno, NlMsgIter, NlSocket};

const PROGRAM: &str = "ch12-buffers";
const ADDRESSES: u32 = 600;

fn main() -> ExitCode {
    nlbook_common::main_in_fresh_netns(PROGRAM, run)
}

/// What one dump read with a `buf_len`-byte buffer gave.
struct Outcome {
    /// Per `recv`: bytes copied, the datagram's real size.
    parts: Vec<(usize, usize)>,
    /// Addresses that arrived whole.
    addresses: usize,
}

// ANCHOR: read_dump
/// Dump the addresses on `sock`, reading with a `buf_len`-byte buffer.
/// `recv` uses `MSG_TRUNC`, so it returns the datagram's real size even
/// when less was copied: that is how a cut datagram is noticed.
fn read_dump(sock: &NlSocket, seq: u32, buf_len: usize) -> Result<Outcome> {
    sock.send_to(&dump_request(seq)?, 0, 0)?;
    let mut buf = vec![0u8; buf_len];
    let mut outcome = Outcome {
        parts: Vec::new(),
        addresses: 0,
    };
    loop {
        let got = match sock.recv(&mut buf) {
            Ok(got) => got,
            Err(e) if e.errno == Errno(libc::EAGAIN) => bail!("the dump stopped answering"),
            Err(e) => return Err(e.into()),
        };
        outcome.parts.push((got.len, got.datagram_len));
        // Walk only what was copied; a cut message at the end is an error
        // of the walk, and the walk stops there.
        for msg in NlMsgIter::new(&buf[..got.len]) {
            let Ok(msg) = msg else { break };
            match msg.header.nlmsg_type {
                RTM_NEWADDR => outcome.addresses += 1,
                NLMSG_DONE => return Ok(outcome),
                _ => {}
            }
        }
    }
}
// ANCHOR_END: read_dump

fn show(outcome: &Outcome) {
    for (i, (copied, size)) in outcome.parts.iter().enumerate() {
        let cut = if copied < size {
            format!(
                ", only {copied} copied: MSG_TRUNC, {} bytes lost",
                size - copied
            )
        } else {
            String::new()
        };
        println!("  recv {}: a {size}-byte datagram{cut}", i + 1);
    }
    println!(
        "  {} of {ADDRESSES} addresses arrived whole",
        outcome.addresses
    );
}

fn run() -> Result<()> {
    add_many(ADDRESSES)?;
    println!("lo holds {ADDRESSES} IPv4 addresses; each step dumps them on a fresh socket");

    // ANCHOR: peek
    println!("1. Ask the size first: recvmsg(MSG_PEEK | MSG_TRUNC) with no buffer");
    let sock = route_socket()?;
    sock.send_to(&dump_request(1)?, 0, 0)?;
    let next = peek(&sock)?;
    println!("  the next datagram is {} bytes", next.datagram_len);
    let mut exact = vec![0u8; next.datagram_len];
    let got = sock.recv(&mut exact)?;
    println!(
        "  a recv with exactly that much: {} bytes, cut: {}",
        got.len,
        if got.truncated() { "yes" } else { "no" }
    );
    // ANCHOR_END: peek

    println!("2. A 1024-byte buffer: every part is cut");
    show(&read_dump(&route_socket()?, 2, 1024)?);

    println!("3. The 32 KiB buffer the kernel's documentation recommends");
    show(&read_dump(&route_socket()?, 3, RECOMMENDED_BUFFER)?);

    // ANCHOR: sticky
    println!("4. One socket: a dump read with 32 KiB, then one read with 8 KiB");
    let sock = route_socket()?;
    read_dump(&sock, 4, RECOMMENDED_BUFFER)?;
    show(&read_dump(&sock, 5, 8192)?);
    // ANCHOR_END: sticky
    Ok(())
}
