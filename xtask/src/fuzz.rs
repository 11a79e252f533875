//! `cargo xtask fuzz`: the fuzz targets of `fuzz/` (one per parser of
//! netlink bytes, or per family of them, and `book_url`, the book server's
//! request-path mapping) under libFuzzer, through cargo-fuzz, which is
//! installed into `target/tools` the first time. `cargo fuzz list` names
//! the targets (each `[[bin]]` of `fuzz/Cargo.toml`); each needs its seeds
//! in `fuzz/corpus/<target>/`, written by `fuzz/examples/seeds.rs`.
//!
//! cargo-fuzz passes `-Z` flags (the sanitizer, coverage instrumentation);
//! on a stable toolchain `RUSTC_BOOTSTRAP=1` lets rustc accept them.
//! AddressSanitizer works that way on stable x86_64 Linux, so the targets
//! run with it, as cargo-fuzz does by default.
//!
//! Each run reads the committed seeds (`fuzz/corpus/<target>/`, real
//! messages) and grows a working corpus of its own under
//! `target/fuzz-corpus/<target>/`, so the checkout stays clean. A crash
//! leaves its input in `fuzz/artifacts/<target>/` and fails the run.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{cache_dir, process, workspace};

/// The cargo-fuzz release used, pinned so every machine fuzzes alike.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Seconds per target of the smoke run in `cargo xtask test`.
pub const SMOKE_SECONDS: u64 = 5;

#[derive(clap::Args)]
pub struct FuzzArgs {
    /// One target (default: every target, one after the other).
    target: Option<String>,
    /// How long to fuzz each target.
    #[arg(long, default_value_t = 600)]
    seconds: u64,
    /// List the targets and stop.
    #[arg(long)]
    list: bool,
}

/// What one fuzz run did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunStats {
    /// The target.
    pub target: String,
    /// Inputs executed (libFuzzer's `stat::number_of_executed_units`).
    pub executions: u64,
    /// Wall-clock seconds.
    pub seconds: u64,
}

pub fn run(args: &FuzzArgs) -> Result<()> {
    let fuzz = Fuzz::provision()?;
    let targets = fuzz.targets()?;
    if args.list {
        for t in &targets {
            println!("{t}");
        }
        return Ok(());
    }
    let chosen = match &args.target {
        Some(t) if targets.contains(t) => vec![t.clone()],
        Some(t) => bail!("no fuzz target `{t}`; the targets: {}", targets.join(", ")),
        None => targets,
    };
    fuzz.build()?;
    let mut failed = Vec::new();
    for target in &chosen {
        eprintln!("==> fuzz {target}: {} s", args.seconds);
        match fuzz.run(target, args.seconds) {
            Ok(stats) => println!(
                "{target}: {} executions in {} s, no crash",
                stats.executions, stats.seconds
            ),
            Err(e) => {
                eprintln!("{target}: {e:#}");
                failed.push(target.clone());
            }
        }
    }
    if !failed.is_empty() {
        bail!("fuzz target(s) failed: {}", failed.join(", "));
    }
    Ok(())
}

/// The test suite's step: build every target and run each for
/// [`SMOKE_SECONDS`]; one check per target.
pub fn smoke_check() -> Result<(usize, usize)> {
    let fuzz = Fuzz::provision()?;
    let targets = fuzz.targets()?;
    fuzz.build()?;
    let (mut passed, mut failed) = (0, 0);
    for target in &targets {
        match fuzz.run(target, SMOKE_SECONDS) {
            Ok(stats) => {
                eprintln!(
                    "    ok   {target}: {} executions in {} s",
                    stats.executions, stats.seconds
                );
                passed += 1;
            }
            Err(e) => {
                eprintln!("    FAIL {target}: {e:#}");
                failed += 1;
            }
        }
    }
    Ok((passed, failed))
}

/// cargo-fuzz, installed, and where the fuzz crate and its outputs live.
struct Fuzz {
    cargo_fuzz: PathBuf,
    crate_dir: PathBuf,
    target_dir: PathBuf,
}

