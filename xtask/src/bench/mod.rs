//! `cargo xtask bench`: chapter 13's benchmark. The C reference
//! (`chapters/ch13-performance/c/netlink_bench.c`, gcc -O2) and the three Rust
//! implementations (`ch13-bench --impl raw|neli|rust-netlink`, release build) run each
//! case in turn, in a rotating order, for several rounds; the report gives
//! medians and, for each Rust implementation, the median of its per-round
//! ratios to C, measured side by side. Each implementation of each case
//! also runs once under `strace -f -c`, which counts its system calls.
//!
//! A full run writes `book/src/perf/bench-results.json`, then renders the
//! chapter's table (`bench-table.md`) and plot (`bench-ratios.svg`) from
//! that file. `--smoke` runs tiny counts, checks every result line, and
//! writes under `target/bench/smoke/` only.

mod programs;
mod report;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;

use crate::{process, workspace};
pub use programs::strace_calls;
use programs::{RunLine, build};
use report::write_results;
pub use report::{
    BenchResults, CaseResult, ImplResult, markdown_table, render_from_file, svg_plot,
};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Rounds: each round runs every implementation of every case once.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=100))]
    rounds: u32,
    /// Tiny message counts, one round; checks that every run gives a sane
    /// result and keeps the committed results untouched.
    #[arg(long)]
    smoke: bool,
}

/// The implementations, C first: the ratios are to it.
pub const IMPLS: [&str; 4] = ["c", "raw", "neli", "rust-netlink"];

/// A case: its name (as the programs take it), what one unit is, and the
/// message counts of a full run, of a strace count, and of a smoke run.
struct CaseSpec {
    name: &'static str,
    unit: &'static str,
    what: &'static str,
    messages: u64,
    strace_messages: u64,
    smoke_messages: u64,
}

const CASES: [CaseSpec; 7] = [
    CaseSpec {
        name: "mcast-1",
        unit: "msg/s",
        what: "USERSOCK multicast, 1 sender -> 1 receiver",
        messages: 200_000,
        strace_messages: 20_000,
        smoke_messages: 300,
    },
    CaseSpec {
        name: "mcast-4",
        unit: "msg/s",
        what: "USERSOCK multicast, 1 sender -> 4 receivers (messages sent)",
        messages: 200_000,
        strace_messages: 20_000,
        smoke_messages: 300,
    },
    CaseSpec {
        name: "pingpong",
        unit: "round trips/s",
        what: "USERSOCK unicast ping-pong between two sockets",
        messages: 100_000,
        strace_messages: 20_000,
        smoke_messages: 300,
    },
    CaseSpec {
        name: "kernel-getlink",
        unit: "round trips/s",
        what: "RTM_GETLINK for lo, answered by the kernel",
        messages: 100_000,
        strace_messages: 20_000,
        smoke_messages: 300,
    },
    CaseSpec {
        name: "recv-single",
        unit: "msg/s",
        what: "unicast stream, 1 message per datagram",
        messages: 200_000,
        strace_messages: 20_000,
        smoke_messages: 300,
    },
    CaseSpec {
        name: "recv-batched",
        unit: "msg/s",
        what: "unicast stream, 64 messages per datagram",
        messages: 16_000_000,
        strace_messages: 640_000,
        smoke_messages: 6_400,
    },
    CaseSpec {
        name: "codec",
        unit: "msg/s",
        what: "no socket: recv-batched's datagrams written and read back in memory",
        messages: 32_000_000,
        strace_messages: 640_000,
        smoke_messages: 6_400,
    },
];

/// Where the committed results live, and where a smoke run writes.
fn output_dir(smoke: bool) -> PathBuf {
    if smoke {
        crate::cache_dir().join("bench/smoke")
    } else {
        workspace::root().join("book/src/perf")
    }
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let rounds = if args.smoke { 1 } else { args.rounds };
    let results = measure(args.smoke, rounds)?;
    let dir = output_dir(args.smoke);
    let json = write_results(&dir, &results)?;
    let (table, plot) = render_from_file(&json)?;
    println!("\n{}", std::fs::read_to_string(&table)?);
    println!(
        "results: {}\ntable:   {}\nplot:    {}",
        json.display(),
        table.display(),
        plot.display()
    );
    Ok(())
}

