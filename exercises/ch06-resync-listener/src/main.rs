//! Given: the program the lab's judge starts. You do not change this file;
//! the grader uses its own copy.
//!
//! It starts a [`Listener`] with a small receive buffer and answers the
//! judge on standard input and output, one line each:
//!
//! ```text
//! (at start)  ready ADDRS
//! read        up-to-date ADDRS   (nothing was lost)
//!             resynced ADDRS     (events were lost; the table was rebuilt)
//! (anything fails)  error WHAT, and exit status 1
//! ```
//!
//! ADDRS is the table, sorted, space-separated (`10.6.1.7/32@1`). It ends
//! when its standard input ends.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::process::ExitCode;

use ch06_resync_listener::route::Addr;
use ch06_resync_listener::{Listener, Round};

/// The floor: two or three events fit, so a burst loses the rest.
const RCVBUF: i32 = 1024;

fn show(table: &BTreeSet<Addr>) -> String {
    let addrs: Vec<String> = table.iter().map(Addr::to_string).collect();
    addrs.join(" ")
}

fn main() -> ExitCode {
    let mut listener = match Listener::start(RCVBUF) {
        Ok(l) => l,
        Err(e) => {
            println!("error starting: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("ready {}", show(listener.table()));
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() != "read" {
            println!("error: the judge said {line:?}, not \"read\"");
            return ExitCode::FAILURE;
        }
        match listener.read_queued() {
            Ok(Round::UpToDate) => println!("up-to-date {}", show(listener.table())),
            Ok(Round::Resynced) => println!("resynced {}", show(listener.table())),
            Err(e) => {
                println!("error reading: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
