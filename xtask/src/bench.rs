//! `cargo xtask bench`: chapter 13's benchmark. The C reference
//! (`chapters/ch13-performance/c/netlink_bench.c`, gcc -O2) and the two Rust
//! implementations (`ch13-bench --impl raw|neli`, release build) run each
//! case in turn, in a rotating order, for several rounds; the report gives
//! medians and, for each Rust implementation, the median of its per-round
//! ratios to C, measured side by side. Each implementation of each case
//! also runs once under `strace -f -c`, which counts its system calls.
//!
//! A full run writes `book/src/perf/bench-results.json`, then renders the
//! chapter's table (`bench-table.md`) and plot (`bench-ratios.svg`) from
//! that file. `--smoke` runs tiny counts, checks every result line, and
//! writes under `target/bench/smoke/` only.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::{process, provision, workspace};

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
pub const IMPLS: [&str; 3] = ["c", "raw", "neli"];

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

/// The line every implementation prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunLine {
    pub implementation: String,
    pub case: String,
    pub messages: u64,
    pub elapsed_ns: u64,
    pub delivered: u64,
    pub drops: u64,
    pub overruns: u64,
}

impl RunLine {
    /// Parses `impl=.. case=.. messages=.. elapsed_ns=.. delivered=.. drops=.. overruns=..`.
    pub fn parse(line: &str) -> Result<RunLine> {
        let fields: BTreeMap<&str, &str> = line
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let text = |key: &str| {
            fields
                .get(key)
                .copied()
                .with_context(|| format!("no `{key}=` in the result line `{line}`"))
        };
        let number = |key: &str| -> Result<u64> {
            let value = text(key)?;
            value
                .parse()
                .with_context(|| format!("`{key}={value}` is not a count in `{line}`"))
        };
        Ok(RunLine {
            implementation: text("impl")?.to_owned(),
            case: text("case")?.to_owned(),
            messages: number("messages")?,
            elapsed_ns: number("elapsed_ns")?,
            delivered: number("delivered")?,
            drops: number("drops")?,
            overruns: number("overruns")?,
        })
    }

    /// Units per second: messages sent (streams) or round trips.
    pub fn rate(&self) -> f64 {
        self.messages as f64 / (self.elapsed_ns.max(1) as f64 / 1e9)
    }

    /// Whether the line is what was asked for and looks like a real run:
    /// something delivered, time passed, nothing lost.
    pub fn check(&self, implementation: &str, case: &str, messages: u64) -> Result<()> {
        if self.implementation != implementation || self.case != case || self.messages != messages {
            bail!(
                "asked {implementation} {case} with {messages} messages, got {} {} with {}",
                self.implementation,
                self.case,
                self.messages
            );
        }
        if self.delivered == 0 || self.elapsed_ns == 0 {
            bail!("{implementation} {case}: nothing delivered, or no time passed");
        }
        Ok(())
    }
}

