//! `ch04-inspect`: every netlink socket of this network namespace, as the
//! kernel's `netlink_diag` describes them over `NETLINK_SOCK_DIAG`, beside
//! `/proc/net/netlink`. Raw libc calls.
//!
//! ```text
//! ch04-inspect           the sockets of the namespace this runs in
//! ch04-inspect --demo    a fresh namespace with sockets of known roles
//! ```
//!
//! The demo needs CAP_SYS_ADMIN for its namespace (root, or `unshare -Urn`).

use nlbook_common::UsageError;
use std::process::ExitCode;

use anyhow::Result;
use ch04_nl_table::{demo, inspect, procfs};
use nlbook_common::exit_code;

const PROGRAM: &str = "ch04-inspect";
const USAGE: &str = "usage: ch04-inspect [--demo]";

fn main() -> ExitCode {
    exit_code(PROGRAM, run().map(|text| print!("{text}")))
}

fn run() -> Result<String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => {
            let dump = inspect::dump_raw()?;
            Ok(inspect::live_report(&dump, &procfs::read()?))
        }
        [flag] if flag == "--demo" => demo::run(inspect::dump_raw),
        _ => Err(UsageError::new("unexpected arguments", USAGE).into()),
    }
}
