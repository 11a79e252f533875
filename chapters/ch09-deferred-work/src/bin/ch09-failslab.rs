//! `ch09-failslab`: one failed allocation in a chapter 9 module's reply
//! thread, and what the module does about it.
//!
//! ```text
//! ch09-failslab --thread NAME
//! ```
//!
//! NAME is the module's kernel thread (`nlbook_deferred` for the fixed
//! design, `nlbook_nocheck` for the tutorial's unchecked `alloc_skb()`).
//! The client sends a request and gets its reply; makes the thread's next
//! slab allocation fail with failslab (see `ch09_deferred_work::failslab`);
//! sends a second request, whose reply cannot be built; disarms; and sends a
//! third. The fixed module loses one reply, counts it, and answers the
//! third; the unchecked one dereferences NULL and its thread dies, so
//! nothing is answered again.
//!
//! Runs as root on a kernel with failslab: the lab's debug kernel. Exit
//! status 0 if the module answered after the failure, 1 if not (or on any
//! error), 2 for a usage error.

use nlbook_common::UsageError;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ch09_deferred_work::answer::{Answer, read_answer};
use ch09_deferred_work::failslab::{Failslab, pid_of};
use ch09_deferred_work::open_client;
use ch09_deferred_work::request::request;
use nlbook_common::{NlSocket, exit_code};

const PROGRAM: &str = "ch09-failslab";
const USAGE: &str = "usage: ch09-failslab --thread NAME";

/// A reply the module owes comes in milliseconds; one that has not come
/// after this long is not coming.
const REPLY_WAIT: Duration = Duration::from_secs(2);

fn parse_args(args: &[String]) -> Result<String, String> {
    match args {
        [flag, name] if flag == "--thread" && !name.is_empty() => Ok(name.clone()),
        _ => Err("expected --thread NAME".into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args) {
        Ok(thread) => exit_code(PROGRAM, run(&thread)),
        Err(why) => exit_code(PROGRAM, Err(UsageError::new(why, USAGE))),
    }
}

/// Sends request `seq` and says what came back within [`REPLY_WAIT`].
fn ask(sock: &NlSocket, seq: u32) -> Result<bool> {
    let payload = format!("request {seq}");
    sock.send_to(&request(seq, payload.as_bytes()), 0, 0)?;
    let answer = read_answer(sock).with_context(|| format!("request {seq}"))?;
    let answered = match &answer {
        Answer::Reply {
            seq: got,
            payload: p,
            ..
        } if *got == seq && p == payload.as_bytes() => true,
        Answer::Nothing => false,
        other => bail!("request {seq}: {other}, not its reply"),
    };
    if answered {
        println!("request {seq}: answered, {} bytes back", payload.len());
    } else {
        println!("request {seq}: no reply within {} s", REPLY_WAIT.as_secs());
    }
    Ok(answered)
}

// ANCHOR: run
fn run(thread: &str) -> Result<()> {
    let sock = open_client()?;
    sock.set_recv_timeout(REPLY_WAIT)
        .context("setting the reply timeout")?;
    let pid = pid_of("/proc".as_ref(), thread)?
        .with_context(|| format!("no kernel thread named {thread}: is its module loaded?"))?;
    println!("the module's reply thread: {thread}");
    if !ask(&sock, 1)? {
        bail!("the module did not answer before any fault was injected");
    }

    let failslab = Failslab::open()?;
    failslab.fail_next_allocation_of(pid)?;
    println!("failslab armed: the next slab allocation of {thread} fails");
    let second = ask(&sock, 2);
    let left = failslab.failures_left();
    failslab.disarm(pid)?;
    if second? {
        bail!("request 2 was answered: no allocation failed (is failslab working?)");
    }
    match left? {
        0 => println!("failslab: the failure was injected, and disarmed"),
        n => bail!("failslab still has {n} failure(s) to inject: the thread allocated nothing"),
    }

    let third = ask(&sock, 3)?;
    let alive = pid_of("/proc".as_ref(), thread)?.is_some();
    println!(
        "kernel thread {thread}: {}",
        if alive { "running" } else { "gone" }
    );
    if !third {
        bail!("the module stopped answering after one failed allocation");
    }
    Ok(())
}
// ANCHOR_END: run

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_exactly_a_thread_name() {
        let args = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            parse_args(&args("--thread nlbook_deferred")),
            Ok("nlbook_deferred".to_string())
        );
        assert!(parse_args(&args("")).is_err());
        assert!(parse_args(&args("--thread")).is_err());
        assert!(parse_args(&args("--thread a b")).is_err());
    }
}
