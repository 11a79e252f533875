//! `cargo xtask test`: the whole suite, as CI runs it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::{bench, browser, citations, fuzz, handout, lab, process, provision, workspace};

#[derive(clap::Args)]
pub struct TestArgs {
    /// Only the host lane (format, lints, cargo test, exercise self-check).
    #[arg(long, conflicts_with = "lab_only")]
    host_only: bool,
    /// Only the VM lane.
    #[arg(long)]
    lab_only: bool,
}

/// Passed and failed checks, added up over every step.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    failed_steps: Vec<String>,
}

impl Tally {
    fn step(&mut self, name: &str, result: Result<(usize, usize)>) {
        match result {
            Ok((passed, failed)) => {
                self.passed += passed;
                self.failed += failed;
                if failed > 0 {
                    self.failed_steps.push(name.to_string());
                }
            }
            Err(e) => {
                eprintln!("{name} failed: {e:#}");
                self.failed += 1;
                self.failed_steps.push(name.to_string());
            }
        }
    }
}

pub fn run(args: &TestArgs) -> Result<()> {
    // First, before any step starts a process or thread: the final step
    // compares the host with this.
    let host_before = crate::leftovers::start();
    let root = workspace::root();
    let cargo = crate::process::cargo();
    let started = std::time::Instant::now();
    let mut tally = Tally::default();
    if !args.lab_only {
        provision::ensure_rust_components()?;
        for (name, cargo_args) in [
            ("format", &["fmt", "--all", "--check"][..]),
            (
                "lints",
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--quiet",
                    "--",
                    "-D",
                    "warnings",
                ][..],
            ),
        ] {
            eprintln!("==> {name}: cargo {}", cargo_args.join(" "));
            let result = process::run(Command::new(&cargo).current_dir(&root).args(cargo_args));
            tally.step(name, result.map(|()| (1, 0)));
        }
        eprintln!("==> host tests: cargo test --workspace");
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(&root).args(["test", "--workspace"]);
        let result = process::with_network_namespace_rights(cmd).and_then(cargo_test_counts);
        tally.step("host tests", result);
        eprintln!(
            "==> exercises: graded, solutions score full marks, starters zero, fixtures their expected scores"
        );
        tally.step("exercises", crate::grade::self_check::self_check(&[]));
        eprintln!(
            "==> exercises, one solved in place: the self-check still grades the committed starter"
        );
        tally.step(
            "exercise solved in place",
            crate::grade::self_check::solved_in_place_check(),
        );
        eprintln!(
            "==> Slurm: a class graded as a three-part array job on a single-node Slurm started for the check, merged, scores exactly as one local run"
        );
        tally.step("Slurm", crate::grade::platforms::slurm::check());
        eprintln!(
            "==> handout: the students' repository, made afresh, works without what it withholds, and its GitHub Classroom workflow grades it"
        );
        tally.step("handout", handout::check(&root));
        eprintln!(
            "==> Gradescope: the autograder zip unpacked as Gradescope lays it out, setup.sh, then run_autograder offline on three submissions, results.json read back"
        );
        tally.step(
            "Gradescope",
            crate::grade::platforms::gradescope::check(&root),
        );
        eprintln!(
            "==> bench smoke: every benchmark case in C, raw Rust, neli and rust-netlink, tiny counts, no drops"
        );
        tally.step("bench smoke", bench::smoke_check());
        eprintln!(
            "==> fuzz smoke: every fuzz target (the netlink parsers, the book server's URL mapping), {} s each, no crash",
            fuzz::SMOKE_SECONDS
        );
        tally.step("fuzz smoke", fuzz::smoke_check());
        eprintln!(
            "==> browser: both editions' sites under a sub-path in headless Chromium (errors, offline, links, search, diagrams, no solution in the course edition, the PDF)"
        );
        tally.step("browser", browser::check(&root));
    }
    if !args.host_only {
        eprintln!("==> VM lab: every chapter, every kernel");
        let result = lab::run(&lab::LabArgs::default()).map(|s| (s.passed(), s.failed()));
        tally.step("VM lab", result);
        eprintln!(
            "==> kernel citations: the book's links and quotes against the 6.1 and 6.12 sources"
        );
        let result = citations::check_or_update(None, false)
            .map(|(checked, problems)| (checked.saturating_sub(problems.len()), problems.len()));
        tally.step("kernel citations", result);
    }
    eprintln!(
        "==> leftovers: the host's network, shared folders and processes as the suite found them"
    );
    let result = host_before.and_then(|before| crate::leftovers::check(&before));
    tally.step("leftovers", result);
    println!(
        "\ntest suite finished in {:.1} min",
        started.elapsed().as_secs_f64() / 60.0
    );
    if !tally.failed_steps.is_empty() {
        println!("failed steps: {}", tally.failed_steps.join(", "));
    }
    println!(
        "all tests: {} passed, {} failed",
        tally.passed, tally.failed
    );
    if tally.failed > 0 {
        bail!("the test suite failed");
    }
    Ok(())
}

/// Runs `cargo test`, showing its output, and adds up its "test result" lines.
fn cargo_test_counts(mut cmd: Command) -> Result<(usize, usize)> {
    let shown = process::display(&cmd);
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{shown}`"))?;
    let stdout = child.stdout.take().context("no stdout pipe")?;
    let (mut passed, mut failed) = (0, 0);
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            let count = |word: &str| {
                rest.split(';')
                    .find_map(|part| {
                        part.trim()
                            .trim_start_matches("ok. ")
                            .trim_start_matches("FAILED. ")
                            .strip_suffix(word)
                    })
                    .and_then(|n| n.trim().parse::<usize>().ok())
                    .unwrap_or(0)
            };
            passed += count(" passed");
            failed += count(" failed");
        }
    }
    let status = child.wait()?;
    if !status.success() && failed == 0 {
        bail!("`{shown}` failed ({status}) before running its tests");
    }
    Ok((passed, failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_up_cargo_test_result_lines() {
        let cmd = {
            let mut c = Command::new("printf");
            c.arg("test result: ok. 3 passed; 0 failed; 1 ignored\\ntest result: FAILED. 2 passed; 1 failed; 0 ignored\\n");
            c
        };
        // printf exits 0: the counts are what matter.
        assert_eq!(cargo_test_counts(cmd).unwrap(), (5, 1));
    }
}
