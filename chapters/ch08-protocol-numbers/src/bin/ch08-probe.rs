//! `ch08-probe`: `socket(AF_NETLINK, SOCK_RAW, p)` for every protocol
//! number p of a range (default 0 to 33), and what the kernel answered.
//!
//! ```text
//! cargo xtask demo ch08 ch08-probe            # 0 to 33
//! cargo xtask demo ch08 ch08-probe -- 28 33   # a range of your choice
//! ```
//!
//! The answer depends on the kernel's configuration (which families are
//! built in, which modules are loaded), not on privileges or the network
//! namespace: `nl_table` is one table for the whole machine.

use nlbook_common::UsageError;
use std::process::ExitCode;

use anyhow::Result;
use ch08_protocol_numbers::numbers::{Range, label, outcome, probe};
use nlbook_common::exit_code;

const PROGRAM: &str = "ch08-probe";

fn main() -> ExitCode {
    exit_code(PROGRAM, run())
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let range = Range::from_args(&args).map_err(|bad| UsageError {
        message: bad.to_string(),
    })?;
    println!(
        "socket(AF_NETLINK, SOCK_RAW, protocol) for protocols {} to {}",
        range.first, range.last
    );
    println!("{:<9} {:<16} socket()", "protocol", "netlink.h");
    // ANCHOR: loop
    let mut registered = Vec::new();
    let mut unsupported = Vec::new();
    for protocol in range.numbers() {
        let result = probe(protocol);
        println!("{protocol:<9} {:<16} {}", label(protocol), outcome(result));
        match result {
            Ok(()) => registered.push(protocol),
            Err(errno) if errno.0 == libc::EPROTONOSUPPORT => unsupported.push(protocol),
            Err(_) => {}
        }
    }
    // ANCHOR_END: loop
    let list = |numbers: &[i32]| {
        if numbers.is_empty() {
            "none".to_owned()
        } else {
            numbers
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        }
    };
    println!("registered: {}", list(&registered));
    println!("EPROTONOSUPPORT: {}", list(&unsupported));
    Ok(())
}
