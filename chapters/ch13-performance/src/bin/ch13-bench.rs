//! `ch13-bench`: one run of one benchmark case, in one Rust implementation.
//!
//! ```text
//! ch13-bench --impl raw|neli|rust-netlink --case CASE --messages N
//! ```
//!
//! Cases: mcast-1, mcast-4, pingpong, kernel-getlink, recv-single,
//! recv-batched. Prints one line, the same the C reference prints:
//!
//! ```text
//! impl=raw case=mcast-1 messages=N elapsed_ns=T delivered=D drops=L overruns=O
//! ```
//!
//! Runs in a fresh network namespace (root, or `unshare -Urn`). Meant to be
//! run by `cargo xtask bench`, which builds it in release mode and
//! alternates it with the other implementations.

use nlbook_common::UsageError;
use std::process::ExitCode;

use anyhow::Result;
use ch13_performance::raw::Raw;
use ch13_performance::with_neli::Neli;
use ch13_performance::with_rust_netlink::RustNetlink;
use ch13_performance::{Case, Impl, result_line, run_in_fresh_netns};
use nlbook_common::exit_code;

const PROGRAM: &str = "ch13-bench";
const USAGE: &str = "usage: ch13-bench --impl raw|neli|rust-netlink --case CASE --messages N";

#[derive(Debug, PartialEq, Eq)]
struct Args {
    implementation: Impl,
    case: Case,
    messages: u64,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let (mut implementation, mut case, mut messages) = (None, None, None);
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--impl" => {
                implementation = Some(match value.as_str() {
                    "raw" => Impl::Raw,
                    "neli" => Impl::Neli,
                    "rust-netlink" => Impl::RustNetlink,
                    other => {
                        return Err(format!("--impl: raw, neli or rust-netlink, not {other}"));
                    }
                })
            }
            "--case" => {
                case = Some(Case::from_name(value).ok_or_else(|| {
                    let names: Vec<_> = Case::ALL.iter().map(|c| c.name()).collect();
                    format!("--case: one of {}, not {value}", names.join(", "))
                })?)
            }
            "--messages" => {
                messages = Some(
                    value
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("--messages: not a positive count: {value}"))?,
                )
            }
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    match (implementation, case, messages) {
        (Some(implementation), Some(case), Some(messages)) => Ok(Args {
            implementation,
            case,
            messages,
        }),
        _ => Err(USAGE.to_owned()),
    }
}

fn run(args: &Args) -> Result<()> {
    let outcome = match args.implementation {
        Impl::Raw => run_in_fresh_netns::<Raw>(args.case, args.messages)?,
        Impl::Neli => run_in_fresh_netns::<Neli>(args.case, args.messages)?,
        Impl::RustNetlink => run_in_fresh_netns::<RustNetlink>(args.case, args.messages)?,
    };
    println!(
        "{}",
        result_line(
            args.implementation.name(),
            args.case,
            args.messages,
            &outcome
        )
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args) {
        Ok(args) => exit_code(PROGRAM, run(&args)),
        Err(msg) => exit_code(PROGRAM, Err(UsageError { message: msg })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options() {
        assert_eq!(
            parse_args(&strings(&[
                "--impl",
                "neli",
                "--case",
                "pingpong",
                "--messages",
                "5"
            ])),
            Ok(Args {
                implementation: Impl::Neli,
                case: Case::PingPong,
                messages: 5
            })
        );
        assert!(parse_args(&strings(&["--impl", "c"])).is_err());
        assert!(
            parse_args(&strings(&[
                "--impl",
                "raw",
                "--case",
                "x",
                "--messages",
                "5"
            ]))
            .is_err()
        );
        assert!(
            parse_args(&strings(&[
                "--impl",
                "raw",
                "--case",
                "mcast-1",
                "--messages",
                "0"
            ]))
            .is_err()
        );
        assert!(parse_args(&strings(&["--impl", "raw", "--case", "mcast-1"])).is_err());
    }
}
