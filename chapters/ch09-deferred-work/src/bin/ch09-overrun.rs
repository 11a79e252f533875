//! `ch09-overrun`: a client that does not read, and the module's replies
//! that the kernel throws away.
//!
//! ```text
//! ch09-overrun [--requests N] [--rcvbuf BYTES]
//! ```
//!
//! The first socket shrinks its receive buffer (`--rcvbuf`, default 1024,
//! which the kernel raises to its minimum), sends `--requests` requests
//! (default 16) of 32 bytes each, and reads nothing. A second socket then
//! sends one request and waits for its reply: the module's one thread
//! answers requests in the order they came, so once that reply is in, every
//! reply to the first socket has been sent or dropped. Only then does the
//! first socket read its queue to the end.
//!
//! What it prints is the same on every run: the kernel's replies never
//! wait, so what a full queue cannot hold is lost, and the first `recv()`
//! says so with `ENOBUFS`. Exit status 0 when the loss is exactly that
//! (some replies in order, the rest missing, `ENOBUFS` first); 2 for a
//! usage error.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ch09_deferred_work::answer::{Answer, parse_answer, read_answer};
use ch09_deferred_work::request::request;
use ch09_deferred_work::{count_option, open_client};
use nlbook_common::{Errno, NlSocket, UsageError, exit_code};

const PROGRAM: &str = "ch09-overrun";
const USAGE: &str = "usage: ch09-overrun [--requests N] [--rcvbuf BYTES]";

/// Every request's payload: 32 bytes, the same for each, so that every
/// reply costs the receive buffer the same.
const PAYLOAD: &[u8; 32] = b"a request whose reply is 32 long";

/// Once the second socket's reply has come, every reply to the first is
/// queued or gone: a short wait then means "the queue is empty", not
/// "maybe later".
const DRAINED: Duration = Duration::from_millis(200);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Options {
    requests: u32,
    rcvbuf: i32,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut opts = Options {
        requests: 16,
        rcvbuf: 1024,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--requests" => opts.requests = count_option(&mut it, "--requests", 1000)?,
            "--rcvbuf" => {
                let bytes: u32 = count_option(&mut it, "--rcvbuf", 1 << 20)?;
                opts.rcvbuf = i32::try_from(bytes).map_err(|_| "--rcvbuf: too large")?;
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(opts)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args) {
        Ok(opts) => exit_code(PROGRAM, run(opts)),
        Err(why) => exit_code(PROGRAM, Err(UsageError::new(why, USAGE))),
    }
}

fn run(opts: Options) -> Result<()> {
    // ANCHOR: silent
    let silent = open_client()?;
    silent.set_option(libc::SOL_SOCKET, libc::SO_RCVBUF, opts.rcvbuf)?;
    let effective = silent.option(libc::SOL_SOCKET, libc::SO_RCVBUF)?;
    println!(
        "socket 1: SO_RCVBUF {} (the kernel made it {effective}); sends {} requests of {} bytes, reads nothing",
        opts.rcvbuf,
        opts.requests,
        PAYLOAD.len()
    );
    for seq in 1..=opts.requests {
        silent.send_to(&request(seq, PAYLOAD), 0, 0)?;
    }
    // ANCHOR_END: silent

    // ANCHOR: barrier
    let barrier = open_client()?;
    let seq = opts.requests + 1;
    barrier.send_to(&request(seq, PAYLOAD), 0, 0)?;
    match read_answer(&barrier).context("socket 2")? {
        Answer::Reply { seq: got, .. } if got == seq => {
            println!(
                "socket 2: one request, its reply came: the module has answered every request of socket 1"
            );
        }
        other => bail!("socket 2: {other} instead of the reply to its request"),
    }
    // ANCHOR_END: barrier

    println!("socket 1 reads its queue to the end:");
    silent.set_recv_timeout(DRAINED)?;
    let (enobufs_first, received) = drain(&silent)?;
    let count = u32::try_from(received.len()).unwrap_or(u32::MAX);
    let lost = opts.requests.saturating_sub(count);
    let in_order = received.iter().copied().eq(1..=count);
    println!(
        "received {} replies (seq {}), {lost} lost",
        received.len(),
        match (received.first(), received.last()) {
            (Some(first), Some(last)) => format!("{first} to {last}"),
            _ => "none".to_string(),
        }
    );
    if lost == 0 {
        bail!("no reply was lost: the queue held all {}", opts.requests);
    }
    if !enobufs_first || !in_order {
        bail!("the loss did not show as ENOBUFS first, then the replies that fit, in order");
    }
    Ok(())
}

// ANCHOR: drain
/// Reads until the queue is empty: whether the first `recv()` failed with
/// `ENOBUFS`, and the sequence numbers of the replies, in arrival order.
fn drain(sock: &NlSocket) -> Result<(bool, Vec<u32>)> {
    let mut buf = vec![0u8; 8192];
    let mut enobufs_first = false;
    let mut received = Vec::new();
    for call in 1.. {
        match sock.recv(&mut buf) {
            Err(e) if e.errno == Errno(libc::ENOBUFS) => {
                println!(
                    "  recv {call}: ENOBUFS (105): the kernel dropped replies for this socket"
                );
                enobufs_first |= call == 1;
            }
            Err(e) if e.errno == Errno(libc::EAGAIN) => break,
            Err(e) => return Err(e.into()),
            Ok(got) => match parse_answer(&buf[..got.len])? {
                Answer::Reply { seq, payload, .. } if payload == PAYLOAD => {
                    println!("  recv {call}: the reply to request {seq}");
                    received.push(seq);
                }
                other => bail!("recv {call}: {other} instead of a reply"),
            },
        }
    }
    Ok((enobufs_first, received))
}
// ANCHOR_END: drain

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn options_have_defaults_and_limits() {
        assert_eq!(
            parse_args(&[]).unwrap(),
            Options {
                requests: 16,
                rcvbuf: 1024
            }
        );
        let o = parse_args(&args("--requests 40 --rcvbuf 4096")).unwrap();
        assert_eq!((o.requests, o.rcvbuf), (40, 4096));
        assert!(parse_args(&args("--requests 0")).is_err());
        assert!(parse_args(&args("--rcvbuf")).is_err());
        assert!(parse_args(&args("--loud")).is_err());
    }
}
