//! `ch08-claim-check CASE`: the graded checks of the exercise
//! `ch08-claim-a-number`, run in the VM lab with the student's `claim.ko`.
//!
//! - `serves`: protocol 31 answers a request, from port 0;
//! - `reasons`: the module's report of its attempts gives each refused
//!   number the right error code;
//! - `usersock`: NETLINK_USERSOCK's port 0 is still nobody's, so the module
//!   did not take a number user space owns.
//!
//! It prints what it found and exits 1 when the module is wrong.

use nlbook_common::UsageError;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use ch08_protocol_numbers::module::{self, Answer, PROTOCOL};
use nlbook_common::{Errno, NlSocket, exit_code, uapi::NLMSG_MIN_TYPE};

const PROGRAM: &str = "ch08-claim-check";
const MODULE: &str = "claim.ko";
const LAB: &str = "cargo xtask exercise ch08-claim-a-number";
const NETLINK_USERSOCK: i32 = 2;

// ANCHOR: expected
/// What the module must report, attempt by attempt: the number, and 0 or
/// the negative error code its claim gave.
const EXPECTED: [(i32, i32); 4] = [
    (32, -libc::EPROTONOSUPPORT), // not below MAX_LINKS
    (0, -libc::EBUSY),            // NETLINK_ROUTE: registered
    (2, -libc::EBUSY),            // NETLINK_USERSOCK: registered, no kernel socket
    (PROTOCOL, 0),                // free: claimed
];
// ANCHOR_END: expected

fn main() -> ExitCode {
    exit_code(PROGRAM, run())
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["serves"] => serves(),
        ["reasons"] => reasons(),
        ["usersock"] => usersock(),
        _ => Err(UsageError::new(
            "one case, please",
            &format!("usage: {PROGRAM} serves|reasons|usersock"),
        )
        .into()),
    }
}

/// The module's report, as text: "32:-93 0:-16 2:-16 31:0".
fn report() -> Result<String> {
    let sock = NlSocket::open(PROTOCOL).map_err(|e| {
        if e.errno == Errno(libc::EPROTONOSUPPORT) {
            anyhow::anyhow!(
                "{e}: nothing registered protocol {PROTOCOL}: {MODULE} did not claim it (its \
                 kernel log lists what each attempt gave), or it is not loaded (`{LAB}` loads it)"
            )
        } else {
            e.into()
        }
    })?;
    match module::ask(&sock, "report", 1)? {
        Answer::Text(text) => Ok(text),
        Answer::Error(errno) => bail!("protocol {PROTOCOL} answered NLMSG_ERROR {errno}"),
    }
}

fn serves() -> Result<()> {
    let text = report()?;
    println!("protocol {PROTOCOL} answered from port 0: \"{text}\"");
    Ok(())
}

/// "-93" as "EPROTONOSUPPORT (93)", "0" as "claimed".
fn shown(code: i32) -> String {
    match code {
        0 => "claimed".to_owned(),
        c => format!("-{}", Errno(c.saturating_neg())),
    }
}

fn parse(report: &str) -> Result<Vec<(i32, i32)>> {
    report
        .split_whitespace()
        .map(|item| {
            let (number, code) = item
                .split_once(':')
                .with_context(|| format!("`{item}` is not NUMBER:CODE"))?;
            Ok((
                number.parse().with_context(|| format!("in `{item}`"))?,
                code.parse().with_context(|| format!("in `{item}`"))?,
            ))
        })
        .collect()
}

fn reasons() -> Result<()> {
    let text = report()?;
    let got = parse(&text).with_context(|| format!("the report \"{text}\""))?;
    let mut wrong = 0;
    for i in 0..EXPECTED.len().max(got.len()) {
        let (want, have) = (EXPECTED.get(i), got.get(i));
        let verdict = if want == have { "ok" } else { "WRONG" };
        wrong += usize::from(want != have);
        let show = |entry: Option<&(i32, i32)>| {
            entry.map_or("(nothing)".to_owned(), |&(n, c)| {
                format!("{n}: {}", shown(c))
            })
        };
        println!(
            "attempt {}: expected {}, reported {}: {verdict}",
            i + 1,
            show(want),
            show(have)
        );
    }
    if wrong > 0 {
        bail!("{wrong} of the module's attempts are reported wrong");
    }
    Ok(())
}

// ANCHOR: usersock
fn usersock() -> Result<()> {
    let sock = NlSocket::open(NETLINK_USERSOCK)?;
    sock.bind(0, 0)?;
    let request = nlbook_common::MsgBuilder::new(NLMSG_MIN_TYPE, 0, 1)
        .fixed(b"anyone at port 0?")
        .finish()?;
    match sock.send_to(&request, 0, 0) {
        Err(e) if e.errno == Errno(libc::ECONNREFUSED) => {
            println!("NETLINK_USERSOCK, port 0: {} (nobody): ok", e.errno);
            Ok(())
        }
        Err(e) => Err(e.into()),
        Ok(_) => bail!(
            "NETLINK_USERSOCK, port 0: the send was taken: a kernel socket sits on \
             protocol {NETLINK_USERSOCK}, which belongs to user space"
        ),
    }
}
// ANCHOR_END: usersock
