//! `ch09-flood`: many requests from several clients at once, for the
//! chapter 9 modules.
//!
//! ```text
//! ch09-flood [--clients N] [--messages N] [--window N] [--dontwait]
//! ```
//!
//! Each client is a thread with a socket of its own. It sends `--messages`
//! requests (default 1000) of 1 to 100 bytes, keeping at most `--window`
//! (default 32) unanswered, and checks that the replies come in order, each
//! with its request's sequence number and exactly its payload. The window
//! keeps the replies within the client's receive buffer: the module's
//! replies never wait, so a full buffer would lose them.
//!
//! `--dontwait` sends with `MSG_DONTWAIT`: a send that must never block.
//!
//! The report is totals only, the same on every run. It counts the `send()`
//! calls that took 1 s or more: with the fixed module none does. Exit
//! status 0 only if every request got its reply; 2 for a usage error.

use nlbook_common::UsageError;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use ch09_deferred_work::answer::{Answer, read_answer};
use ch09_deferred_work::flood::{ClientTotals, payload, summary};
use ch09_deferred_work::request::request;
use ch09_deferred_work::{STALL, count_option, open_client, send_dontwait};
use nlbook_common::{NlSocket, exit_code};

const PROGRAM: &str = "ch09-flood";
const USAGE: &str = "usage: ch09-flood [--clients N] [--messages N] [--window N] [--dontwait]";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Options {
    clients: usize,
    messages: usize,
    window: usize,
    dontwait: bool,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut opts = Options {
        clients: 4,
        messages: 1000,
        window: 32,
        dontwait: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--clients" => opts.clients = count_option(&mut it, "--clients", 64)?,
            "--messages" => opts.messages = count_option(&mut it, "--messages", 1_000_000)?,
            "--window" => opts.window = count_option(&mut it, "--window", 256)?,
            "--dontwait" => opts.dontwait = true,
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
    println!(
        "{} clients, {} requests each, at most {} unanswered per client{}",
        opts.clients,
        opts.messages,
        opts.window,
        if opts.dontwait {
            ", sent with MSG_DONTWAIT"
        } else {
            ""
        }
    );
    // Every socket before any thread: a missing module is one clear error.
    let sockets = (0..opts.clients)
        .map(|_| open_client())
        .collect::<Result<Vec<_>>>()?;
    let results: Vec<Result<ClientTotals>> = std::thread::scope(|scope| {
        let handles: Vec<_> = sockets
            .iter()
            .enumerate()
            .map(|(client, sock)| scope.spawn(move || run_client(sock, client, opts)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("a client thread panicked")))
            })
            .collect()
    });
    let mut totals = Vec::new();
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(t) => totals.push(t),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("; "));
    }
    print!("{}", summary(opts.clients, &totals));
    Ok(())
}

fn seq_of(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

// ANCHOR: client
fn run_client(sock: &NlSocket, client: usize, opts: Options) -> Result<ClientTotals> {
    let mut totals = ClientTotals::default();
    while totals.matched < opts.messages {
        // Keep the window full, then wait for the oldest reply.
        while totals.sent < opts.messages && totals.sent - totals.matched < opts.window {
            let datagram = request(seq_of(totals.sent), &payload(client, totals.sent));
            let started = Instant::now();
            if opts.dontwait {
                send_dontwait(sock, &datagram)?;
            } else {
                sock.send_to(&datagram, 0, 0)?;
            }
            if started.elapsed() >= STALL {
                totals.stalled_sends += 1;
            }
            totals.sent += 1;
        }
        let index = totals.matched;
        let context = || format!("client {client}, request {index}");
        match read_answer(sock).with_context(context)? {
            Answer::Reply {
                seq, payload: p, ..
            } if seq == seq_of(index) && p == payload(client, index) => {
                totals.matched += 1;
            }
            Answer::Reply {
                seq, payload: p, ..
            } => bail!(
                "{}: a reply with seq {seq} and {} bytes; expected seq {} and {} bytes",
                context(),
                p.len(),
                seq_of(index),
                payload(client, index).len()
            ),
            Answer::Nothing => bail!(
                "{}: no reply within {} s",
                context(),
                ch09_deferred_work::ANSWER_TIMEOUT.as_secs()
            ),
            other => bail!("{}: {other} instead of a reply", context()),
        }
    }
    Ok(totals)
}
// ANCHOR_END: client

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn options_have_defaults_and_limits() {
        let d = parse_args(&[]).unwrap();
        assert_eq!(
            (d.clients, d.messages, d.window, d.dontwait),
            (4, 1000, 32, false)
        );
        let o = parse_args(&args("--clients 2 --messages 5 --dontwait")).unwrap();
        assert_eq!((o.clients, o.messages, o.dontwait), (2, 5, true));
        assert!(parse_args(&args("--clients 0")).is_err());
        assert!(parse_args(&args("--window")).is_err());
        assert!(parse_args(&args("--messages -3")).is_err());
        assert!(parse_args(&args("--fast")).is_err());
    }
}