/// One implementation's numbers for one case.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ImplResult {
    pub implementation: String,
    /// Units per second, one per round, in round order.
    pub rates: Vec<f64>,
    pub median_rate: f64,
    /// Median of the per-round ratios rate / C's rate (1 for C).
    pub ratio_to_c: f64,
    /// Messages lost over all rounds (any is a flag: the rate is suspect).
    pub drops: u64,
    /// ENOBUFS errors seen over all rounds.
    pub overruns: u64,
    /// System calls per unit (message sent, or round trip), counted by
    /// `strace -f -c` over a whole run of `strace_messages`.
    pub syscalls_per_unit: f64,
    /// The same, only sendto/sendmsg/recvfrom/recvmsg: the data path.
    pub data_syscalls_per_unit: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CaseResult {
    pub case: String,
    pub what: String,
    pub unit: String,
    pub messages: u64,
    pub strace_messages: u64,
    pub implementations: Vec<ImplResult>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BenchResults {
    /// UTC, when the run finished.
    pub date: String,
    pub kernel: String,
    pub cpu: String,
    pub cpus: usize,
    pub rounds: u32,
    pub cases: Vec<CaseResult>,
}

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

/// The programs, built: the C reference with gcc -O2, the Rust one with the
/// workspace's `bench-release` profile (a debug build measures the
/// compiler, not netlink; see Cargo.toml for why LTO).
struct Programs {
    c: PathBuf,
    rust: PathBuf,
}

fn build() -> Result<Programs> {
    provision::ensure_packages(&["gcc-12", "strace"])?;
    let root = workspace::root();
    let out = crate::cache_dir().join("bench");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let c = out.join("netlink_bench");
    eprintln!("==> building the C reference (gcc-12 -O2)");
    process::run(
        Command::new("gcc-12")
            .args(["-O2", "-Wall", "-Wextra", "-Werror", "-pthread", "-o"])
            .arg(&c)
            .arg(root.join("chapters/ch13-performance/c/netlink_bench.c")),
    )?;
    eprintln!("==> building ch13-bench (release, one codegen unit with LTO, like the one C file)");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    process::run(Command::new(cargo).current_dir(&root).args([
        "build",
        "--quiet",
        "--profile",
        "bench-release",
        "-p",
        "ch13-performance",
        "--bin",
        "ch13-bench",
    ]))?;
    Ok(Programs {
        c,
        rust: crate::cache_dir().join("bench-release/ch13-bench"),
    })
}

impl Programs {
    /// The command for one run; as a plain user, under `unshare -Urn`, which
    /// grants what the programs need (a network namespace, joining USERSOCK
    /// groups).
    fn command(&self, implementation: &str, case: &str, messages: u64) -> Result<Command> {
        let mut cmd = if implementation == "c" {
            Command::new(&self.c)
        } else {
            let mut cmd = Command::new(&self.rust);
            cmd.args(["--impl", implementation]);
            cmd
        };
        cmd.args(["--case", case, "--messages", &messages.to_string()]);
        process::with_network_namespace_rights(cmd)
    }

    fn run_once(&self, implementation: &str, case: &str, messages: u64) -> Result<RunLine> {
        let out = process::output(&mut self.command(implementation, case, messages)?)?;
        let line = RunLine::parse(out.trim())?;
        line.check(implementation, case, messages)?;
        Ok(line)
    }

    /// System calls per unit under `strace -f -c`: all of them, and the
    /// data path's.
    fn count_syscalls(
        &self,
        implementation: &str,
        case: &str,
        messages: u64,
    ) -> Result<(f64, f64)> {
        let summary = crate::cache_dir().join(format!("bench/strace-{implementation}-{case}.txt"));
        let inner = self.command(implementation, case, messages)?;
        let mut cmd = Command::new("strace");
        cmd.args(["-f", "-c", "-o"])
            .arg(&summary)
            .arg(inner.get_program())
            .args(inner.get_args());
        let out = process::output(&mut cmd)?;
        RunLine::parse(out.trim())?.check(implementation, case, messages)?;
        let text = std::fs::read_to_string(&summary)
            .with_context(|| format!("reading {}", summary.display()))?;
        let calls = strace_calls(&text)?;
        let total: u64 = calls.values().sum();
        let data: u64 = ["sendto", "sendmsg", "recvfrom", "recvmsg"]
            .iter()
            .filter_map(|name| calls.get(*name))
            .sum();
        Ok((
            total as f64 / messages as f64,
            data as f64 / messages as f64,
        ))
    }
}

/// The calls column of a `strace -c` summary, by system call.
pub fn strace_calls(summary: &str) -> Result<BTreeMap<String, u64>> {
    let mut calls = BTreeMap::new();
    for line in summary.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // "% time seconds usecs/call calls [errors] syscall"; the header,
        // the dashes and the total line do not start with a percentage
        // followed by three numbers and a name.
        let percentage = fields.first().map(|f| f.parse::<f64>());
        if fields.len() < 5 || !matches!(percentage, Some(Ok(_))) || fields.last() == Some(&"total")
        {
            continue;
        }
        let (Some(name), Some(Ok(count))) =
            (fields.last(), fields.get(3).map(|f| f.parse::<u64>()))
        else {
            continue;
        };
        calls.insert((*name).to_owned(), count);
    }
    if calls.is_empty() {
        bail!("no system call counts in strace's summary:\n{summary}");
    }
    Ok(calls)
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
                    "    {:<15} {:<5} {:>12.0} {}{}",
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

fn cpu_model() -> String {
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

fn write_results(dir: &Path, results: &BenchResults) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("bench-results.json");
    let mut json = serde_json::to_string_pretty(results)?;
    json.push('\n');
    std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Reads a results file and writes the table and the plot next to it.
pub fn render_from_file(json: &Path) -> Result<(PathBuf, PathBuf)> {
    let text =
        std::fs::read_to_string(json).with_context(|| format!("reading {}", json.display()))?;
    let results: BenchResults =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", json.display()))?;
    let dir = json.parent().unwrap_or(Path::new("."));
    let table = dir.join("bench-table.md");
    let plot = dir.join("bench-ratios.svg");
    std::fs::write(&table, markdown_table(&results))
        .with_context(|| format!("writing {}", table.display()))?;
    std::fs::write(&plot, svg_plot(&results))
        .with_context(|| format!("writing {}", plot.display()))?;
    Ok((table, plot))
}

fn thousands(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} M", rate / 1e6)
    } else {
        format!("{:.0} k", rate / 1e3)
    }
}