/// `cargo xtask test`'s step: a smoke run, one check per implementation
/// and case, each a sane result line with no drops. No ratio is judged.
pub fn smoke_check() -> Result<(usize, usize)> {
    let results = measure(true, 1)?;
    write_results(&output_dir(true), &results)?;
    let (mut passed, mut failed) = (0, 0);
    for case in &results.cases {
        for r in &case.implementations {
            let sane = r.rates.iter().all(|rate| rate.is_finite() && *rate > 0.0)
                && r.drops == 0
                && r.syscalls_per_unit > 0.0;
            if sane {
                passed += 1;
            } else {
                eprintln!(
                    "bench smoke: {} {}: rates {:?}, drops {}, syscalls/unit {}",
                    r.implementation, case.case, r.rates, r.drops, r.syscalls_per_unit
                );
                failed += 1;
            }
        }
    }
    Ok((passed, failed))
}

/// The median; the mean of the middle two for an even count.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match (sorted.get(n.wrapping_sub(1) / 2), sorted.get(n / 2)) {
        (Some(low), Some(high)) => (low + high) / 2.0,
        _ => f64::NAN,
    }
}

fn measure(smoke: bool, rounds: u32) -> Result<BenchResults> {
    let programs = build()?;
    // (case, implementation) -> one line per round.
    let mut runs: BTreeMap<(&'static str, &'static str), Vec<RunLine>> = BTreeMap::new();
    for round in 0..rounds {
        eprintln!("==> round {}/{rounds}", round + 1);
        for (c, case) in CASES.iter().enumerate() {
            let messages = if smoke {
                case.smoke_messages
            } else {
                case.messages
            };
            // A different implementation goes first in each round, so that
            // none always runs right after the same neighbour.
            let first = (round as usize + c) % IMPLS.len();
            for implementation in IMPLS.iter().cycle().skip(first).take(IMPLS.len()) {
                let line = programs.run_once(implementation, case.name, messages)?;
                eprintln!(
                    "    {:<15} {:<12} {:>12.0} {}{}",
                    case.name,
                    implementation,
                    line.rate(),
                    case.unit,
                    if line.drops > 0 {
                        format!("  ({} DROPPED)", line.drops)
                    } else {
                        String::new()
                    }
                );
                runs.entry((case.name, implementation))
                    .or_default()
                    .push(line);
            }
        }
    }
    eprintln!("==> counting system calls (strace -f -c, one run each)");
    let mut cases = Vec::new();
    for case in CASES {
        let strace_messages = if smoke {
            case.smoke_messages
        } else {
            case.strace_messages
        };
        let lines = |implementation: &'static str| -> &[RunLine] {
            runs.get(&(case.name, implementation))
                .map(Vec::as_slice)
                .unwrap_or_default()
        };
        let c_rates: Vec<f64> = lines("c").iter().map(RunLine::rate).collect();
        let mut implementations = Vec::new();
        for implementation in IMPLS {
            let rates: Vec<f64> = lines(implementation).iter().map(RunLine::rate).collect();
            let ratios: Vec<f64> = rates.iter().zip(&c_rates).map(|(r, c)| r / c).collect();
            let (syscalls, data) =
                programs.count_syscalls(implementation, case.name, strace_messages)?;
            implementations.push(ImplResult {
                implementation: implementation.to_string(),
                median_rate: median(&rates),
                ratio_to_c: median(&ratios),
                drops: lines(implementation).iter().map(|l| l.drops).sum(),
                overruns: lines(implementation).iter().map(|l| l.overruns).sum(),
                rates,
                syscalls_per_unit: syscalls,
                data_syscalls_per_unit: data,
            });
        }
        cases.push(CaseResult {
            case: case.name.to_owned(),
            what: case.what.to_owned(),
            unit: case.unit.to_owned(),
            messages: if smoke {
                case.smoke_messages
            } else {
                case.messages
            },
            strace_messages,
            implementations,
        });
    }
    Ok(BenchResults {
        date: process::output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))?
            .trim()
            .to_owned(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")?
            .trim()
            .to_owned(),
        cpu: cpu_model(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        rounds,
        cases,
    })
}

pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .and_then(|rest| rest.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
