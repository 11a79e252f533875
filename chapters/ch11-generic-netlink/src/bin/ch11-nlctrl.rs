//! `ch11-nlctrl`: ask the generic netlink controller, by hand, about
//! families, from a fresh network namespace.
//!
//! ```text
//! ch11-nlctrl list               every family nlctrl shows here, by name
//! ch11-nlctrl resolve NAME...    one family each: id, version, groups
//! ch11-nlctrl policy NAME[:OP]...  the attribute policies the kernel checks
//! ```
//!
//! Families that did not set `netnsok` exist only in the initial network
//! namespace: from a fresh one, `list` does not show them and `resolve`
//! answers ENOENT for them.

use nlbook_common::UsageError;
use std::process::ExitCode;

use anyhow::{Context, Result};
use ch11_generic_netlink::genl_socket::GenlSocket;
use ch11_generic_netlink::nlctrl::{get_family, list_families};
use ch11_generic_netlink::policy::get_policy;
use nlbook_common::{exit_code, in_fresh_netns};

const PROGRAM: &str = "ch11-nlctrl";
const USAGE: &str =
    "usage: ch11-nlctrl list | ch11-nlctrl resolve NAME... | ch11-nlctrl policy NAME[:OP]...";

fn main() -> ExitCode {
    exit_code(PROGRAM, run())
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        Some((cmd, [])) if cmd == "list" => in_fresh_netns(list)?,
        Some((cmd, names)) if cmd == "resolve" && !names.is_empty() => {
            in_fresh_netns(|| resolve(names))?
        }
        Some((cmd, targets)) if cmd == "policy" && !targets.is_empty() => {
            let targets = targets
                .iter()
                .map(|t| policy_target(t))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|why| UsageError::new(why, USAGE))?;
            in_fresh_netns(|| policies(&targets))?
        }
        _ => Err(UsageError::new("unexpected arguments", USAGE).into()),
    }
}

fn list() -> Result<()> {
    let sock = GenlSocket::open()?;
    let families = list_families(&sock).context("CTRL_CMD_GETFAMILY dump")?;
    println!(
        "{} generic netlink families in a fresh network namespace, by name:",
        families.len()
    );
    for family in &families {
        println!("  {family}");
    }
    Ok(())
}

fn resolve(names: &[String]) -> Result<()> {
    let sock = GenlSocket::open()?;
    for name in names {
        let family = get_family(&sock, name).with_context(|| format!("resolving {name}"))?;
        println!("{family}");
    }
    Ok(())
}

/// `NAME` or `NAME:OP`, the operation as a number.
fn policy_target(arg: &str) -> Result<(String, Option<u32>), String> {
    match arg.split_once(':') {
        None => Ok((arg.to_owned(), None)),
        Some((name, op)) => op
            .parse()
            .map(|op| (name.to_owned(), Some(op)))
            .map_err(|_| format!("`{arg}`: the operation after `:` is a number")),
    }
}

// ANCHOR: policies
fn policies(targets: &[(String, Option<u32>)]) -> Result<()> {
    let sock = GenlSocket::open()?;
    for (name, op) in targets {
        let policies =
            get_policy(&sock, name, *op).with_context(|| format!("CTRL_CMD_GETPOLICY {name}"))?;
        match op {
            Some(op) => println!("{name}, operation {op}:"),
            None => println!("{name}, every operation:"),
        }
        print!("{policies}");
    }
    Ok(())
}
// ANCHOR_END: policies