impl Fuzz {
    /// Install cargo-fuzz into `target/tools` unless it is there.
    fn provision() -> Result<Self> {
        let tools = cache_dir().join("tools");
        let cargo_fuzz = tools.join("bin").join("cargo-fuzz");
        let installed = process::output(Command::new(&cargo_fuzz).arg("--version"))
            .is_ok_and(|v| v.trim_end().ends_with(CARGO_FUZZ_VERSION));
        if !installed {
            eprintln!(
                "==> installing cargo-fuzz {CARGO_FUZZ_VERSION} into {} (once, about a minute)",
                tools.display()
            );
            let cargo = crate::process::cargo();
            process::run(Command::new(cargo).args([
                "install",
                "cargo-fuzz",
                "--locked",
                "--version",
                CARGO_FUZZ_VERSION,
                "--root",
                &tools.to_string_lossy(),
            ]))?;
        }
        Ok(Fuzz {
            cargo_fuzz,
            crate_dir: workspace::root().join("fuzz"),
            target_dir: cache_dir().join("fuzz"),
        })
    }

    /// `cargo fuzz <subcommand>` in `fuzz/`, with what stable Rust needs.
    fn command(&self, subcommand: &str) -> Command {
        let mut cmd = Command::new(&self.cargo_fuzz);
        cmd.current_dir(&self.crate_dir)
            .env("RUSTC_BOOTSTRAP", "1")
            .arg(subcommand);
        cmd
    }

    fn targets(&self) -> Result<Vec<String>> {
        let listed = process::output(&mut self.command("list"))?;
        let targets: Vec<String> = listed.lines().map(str::to_owned).collect();
        if targets.is_empty() {
            bail!(
                "`cargo fuzz list` in {} names no target",
                self.crate_dir.display()
            );
        }
        Ok(targets)
    }

    fn build(&self) -> Result<()> {
        let log = self.log_dir()?.join("build.log");
        let mut cmd = self.command("build");
        cmd.arg("--target-dir").arg(&self.target_dir);
        process::run_with_progress(&mut cmd, "fuzz build", &log)
    }

    fn log_dir(&self) -> Result<PathBuf> {
        let dir = cache_dir().join("fuzz-logs");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(dir)
    }

    /// Fuzz `target` for `seconds`, one process on one core; the log goes
    /// to `target/fuzz-logs/<target>-<seconds>s.log` (a smoke run beside a
    /// long one keeps the long one's log).
    fn run(&self, target: &str, seconds: u64) -> Result<RunStats> {
        let work = cache_dir().join("fuzz-corpus").join(target);
        std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
        let seeds = self.crate_dir.join("corpus").join(target);
        if !seeds.is_dir() {
            bail!("no seed corpus {}", seeds.display());
        }
        let log = self.log_dir()?.join(format!("{target}-{seconds}s.log"));
        let mut cmd = self.command("run");
        cmd.arg("--target-dir")
            .arg(&self.target_dir)
            .arg(target)
            .arg(&work)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg("-print_final_stats=1");
        let started = Instant::now();
        process::run_with_progress(&mut cmd, &format!("fuzz {target}"), &log)?;
        let text =
            std::fs::read_to_string(&log).with_context(|| format!("reading {}", log.display()))?;
        let executions = executed_units(&text).with_context(|| {
            format!(
                "{}: no `stat::number_of_executed_units` line",
                log.display()
            )
        })?;
        Ok(RunStats {
            target: target.to_owned(),
            executions,
            seconds: started.elapsed().as_secs(),
        })
    }
}

/// libFuzzer's count of executed inputs, from its final statistics.
fn executed_units(log: &str) -> Option<u64> {
    log.lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_executions_from_final_stats() {
        let log = "#1024\tpulse  cov: 9\nDone 2000 runs in 1 second(s)\n\
                   stat::number_of_executed_units: 2000\nstat::peak_rss_mb: 40\n";
        assert_eq!(executed_units(log), Some(2000));
        assert_eq!(executed_units("==1== ERROR: AddressSanitizer"), None);
    }
}
