//! `cargo xtask exercise`: the student's loop. Check the current exercise
//! (the first one not done, or a named one), see what fails and where to
//! look, reveal hints one at a time; progress is kept between runs in
//! `.exercise-progress.toml` at the top of the workbook.

use std::path::Path;

use anyhow::{Result, bail};

use crate::exercises::{self, Exercise, Kind};
use crate::lab::{self, plan};
use crate::workspace;

mod module_check;
mod names;
mod progress;
mod rust_check;
mod watch;

use module_check::kmod_report;
use names::{exercise_of_folder, resolve};
use progress::{Progress, current, load_progress, reveal_hint, save_progress};
use rust_check::check_rust;

#[derive(clap::Args)]
pub struct ExerciseArgs {
    /// The exercise (default: the one whose folder you are in, else the
    /// first one not done yet).
    name: Option<String>,
    /// Show the next hint of the exercise.
    #[arg(long)]
    hint: bool,
    /// Show every exercise and your progress.
    #[arg(long)]
    list: bool,
    /// Check again whenever a file of the exercise is saved, and move on to
    /// the next exercise when it passes; Ctrl-C stops.
    #[arg(long, conflicts_with_all = ["hint", "list"])]
    watch: bool,
}

pub fn run(args: &ExerciseArgs) -> Result<()> {
    let root = workspace::root();
    let catalog = exercises::catalog(&root)?;
    let mut progress = load_progress(&root);
    if args.list {
        print_list(&catalog, &progress);
        return Ok(());
    }
    let here = std::env::current_dir()
        .ok()
        .and_then(|cwd| exercise_of_folder(&root, &cwd));
    let exercise = match args.name.as_ref().or(here.as_ref()) {
        Some(name) => resolve(&catalog, &progress, name)?,
        None => match current(&catalog, &progress) {
            Some(e) => e,
            None => {
                println!("Every exercise is done. Well done!");
                print_list(&catalog, &progress);
                return Ok(());
            }
        },
    };
    if args.hint {
        // What the student works on now: `--hint` and `--list` follow it.
        progress.current = Some(exercise.name.clone());
        let state = progress.exercise.entry(exercise.name.clone()).or_default();
        print!("{}", reveal_hint(exercise, state));
        return save_progress(&root, &progress);
    }
    if args.watch {
        return watch::watch(&root, &catalog, &mut progress, exercise, &mut |e| {
            check(&root, e)
        });
    }
    if check_and_record(&root, &catalog, &mut progress, exercise, &mut |e| {
        check(&root, e)
    })? {
        if let Some(next) = current(&catalog, &progress) {
            println!(
                "next: `cargo xtask exercise` ({}; statement in exercises/{}/README.md)",
                next.name, next.name
            );
        }
        Ok(())
    } else {
        bail!("{} is not done yet", exercise.name)
    }
}

/// A check of one exercise: true when it passes.
type Check<'a> = dyn FnMut(&Exercise) -> Result<bool> + 'a;

/// Checks `exercise`, records the verdict (and that it is the current one)
/// in the progress file, and says what comes next.
fn check_and_record(
    root: &Path,
    catalog: &[Exercise],
    progress: &mut Progress,
    exercise: &Exercise,
    check: &mut Check,
) -> Result<bool> {
    println!(
        "==> {} ({}, chapter {}, {} points)",
        exercise.name,
        kind_name(exercise.kind),
        exercise.chapter,
        exercise.points
    );
    let passed = check(exercise)?;
    progress.current = Some(exercise.name.clone());
    let state = progress.exercise.entry(exercise.name.clone()).or_default();
    state.done = passed;
    let hints_left = exercise.hints.len().saturating_sub(state.hints_shown);
    save_progress(root, progress)?;
    if passed {
        println!(
            "\n{} passes. Progress: {}",
            exercise.name,
            summary(catalog, progress)
        );
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
    }
    Ok(passed)
}