/// The chapter's table: one row per case and implementation.
pub fn markdown_table(results: &BenchResults) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Measured {} on Linux {}, {} ({} CPUs); medians of {} rounds, \
         ratios are the median of the per-round ratios to C.\n",
        results.date, results.kernel, results.cpu, results.cpus, results.rounds
    );
    s.push_str("| case | implementation | median rate | ratio to C | syscalls / unit (send+recv) | drops |\n");
    s.push_str("| --- | --- | ---: | ---: | ---: | ---: |\n");
    for case in &results.cases {
        for (n, r) in case.implementations.iter().enumerate() {
            let label = if n == 0 {
                format!("`{}`: {}", case.case, case.what)
            } else {
                String::new()
            };
            let drops = if r.drops > 0 {
                format!("**{} (flagged)**", r.drops)
            } else {
                "0".to_owned()
            };
            let _ = writeln!(
                s,
                "| {label} | {} | {} {} | {:.2} | {:.3} ({:.3}) | {drops} |",
                r.implementation,
                thousands(r.median_rate),
                case.unit,
                r.ratio_to_c,
                r.syscalls_per_unit,
                r.data_syscalls_per_unit,
            );
        }
    }
    s
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Horizontal bars: each Rust implementation's ratio to C, per case, with
/// the line at 1 (as fast as C) and the targets (0.95 raw, 0.9 neli).
/// Plain SVG text: no plotting crate for a dozen rectangles.
pub fn svg_plot(results: &BenchResults) -> String {
    const LEFT: f64 = 150.0;
    const WIDTH: f64 = 460.0;
    const BAR: f64 = 14.0;
    const ROW: f64 = 2.0 * BAR + 14.0;
    const TOP: f64 = 40.0;
    const MAX_RATIO: f64 = 1.3;
    let colours = [("raw", "#4477aa"), ("neli", "#ee6677")];
    let x = |ratio: f64| LEFT + WIDTH * (ratio.clamp(0.0, MAX_RATIO) / MAX_RATIO);
    let height = TOP + ROW * results.cases.len() as f64 + 40.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {height}\" width=\"{w}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\" role=\"img\" aria-label=\"Rust implementations' throughput as a ratio to C, per case\">",
        w = LEFT + WIDTH + 60.0
    );
    let _ = writeln!(
        s,
        "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n<text x=\"{LEFT}\" y=\"16\" font-weight=\"bold\">Throughput as a ratio to C (1 = as fast as C; {} rounds, medians)</text>",
        results.rounds
    );
    for (n, (name, colour)) in colours.iter().enumerate() {
        let lx = LEFT + n as f64 * 90.0;
        let _ = writeln!(
            s,
            "<rect x=\"{lx}\" y=\"24\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{}\" y=\"33\">{name}</text>",
            lx + 14.0
        );
    }
    let bottom = TOP + ROW * results.cases.len() as f64;
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0, 1.25] {
        let tx = x(tick);
        let stroke = if tick == 1.0 { "#000000" } else { "#dddddd" };
        let _ = writeln!(
            s,
            "<line x1=\"{tx:.1}\" y1=\"{TOP}\" x2=\"{tx:.1}\" y2=\"{bottom}\" stroke=\"{stroke}\"/><text x=\"{tx:.1}\" y=\"{}\" text-anchor=\"middle\">{tick}</text>",
            bottom + 16.0
        );
    }
    for (target, colour) in [(0.95, "#4477aa"), (0.9, "#ee6677")] {
        let tx = x(target);
        let _ = writeln!(
            s,
            "<line x1=\"{tx:.1}\" y1=\"{TOP}\" x2=\"{tx:.1}\" y2=\"{bottom}\" stroke=\"{colour}\" stroke-dasharray=\"4 3\"/>"
        );
    }
    for (row, case) in results.cases.iter().enumerate() {
        let y = TOP + ROW * row as f64 + 6.0;
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LEFT - 8.0,
            y + BAR + 4.0,
            escape(&case.case)
        );
        for (n, (name, colour)) in colours.iter().enumerate() {
            let Some(r) = case
                .implementations
                .iter()
                .find(|r| r.implementation == *name)
            else {
                continue;
            };
            let by = y + n as f64 * BAR;
            let flag = if r.drops > 0 { " (drops!)" } else { "" };
            let _ = writeln!(
                s,
                "<rect x=\"{LEFT}\" y=\"{by:.1}\" width=\"{:.1}\" height=\"{}\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{:.2}{flag}</text>",
                x(r.ratio_to_c) - LEFT,
                BAR - 2.0,
                x(r.ratio_to_c) + 4.0,
                by + BAR - 4.0,
                r.ratio_to_c
            );
        }
    }
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"{}\" font-size=\"10\">dashed: the targets, 0.95 (raw) and 0.9 (neli)</text>\n</svg>",
        bottom + 32.0
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_result_line() {
        let line = RunLine::parse(
            "impl=c case=mcast-4 messages=100 elapsed_ns=2000000 delivered=400 drops=0 overruns=0",
        )
        .unwrap();
        assert_eq!(line.delivered, 400);
        assert!((line.rate() - 50_000.0).abs() < 1e-6);
        line.check("c", "mcast-4", 100).unwrap();
        assert!(line.check("raw", "mcast-4", 100).is_err());
        let err = RunLine::parse("impl=c case=x messages=1").unwrap_err();
        assert!(err.to_string().contains("elapsed_ns"), "{err}");
        let err = RunLine::parse("impl=c case=x messages=many").unwrap_err();
        assert!(err.to_string().contains("not a count"), "{err}");
    }

    #[test]
    fn a_line_with_nothing_delivered_fails_the_check() {
        let line = RunLine::parse(
            "impl=raw case=pingpong messages=5 elapsed_ns=10 delivered=0 drops=0 overruns=0",
        )
        .unwrap();
        assert!(line.check("raw", "pingpong", 5).is_err());
    }

    #[test]
    fn reads_strace_summaries() {
        let summary = "\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 60.00    0.006000           3      2000      1000 sendto
 39.00    0.003900           1      2001           recvfrom
  1.00    0.000100         100         1           unshare
------ ----------- ----------- --------- --------- ----------------
100.00    0.010000           2      4002      1000 total
";
        let calls = strace_calls(summary).unwrap();
        assert_eq!(calls["sendto"], 2000);
        assert_eq!(calls["recvfrom"], 2001);
        assert_eq!(calls.values().sum::<u64>(), 4002);
        assert!(strace_calls("nothing here").is_err());
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    fn sample() -> BenchResults {
        let implementation = |name: &str, ratio: f64, drops: u64| ImplResult {
            implementation: name.to_owned(),
            rates: vec![100_000.0 * ratio],
            median_rate: 100_000.0 * ratio,
            ratio_to_c: ratio,
            drops,
            overruns: 0,
            syscalls_per_unit: 2.001,
            data_syscalls_per_unit: 2.0,
        };
        BenchResults {
            date: "2026-01-01 00:00 UTC".into(),
            kernel: "6.18".into(),
            cpu: "a CPU".into(),
            cpus: 2,
            rounds: 1,
            cases: vec![CaseResult {
                case: "pingpong".into(),
                what: "ping & pong".into(),
                unit: "round trips/s".into(),
                messages: 10,
                strace_messages: 10,
                implementations: vec![
                    implementation("c", 1.0, 0),
                    implementation("raw", 0.97, 0),
                    implementation("neli", 0.91, 3),
                ],
            }],
        }
    }

    #[test]
    fn the_table_shows_ratios_and_flags_drops() {
        let table = markdown_table(&sample());
        assert!(
            table.contains(
                "| `pingpong`: ping & pong | c | 100 k round trips/s | 1.00 | 2.001 (2.000) | 0 |"
            ),
            "{table}"
        );
        assert!(
            table.contains("| raw | 97 k round trips/s | 0.97 |"),
            "{table}"
        );
        assert!(table.contains("**3 (flagged)**"), "{table}");
    }

    #[test]
    fn the_plot_has_a_bar_per_rust_implementation_and_case() {
        let svg = svg_plot(&sample());
        assert!(svg.starts_with("<svg "));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("fill=\"#4477aa\"/><text").count(), 2); // legend + bar
        assert!(svg.contains(">0.91 (drops!)<"));
        // Rendering is deterministic.
        assert_eq!(svg, svg_plot(&sample()));
    }

    #[test]
    fn results_survive_the_file() {
        let dir = crate::cache_dir().join("tmp/bench-render-test");
        let json = write_results(&dir, &sample()).unwrap();
        let (table, plot) = render_from_file(&json).unwrap();
        assert_eq!(
            std::fs::read_to_string(table).unwrap(),
            markdown_table(&sample())
        );
        assert_eq!(std::fs::read_to_string(plot).unwrap(), svg_plot(&sample()));
    }
}
