//! `ch11-nlctrl`: ask the generic netlink controller, by hand, about
//! families, from a fresh network namespace.
//!
//! ```text
//! ch11-nlctrl list               every family nlctrl shows here, by name
//! ch11-nlctrl resolve NAME...    one family each: id, version, groups
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
use nlbook_common::{exit_code, in_fresh_netns};

const PROGRAM: &str = "ch11-nlctrl";
const USAGE: &str = "usage: ch11-nlctrl list | ch11-nlctrl resolve NAME...";

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
