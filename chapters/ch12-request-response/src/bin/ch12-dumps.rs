//! `ch12-dumps`: a dump comes in parts, ends with `NLMSG_DONE`, and says
//! when what it walked changed under it (`NLM_F_DUMP_INTR`); the cure is
//! to dump again.
//!
//! Runs in a fresh network namespace of its own (root, or `unshare -Urn`):
//! it puts [`ADDRESSES`] IPv4 addresses on `lo` and dumps them with
//! `RTM_GETADDR`, reading with the recommended 32 KiB buffer.

use std::process::ExitCode;

use anyhow::{Result, bail};
use ch12_request_response::addresses::{add_many, dump_request, nth};
use ch12_request_response::receive::{Arrival, summary, until_finished};
use ch12_request_response::{RECOMMENDED_BUFFER, route_socket};
use nlbook_common::address;
use nlbook_common::uapi::{NLM_F_DUMP_INTR, RTM_NEWADDR};

const PROGRAM: &str = "ch12-dumps";
/// Enough for three parts: the first is small (NLMSG_GOODSIZE), the later
/// ones as large as the reader's buffer.
const ADDRESSES: u32 = 600;

fn main() -> ExitCode {
    nlbook_common::main_in_fresh_netns(PROGRAM, run)
}

/// What a dump brought: its messages, and a line per part.
fn report(answer: &[Arrival]) -> Result<usize> {
    for line in summary(answer) {
        println!("  {line}");
    }
    let Some(last) = answer.last() else {
        bail!("an empty dump");
    };
    let Some(error) = last.done_error() else {
        bail!("the dump did not end with NLMSG_DONE");
    };
    let addresses = answer
        .iter()
        .filter(|a| a.header.nlmsg_type == RTM_NEWADDR)
        .count();
    println!(
        "  {addresses} addresses in {} recv calls; NLMSG_DONE carries error {error}",
        last.recv
    );
    Ok(addresses)
}

fn interrupted(answer: &[Arrival]) -> Vec<usize> {
    let mut recvs: Vec<usize> = answer
        .iter()
        .filter(|a| a.header.nlmsg_flags & NLM_F_DUMP_INTR != 0)
        .map(|a| a.recv)
        .collect();
    recvs.dedup();
    recvs
}

// ANCHOR: dump
/// One dump on a socket of its own: the kernel sizes a dump's parts by the
/// largest buffer the socket ever received into, so a fresh socket makes
/// every dump here start alike.
fn dump(seq: u32, after_recv: impl FnMut(usize) -> Result<()>) -> Result<Vec<Arrival>> {
    let sock = route_socket()?;
    sock.send_to(&dump_request(seq)?, 0, 0)?;
    until_finished(&sock, seq, false, RECOMMENDED_BUFFER, after_recv)
}
// ANCHOR_END: dump

fn run() -> Result<()> {
    add_many(ADDRESSES)?;
    println!(
        "lo holds {ADDRESSES} IPv4 addresses, {} to {}, one acknowledged RTM_NEWADDR each",
        nth(1),
        nth(ADDRESSES)
    );

    println!("1. RTM_GETADDR with NLM_F_DUMP, seq 1001: the answer comes in parts");
    report(&dump(1001, |_| Ok(()))?)?;

    // ANCHOR: interrupt
    println!(
        "2. The same dump, seq 1002; after recv 1 another socket adds {}",
        nth(ADDRESSES + 1).addr
    );
    let answer = dump(1002, |recv| match recv {
        1 => Ok(address::add(nth(ADDRESSES + 1))?),
        _ => Ok(()),
    })?;
    report(&answer)?;
    let flagged = interrupted(&answer);
    // ANCHOR_END: interrupt
    match flagged.as_slice() {
        [] => println!("  no part is marked NLM_F_DUMP_INTR"),
        recvs => println!(
            "  parts marked NLM_F_DUMP_INTR: recv {}: this dump is not a consistent picture",
            recvs
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }

    // ANCHOR: retry
    println!("3. Dump again until no part is marked (seq 1003 on)");
    let mut seq = 1003;
    let whole = loop {
        let answer = dump(seq, |_| Ok(()))?;
        if interrupted(&answer).is_empty() {
            break answer;
        }
        println!("  seq {seq} was interrupted too; again");
        seq += 1;
    };
    // ANCHOR_END: retry
    let n = report(&whole)?;
    println!("  whole: {n} addresses, none missed, none twice");
    Ok(())
}
