//! `cargo xtask exercise`: the student's loop. Check the current exercise
//! (the first one not done, or a named one), see what fails and where to
//! look, reveal hints one at a time; progress is kept between runs in
//! `.exercise-progress.toml` at the top of the workbook.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::exercises::{self, Exercise, Kind};
use crate::lab::{self, plan};
use crate::{process, workspace};

#[derive(clap::Args)]
pub struct ExerciseArgs {
    /// The exercise (default: the first one not done yet).
    name: Option<String>,
    /// Show the next hint of the exercise.
    #[arg(long)]
    hint: bool,
    /// Show every exercise and your progress.
    #[arg(long)]
    list: bool,
}

#[derive(Default, Serialize, Deserialize)]
struct Progress {
    #[serde(default)]
    exercise: BTreeMap<String, State>,
}

#[derive(Default, Clone, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    done: bool,
    #[serde(default)]
    hints_shown: usize,
}

const PROGRESS_FILE: &str = ".exercise-progress.toml";

fn load_progress(root: &Path) -> Progress {
    std::fs::read_to_string(root.join(PROGRESS_FILE))
        .ok()
        .and_then(|t| toml::from_str(&t).ok())
        .unwrap_or_default()
}

fn save_progress(root: &Path, progress: &Progress) -> Result<()> {
    let text = format!(
        "# Your progress through the exercises; `cargo xtask exercise --list` shows it.\n{}",
        toml::to_string(progress)?
    );
    std::fs::write(root.join(PROGRESS_FILE), text).context("saving your progress")
}

pub fn run(args: &ExerciseArgs) -> Result<()> {
    let root = workspace::root();
    let catalog = exercises::catalog(&root)?;
    let mut progress = load_progress(&root);
    if args.list {
        print_list(&catalog, &progress);
        return Ok(());
    }
    let exercise = match &args.name {
        Some(name) => catalog.iter().find(|e| &e.name == name).with_context(|| {
            format!("no exercise `{name}`; `cargo xtask exercise --list` shows them")
        })?,
        None => match catalog
            .iter()
            .find(|e| !progress.exercise.get(&e.name).is_some_and(|s| s.done))
        {
            Some(e) => e,
            None => {
                println!("Every exercise is done. Well done!");
                print_list(&catalog, &progress);
                return Ok(());
            }
        },
    };
    let state = progress.exercise.entry(exercise.name.clone()).or_default();
    if args.hint {
        match exercise.hints.get(state.hints_shown) {
            Some(hint) => {
                state.hints_shown += 1;
                println!(
                    "hint {} of {} for {}:\n  {hint}",
                    state.hints_shown,
                    exercise.hints.len(),
                    exercise.name
                );
            }
            None => println!(
                "no more hints for {}: the chapter `{}` has the rest",
                exercise.name, exercise.chapter
            ),
        }
        // Earlier hints stay visible: a student may need them again.
        for (i, hint) in exercise
            .hints
            .iter()
            .take(state.hints_shown.saturating_sub(1))
            .enumerate()
        {
            println!("  (hint {}) {hint}", i + 1);
        }
        return save_progress(&root, &progress);
    }
    println!(
        "==> {} ({}, chapter {}, {} points)",
        exercise.name,
        kind_name(exercise.kind),
        exercise.chapter,
        exercise.points
    );
    let passed = check(&root, exercise)?;
    state.done = passed;
    let hints_left = exercise.hints.len().saturating_sub(state.hints_shown);
    save_progress(&root, &progress)?;
    if passed {
        println!(
            "\n{} passes. Progress: {}",
            exercise.name,
            summary(&catalog, &progress)
        );
        if let Some(next) = catalog
            .iter()
            .find(|e| !progress.exercise.get(&e.name).is_some_and(|s| s.done))
        {
            println!(
                "next: `cargo xtask exercise` ({}; statement in exercises/{}/README.md)",
                next.name, next.name
            );
        }
        Ok(())
    } else {
        println!(
            "\nThe statement is in exercises/{}/README.md.",
            exercise.name
        );
        if hints_left > 0 {
            println!(
                "Stuck? `cargo xtask exercise {} --hint` ({hints_left} hint(s) left)",
                exercise.name
            );
        }
        bail!("{} is not done yet", exercise.name)
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Rust => "Rust",
        Kind::Kmod => "kernel module, runs in the VM lab",
    }
}