fn short_kind(kind: Kind) -> &'static str {
    match kind {
        Kind::Rust => "rust",
        Kind::Kmod => "kmod",
        Kind::LabProgram => "lab-program",
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Rust => "Rust",
        Kind::Kmod => "kernel module, runs in the VM lab",
        Kind::LabProgram => "Rust program, runs in the VM lab",
    }
}

/// Runs the exercise's tests on the student's working copy.
fn check(root: &Path, exercise: &Exercise) -> Result<bool> {
    let dir = root.join("exercises").join(&exercise.name);
    match exercise.kind {
        Kind::Rust => check_rust(&dir, exercise),
        Kind::Kmod => {
            let tests: Vec<plan::LabTest> = plan::load_dir(&dir)?;
            let kernels: Vec<String> = plan::KERNELS.iter().map(|k| k.to_string()).collect();
            let summary = lab::execute(tests, &kernels, lab::Mode::Verdict)?;
            print!("{}", kmod_report(&dir, &summary.outcomes));
            Ok(summary.failed() == 0)
        }
        Kind::LabProgram => {
            let Some(program) = build_lab_program(&dir, exercise)? else {
                println!("the program does not build: the compiler's messages are above");
                return Ok(false);
            };
            let tests: Vec<plan::LabTest> = plan::load_dir(&dir)?
                .into_iter()
                .map(|mut t| {
                    t.spec.helper = Some(program.clone());
                    t
                })
                .collect();
            let kernels: Vec<String> = plan::KERNELS.iter().map(|k| k.to_string()).collect();
            let summary = lab::execute(tests, &kernels, lab::Mode::Verdict)?;
            print!("{}", kmod_report(&dir, &summary.outcomes));
            Ok(summary.failed() == 0)
        }
    }
}

/// Builds a lab-program exercise's program for the guest as the grader
/// does, the compiler's messages streaming to the terminal; `None` when it
/// does not build.
fn build_lab_program(dir: &Path, exercise: &Exercise) -> Result<Option<std::path::PathBuf>> {
    let target = crate::cache_dir()
        .join("exercises/programs")
        .join(&exercise.name);
    let built = lab::guest::guest_build(&target)
        .args([
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| anyhow::anyhow!("running cargo build: {e}"))?;
    let program = lab::guest::built_program(&String::from_utf8_lossy(&built.stdout));
    Ok(program.filter(|p| built.status.success() && p.is_file()))
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
    let now = current(catalog, progress).map(|e| e.name.as_str());
    for e in catalog {
        let state = progress.exercise.get(&e.name).cloned().unwrap_or_default();
        println!(
            "{} {} {:<28} {:<22} {:>3} points  {}",
            if now == Some(e.name.as_str()) {
                "->"
            } else {
                "  "
            },
            if state.done { "[x]" } else { "[ ]" },
            e.name,
            e.chapter,
            e.points,
            short_kind(e.kind)
        );
    }
    if let Some(now) = now {
        println!("-> current: {now} (`cargo xtask exercise` checks it)");
    }
    println!("progress: {}", summary(catalog, progress));
}

/// Exercises made up for the unit tests of the loop's parts.
#[cfg(test)]
mod fixtures {
    use crate::exercises::{Exercise, Kind};

    pub fn catalog() -> Vec<Exercise> {
        let e = |name: &str, chapter: &str, kind, hints: usize| Exercise {
            name: name.into(),
            chapter: chapter.into(),
            kind,
            points: 10,
            hints: (1..=hints).map(|i| format!("h{i}")).collect(),
        };
        vec![
            e("ch01-echo-lengths", "ch01-hello-netlink", Kind::Kmod, 3),
            e("ch01-nlmsg-layout", "ch01-hello-netlink", Kind::Rust, 2),
            e("ch06-lost-messages", "ch06-enobufs", Kind::Rust, 2),
        ]
    }
}
