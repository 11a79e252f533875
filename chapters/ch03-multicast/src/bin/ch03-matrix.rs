//! `ch03-matrix`: who may join a netlink multicast group, and who may send
//! to one, on the running kernel. For five families, as root, as a plain
//! user (uid 65534), and as that plain user inside user and network
//! namespaces of its own (what `unshare -Urn` gives), it tries three
//! things on fresh sockets and prints what the kernel answered:
//!
//! - join the group with `bind()` and the group's bit in `nl_groups`;
//! - join it with `setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP)`;
//! - send a message to it with `sendto()`.
//!
//! It starts as root and drops privileges in child processes. The answers
//! depend on the kernel, so the book shows its runs in the VM lab:
//!
//! ```text
//! cargo xtask lab --chapter ch03 --test matrix
//! ```

use std::process::ExitCode;

use anyhow::{Result, bail};
use ch03_multicast::identity::{Identity, IdentityError, has_cap_net_admin, run_as, uid};
use ch03_multicast::matrix::{Column, FAMILIES, Facts, Row, decode, encode, probe, table};
use nlbook_common::exit_code;

const PROGRAM: &str = "ch03-matrix";

fn main() -> ExitCode {
    if let Err(usage) = nlbook_common::no_arguments(PROGRAM) {
        return nlbook_common::exit_code(PROGRAM, Err(usage));
    }
    exit_code(PROGRAM, run())
}

fn run() -> Result<()> {
    let mut columns = Vec::new();
    for identity in Identity::ALL {
        // In a child process: the probes run with that identity's
        // credentials and namespaces, then report through a pipe.
        let report = run_as(identity, || {
            let facts = Facts {
                uid: uid(),
                cap_net_admin: has_cap_net_admin()?,
            };
            let rows: Vec<Row> = FAMILIES.iter().map(probe).collect();
            Ok(encode(facts, &rows))
        });
        let result = match report {
            Ok(text) => decode(&text),
            Err(e @ IdentityError::NotRoot(_)) => return Err(e.into()),
            Err(e) => Err(e.to_string()),
        };
        columns.push(Column {
            label: identity.label(),
            result,
        });
    }
    println!("who may join a multicast group, and who may send to one");
    print!("{}", table(&columns));
    if let Some(failed) = columns.iter().find(|c| c.result.is_err()) {
        bail!("the probes did not run as {}", failed.label);
    }
    Ok(())
}