/// Runs the exercise's tests on the student's working copy.
fn check(root: &Path, exercise: &Exercise) -> Result<bool> {
    let dir = root.join("exercises").join(&exercise.name);
    match exercise.kind {
        Kind::Rust => {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut cmd = Command::new(cargo);
            cmd.args(["test", "--quiet", "--manifest-path"])
                .arg(dir.join("Cargo.toml"))
                .arg("--target-dir")
                .arg(
                    crate::cache_dir()
                        .join("exercises/exercises")
                        .join(&exercise.name),
                );
            let out = process::with_network_namespace_rights(cmd)?
                .output()
                .context("running cargo test")?;
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if !out.status.success() {
                println!("{}", failures_of(&text));
            }
            Ok(out.status.success())
        }
        Kind::Kmod => {
            let tests: Vec<plan::LabTest> = plan::load_dir(&dir)?;
            let kernels: Vec<String> = plan::KERNELS.iter().map(|k| k.to_string()).collect();
            let summary = lab::execute(tests, &kernels, lab::Mode::Verdict)?;
            for o in &summary.outcomes {
                let verdict = if o.passed { "pass" } else { "FAIL" };
                println!(
                    "{verdict} {} on {}{}",
                    o.test_id,
                    o.kernel,
                    if o.passed {
                        String::new()
                    } else {
                        format!(": {}", o.reason)
                    }
                );
            }
            Ok(summary.failed() == 0)
        }
    }
}

/// The part of `cargo test` output a student needs: which tests failed and
/// their panic messages, or the compiler's errors.
fn failures_of(output: &str) -> String {
    let mut lines = Vec::new();
    let mut keep = false;
    for line in output.lines() {
        if line.starts_with("---- ") || line.starts_with("error") {
            keep = true;
        }
        if line.starts_with("note: run with `RUST_BACKTRACE") {
            continue;
        }
        if keep {
            lines.push(line);
        }
        if line.starts_with("test result:") {
            keep = false;
        }
    }
    if lines.is_empty() {
        output.to_string()
    } else {
        lines.join("\n")
    }
}

fn summary(catalog: &[Exercise], progress: &Progress) -> String {
    let done = catalog
        .iter()
        .filter(|e| progress.exercise.get(&e.name).is_some_and(|s| s.done))
        .count();
    let points: u32 = catalog
        .iter()
        .filter(|e| progress.exercise.get(&e.name).is_some_and(|s| s.done))
        .map(|e| e.points)
        .sum();
    let max: u32 = catalog.iter().map(|e| e.points).sum();
    format!("{done}/{} exercises, {points}/{max} points", catalog.len())
}

fn print_list(catalog: &[Exercise], progress: &Progress) {
    for e in catalog {
        let state = progress.exercise.get(&e.name).cloned().unwrap_or_default();
        println!(
            "{} {:<28} {:<22} {:>3} points  {}",
            if state.done { "[x]" } else { "[ ]" },
            e.name,
            e.chapter,
            e.points,
            match e.kind {
                Kind::Rust => "rust",
                Kind::Kmod => "kmod",
            }
        );
    }
    println!("progress: {}", summary(catalog, progress));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_keep_the_failing_tests_and_their_messages() {
        let output = "running 2 tests\ntest a ... ok\ntest b ... FAILED\n\nfailures:\n\n---- b stdout ----\nthread 'b' panicked at src/lib.rs:3:5:\nnot yet implemented\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\ntest result: FAILED. 1 passed; 1 failed\n";
        let shown = failures_of(output);
        assert!(shown.starts_with("---- b stdout ----"));
        assert!(shown.contains("not yet implemented"));
        assert!(!shown.contains("RUST_BACKTRACE"));
        assert!(!shown.contains("test a ... ok"));
    }

    #[test]
    fn progress_round_trips() {
        let mut p = Progress::default();
        p.exercise.insert(
            "x".into(),
            State {
                done: true,
                hints_shown: 2,
            },
        );
        let text = toml::to_string(&p).unwrap();
        let back: Progress = toml::from_str(&text).unwrap();
        assert!(back.exercise["x"].done);
        assert_eq!(back.exercise["x"].hints_shown, 2);
    }
}
