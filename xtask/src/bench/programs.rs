//! The benchmark's programs: built, run once, and counted under strace.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{process, provision, workspace};

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

/// The programs, built: the C reference with gcc -O2, the Rust one with the
/// workspace's `bench-release` profile (a debug build measures the
/// compiler, not netlink; see Cargo.toml for why LTO).
pub(super) struct Programs {
    c: PathBuf,
    rust: PathBuf,
}

pub(super) fn build() -> Result<Programs> {
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
    let cargo = crate::process::cargo();
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

    pub(super) fn run_once(
        &self,
        implementation: &str,
        case: &str,
        messages: u64,
    ) -> Result<RunLine> {
        let out = process::output(&mut self.command(implementation, case, messages)?)?;
        let line = RunLine::parse(out.trim())?;
        line.check(implementation, case, messages)?;
        Ok(line)
    }

    /// System calls per unit under `strace -f -c`: all of them, and the
    /// data path's.
    pub(super) fn count_syscalls(
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
}
