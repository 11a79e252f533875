//! `ch09-hostile`: requests whose lengths lie, for the chapter 9 modules.
//!
//! ```text
//! ch09-hostile [--expect correct|leaky] [CASE...]
//! ```
//!
//! Each case sends one datagram and prints what it sent and what came back:
//! a reply and its length, a refusal and its errno, or nothing. Bytes that
//! the module adds are counted, never shown: they are kernel memory.
//!
//! - `--expect correct` (the default): the fixed design's answers
//!   (`deferred_reply.ko`): each request's own payload back, every lie
//!   refused with its errno.
//! - `--expect leaky`: the tutorial's `memcpy(str, NLMSG_DATA(nlh), 100)`
//!   (`copy_100.ko`): one 100-byte reply to every datagram.
//!
//! Without CASE names every case runs. Exit status 0 only if every case got
//! what was expected and nothing else arrived; 2 for a usage error.

use nlbook_common::UsageError;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ch09_deferred_work::answer::{Answer, read_answer};
use ch09_deferred_work::hostile::{CASE_NAMES, Case, Expect, cases, describe, judge};
use ch09_deferred_work::open_client;
use nlbook_common::{NlSocket, exit_code};

const PROGRAM: &str = "ch09-hostile";
const USAGE: &str = "usage: ch09-hostile [--expect correct|leaky] [CASE...]";

/// After the last case: how long to watch for answers nobody asked for.
const LEFTOVER_WAIT: Duration = Duration::from_secs(1);

fn parse_args(args: &[String]) -> Result<(Expect, Vec<String>), String> {
    let mut expect = Expect::Correct;
    let mut names = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--expect" => {
                expect = match it.next().map(String::as_str) {
                    Some("correct") => Expect::Correct,
                    Some("leaky") => Expect::Leaky,
                    _ => return Err("--expect needs `correct` or `leaky`".into()),
                }
            }
            name if CASE_NAMES.contains(&name) => names.push(name.to_owned()),
            other => {
                return Err(format!(
                    "no case `{other}`; the cases: {}",
                    CASE_NAMES.join(", ")
                ));
            }
        }
    }
    Ok((expect, names))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args) {
        Ok((expect, names)) => exit_code(PROGRAM, run(expect, &names)),
        Err(why) => exit_code(PROGRAM, Err(UsageError::new(why, USAGE))),
    }
}

fn run(expect: Expect, names: &[String]) -> Result<()> {
    let sock = open_client()?;
    println!(
        "{}",
        match expect {
            Expect::Correct => "expecting the fixed design: each payload back, each lie refused",
            Expect::Leaky => "expecting the tutorial's copy: 100 bytes back, whatever was sent",
        }
    );
    let mut wrong = Vec::new();
    for case in cases()
        .iter()
        .filter(|c| names.is_empty() || names.iter().any(|n| n == c.name))
    {
        if !run_case(&sock, case, expect)? {
            wrong.push(case.name);
        }
    }
    sock.set_recv_timeout(LEFTOVER_WAIT)?;
    match read_answer(&sock)? {
        Answer::Nothing => println!("nothing else arrived"),
        extra => {
            println!("WRONG: one more answer arrived: {extra}");
            wrong.push("(leftover)");
        }
    }
    if !wrong.is_empty() {
        bail!("wrong answers: {}", wrong.join(", "));
    }
    Ok(())
}

/// Send one case and judge its answers; `Ok(false)` if they were wrong.
fn run_case(sock: &NlSocket, case: &Case, expect: Expect) -> Result<bool> {
    let claimed = case
        .datagram
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_ne_bytes);
    println!(
        "{}: {} (nlmsg_len {}, datagram of {} bytes)",
        case.name,
        case.about,
        claimed.map_or("absent".to_owned(), |l| l.to_string()),
        case.datagram.len()
    );
    sock.send_to(&case.datagram, 0, 0)
        .with_context(|| format!("sending case {}", case.name))?;
    let mut answers = Vec::new();
    while answers.len() < case.answers_due(expect) {
        let answer = read_answer(sock).with_context(|| format!("case {}", case.name))?;
        let nothing = answer == Answer::Nothing;
        println!("  -> {}", describe(case, &answer));
        answers.push(answer);
        if nothing {
            break;
        }
    }
    Ok(match judge(case, expect, &answers) {
        Ok(()) => {
            println!("  ok");
            true
        }
        Err(why) => {
            println!("  WRONG: {why}");
            false
        }
    })
}
