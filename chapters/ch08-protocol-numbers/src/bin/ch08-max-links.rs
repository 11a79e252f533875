//! `ch08-max-links`: the client of the `max_links` module. Protocols 30 and
//! 32 give the same error; 31 answers once the module is loaded.
//!
//! It needs the module, so it runs in the VM lab:
//!
//! ```text
//! cargo xtask lab --chapter ch08-protocol-numbers --test max-links
//! ```

use std::process::ExitCode;

use anyhow::Result;
use ch08_protocol_numbers::module::{self, Answer, PROTOCOL};
use ch08_protocol_numbers::numbers::{MAX_LINKS, outcome, probe};
use nlbook_common::exit_code;

const PROGRAM: &str = "ch08-max-links";
const MODULE: &str = "max_links.ko";
const LAB: &str = "cargo xtask lab --chapter ch08-protocol-numbers --test max-links";

fn main() -> ExitCode {
    if let Err(usage) = nlbook_common::no_arguments(PROGRAM) {
        return nlbook_common::exit_code(PROGRAM, Err(usage));
    }
    exit_code(PROGRAM, run())
}

fn run() -> Result<()> {
    // ANCHOR: neighbours
    // Nothing registers 30 here; 32 is past nl_table. Same errno for both.
    for protocol in [PROTOCOL - 1, MAX_LINKS] {
        println!(
            "socket(AF_NETLINK, SOCK_RAW, {protocol}): {}",
            outcome(probe(protocol))
        );
    }
    // ANCHOR_END: neighbours
    // ANCHOR: talk
    let sock = module::open(MODULE, LAB)?;
    println!("socket(AF_NETLINK, SOCK_RAW, {PROTOCOL}): registered");
    for (seq, text) in [(1, "hello, 31"), (2, "")] {
        let shown = match module::ask(&sock, text, seq)? {
            Answer::Text(answer) => format!("\"{answer}\""),
            Answer::Error(errno) => format!("NLMSG_ERROR {errno}"),
        };
        println!("sent \"{text}\" (seq {seq}) to port 0; answer: {shown}");
    }
    // ANCHOR_END: talk
    Ok(())
}
