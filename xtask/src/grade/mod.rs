//! `cargo xtask grade`: score students' submissions.
//!
//! A submission is a copy of `exercises/` as a student left it. Each exercise
//! is graded in isolation: for a Rust exercise only the student's `src/` is
//! taken, the tests and the manifest come from this repository (plus an
//! instructor's hidden tests), it is built in a target directory shared by
//! every submission (dependencies build once), and each test runs as an
//! unprivileged user in fresh user, network, mount, IPC and PID namespaces,
//! in a root file system that holds only what a test needs, with time,
//! memory, process and file-size limits. A kernel-module exercise runs the tests of
//! the exercise's `lab.toml` in the VM lab against the student's module; all
//! submissions' module tests share the boots. Whatever a student's code does
//! (panic, hang, fork endlessly, fill the disk, print without end, reach for
//! the network or the host's files, not compile) scores 0 for that test or
//! exercise, with the reason, and grading goes on; no process of it outlives
//! the test.
//!
//! The parts, each in a file of its own:
//! - the catalogue: `crate::exercises` (names, kinds, points, hints), which
//!   depends on nothing of the grader;
//! - collection: `collect` says what is graded (and what is not, and why)
//!   before anything runs; `shards` splits a class and merges its parts;
//! - the sandbox: `sandbox` runs one test in its namespaces and limits,
//!   `probe` proves it holds before every grading, `output` keeps a run's
//!   output within bounds;
//! - the runners: `rust` for a Rust exercise's tests, `kmod` for module
//!   exercises in the VM lab;
//! - the reports: `report` (the table, JSON, JUnit, CSV) and `feedback`
//!   (a report per student);
//! - the platforms: `platforms` (a Slurm array job, checked on a real
//!   single-node Slurm);
//! - `self_check`: the exercise set graded through all of the above.
//!
//! The leftovers check looks at the grader (its lock, its processes); the
//! grader does not call it.

pub mod collect;
mod feedback;
mod kmod;
mod lab_program;
mod output;
pub mod platforms;
mod probe;
mod report;
mod rust;
mod sandbox;
pub mod self_check;
pub mod shards;

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::exercises::{self, Exercise, Kind};
use crate::workspace;

/// The student's check gives each test the grader's time limit.
pub(crate) use output::run_with_limit;
pub use probe::{ensure_sandbox_works, lock_path, sandbox_processes};
pub use report::junit;
pub(crate) use rust::TEST_WALL;

#[derive(clap::Args, Debug)]
pub struct GradeArgs {
    /// A submission (a copy of exercises/), or with --class a folder of them.
    #[arg(required_unless_present_any = ["self_check", "merge", "slurm_check", "gradescope_check", "gradescope_package"])]
    pub submission: Option<PathBuf>,
    /// Check the exercise set instead: solutions score full marks, starters
    /// zero, the fixtures in tests/fixtures/submissions their expected scores.
    #[arg(long, conflicts_with_all = ["submission", "class"])]
    pub self_check: bool,
    /// SUBMISSION holds one submission per folder (a class).
    #[arg(long)]
    pub class: bool,
    /// Instructor's hidden tests: HIDDEN/<exercise>/tests/*.rs are added to
    /// the exercise's tests (Rust exercises).
    #[arg(long, value_name = "HIDDEN")]
    pub hidden_tests: Option<PathBuf>,
    /// Where grades.json and grades.junit.xml go.
    #[arg(long, default_value = "target/grade/report")]
    pub out: PathBuf,
    /// Only these exercises (repeatable).
    #[arg(long)]
    pub exercise: Vec<String>,
    /// Grade part K of N of the class: every N-th submission by name,
    /// from the K-th (a batch cluster's array job runs one part each).
    #[arg(long, value_name = "K/N", requires = "class")]
    pub shard: Option<String>,
    /// Combine the report folders of a class's parts (each a grading's
    /// --out) into the reports of the whole class, written to --out.
    #[arg(long, value_name = "PART_OUT", num_args = 1.., conflicts_with_all = ["submission", "class", "self_check", "hidden_tests", "shard"])]
    pub merge: Vec<PathBuf>,
    /// Check the Slurm array job on a single-node Slurm started for the
    /// check (a step of `cargo xtask test`).
    #[arg(long, hide = true, conflicts_with_all = ["submission", "class", "self_check"])]
    pub slurm_check: bool,
    /// Check the Gradescope autograder as Gradescope runs it (a step of
    /// `cargo xtask test`).
    #[arg(long, hide = true, conflicts_with_all = ["submission", "class", "self_check"])]
    pub gradescope_check: bool,
    /// Also write each exercise's result, as GitHub Classroom's reporter
    /// reads it, to this file (a workflow step's `$GITHUB_OUTPUT`): the
    /// students' repository's workflow grades it this way.
    #[arg(long, value_name = "GITHUB_OUTPUT", conflicts_with_all = ["class", "merge"])]
    pub github_classroom: Option<PathBuf>,
    /// Build a Gradescope autograder instead (with --hidden-tests, they go
    /// in it): a zip with setup.sh, run_autograder and the students'
    /// repository.
    #[arg(long, value_name = "OUT.zip", conflicts_with_all = ["submission", "class", "self_check", "merge"])]
    pub gradescope_package: Option<PathBuf>,
    /// Also write the grading as Gradescope's results.json, to this file
    /// (the autograder's run_autograder does).
    #[arg(long, value_name = "RESULTS_JSON", conflicts_with_all = ["class", "merge"])]
    pub gradescope: Option<PathBuf>,
    /// Fail if grading left anything on the host (network, files,
    /// processes), the check `cargo xtask test` ends with (run by the
    /// command line around the grading).
    #[arg(long, hide = true)]
    pub check_leftovers: bool,
}

/// One test of one exercise.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestResult {
    pub name: String,
    pub passed: bool,
    /// Why it failed (trimmed output), empty when it passed.
    pub detail: String,
    /// One of the instructor's hidden tests: its name and detail stay in
    /// the instructor's JSON; the table and the JUnit show only that a
    /// hidden test passed or failed.
    pub hidden: bool,
    /// How long it ran (a module test: its run in the lab).
    pub seconds: f64,
}

/// One exercise of one submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExerciseGrade {
    pub exercise: String,
    pub kind: Kind,
    pub points: u32,
    pub score: f64,
    /// Set when the exercise scored 0 as a whole (missing, does not build).
    pub reason: Option<String>,
    pub tests: Vec<TestResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubmissionGrade {
    pub submission: String,
    pub score: f64,
    pub max: u32,
    pub exercises: Vec<ExerciseGrade>,
}

/// A failure's explanation in the reports stays readable.
pub const DETAIL_MAX: usize = 4 << 10;

/// `cargo xtask grade`. (`--check-leftovers` is the command line's to
/// honour: the leftovers check looks at the grader, never the other way.)
pub fn run(args: &GradeArgs) -> Result<()> {
    grade_as_asked(args)
}

fn grade_as_asked(args: &GradeArgs) -> Result<()> {
    let started = std::time::Instant::now();
    if args.slurm_check {
        let (passed, failed) = platforms::slurm::check()?;
        println!("Slurm check: {passed} passed, {failed} failed");
        if failed > 0 {
            bail!("the Slurm array job does not check out");
        }
        return Ok(());
    }
    if args.gradescope_check {
        let (passed, failed) = platforms::gradescope::check(&workspace::root())?;
        println!("Gradescope check: {passed} passed, {failed} failed");
        if failed > 0 {
            bail!("the Gradescope autograder does not check out");
        }
        return Ok(());
    }
    if let Some(zip) = &args.gradescope_package {
        platforms::gradescope::package(&workspace::root(), zip, args.hidden_tests.as_deref())?;
        println!(
            "Gradescope autograder: {} (upload it as the assignment's autograder zip)",
            zip.display()
        );
        return Ok(());
    }
    if args.self_check {
        let (passed, failed) = self_check::self_check(&args.exercise)?;
        println!("exercise set self-check: {passed} passed, {failed} failed");
        if failed > 0 {
            bail!("the exercise set does not check out");
        }
        return Ok(());
    }
    let catalog = exercises::catalog(&workspace::root())?;
    let out = workspace::root().join(&args.out);
    if !args.merge.is_empty() {
        let parts: Vec<PathBuf> = args
            .merge
            .iter()
            .map(|p| workspace::root().join(p))
            .collect();
        let grades = shards::merge(&parts)?;
        report::print_table(&grades);
        return write_all(&grades, &catalog, &out);
    }
    let Some(submission) = &args.submission else {
        bail!("name a submission folder (or --self-check, or --merge)");
    };
    let mut collected = collect::collect(submission, args.class, &catalog)?;
    if let Some(shard) = &args.shard {
        let shard = shards::parse_shard(shard)?;
        let all = collected.submissions.len();
        collected.submissions = shards::select(collected.submissions, shard);
        eprintln!(
            "==> part {} of {}: {} of the class's {all} submissions",
            shard.k,
            shard.n,
            collected.submissions.len()
        );
    }
    for (entry, why) in &collected.notes {
        eprintln!("==> {entry}: {why}");
    }
    let grades = grade(
        &collected.submissions,
        args.hidden_tests.as_deref(),
        &args.exercise,
    )?;
    report::print_table(&grades);
    for (entry, why) in &collected.notes {
        println!("{entry}: {why}");
    }
    if let Some(output) = &args.github_classroom {
        platforms::github_classroom::write_outputs(&grades, output)?;
    }
    if let Some(results) = &args.gradescope {
        let seconds = started.elapsed().as_secs_f64();
        platforms::gradescope::write_results(&grades, results, seconds)?;
    }
    write_all(&grades, &catalog, &out)
}

/// Every report of a grading into `out`: the JSON, the JUnit, the CSV for
/// a gradebook and one Markdown report per student.
fn write_all(grades: &[SubmissionGrade], catalog: &[Exercise], out: &Path) -> Result<()> {
    report::write_reports(grades, out)?;
    feedback::write_feedback(grades, catalog, &out.join("students"))?;
    println!(
        "reports in {}: grades.json, grades.junit.xml, grades.csv, and one per student in students/",
        out.display()
    );
    Ok(())
}

/// Grades every submission; never fails because of a student's code.
pub fn grade(
    submissions: &[(String, PathBuf)],
    hidden: Option<&Path>,
    only: &[String],
) -> Result<Vec<SubmissionGrade>> {
    let root = workspace::root();
    let all = exercises::catalog(&root)?;
    // Before any grading: a misshapen folder of hidden tests stops it.
    if let Some(hidden) = hidden {
        collect::check_hidden_tests(hidden, &all)?;
    }
    let catalog: Vec<Exercise> = all
        .into_iter()
        .filter(|e| only.is_empty() || only.contains(&e.name))
        .collect();
    if catalog.is_empty() {
        bail!("no exercise matches {only:?}");
    }
    let _one_grading_at_a_time = ensure_sandbox_works()?;
    let work = crate::cache_dir().join("grade/work");
    let mut grades: Vec<SubmissionGrade> = Vec::new();
    let mut lab_tests = Vec::new();
    for (index, (name, dir)) in submissions.iter().enumerate() {
        let mut exercises = Vec::new();
        for exercise in &catalog {
            let student = dir.join(&exercise.name);
            if !student.is_dir() {
                exercises.push(zero(exercise, "missing from the submission"));
                continue;
            }
            match exercise.kind {
                Kind::Rust => {
                    eprintln!("==> grading {name}: {}", exercise.name);
                    // One build folder per exercise, reused by every
                    // submission: cargo then sees one package whose sources
                    // changed, rebuilds it and keeps its dependencies.
                    let build = crate::cache_dir().join("grade/build").join(&exercise.name);
                    exercises.push(rust::grade_rust(&root, exercise, &student, hidden, &build));
                }
                Kind::Kmod | Kind::LabProgram => {
                    let slot = work
                        .join(format!("{index:03}-{}", safe(name)))
                        .join(&exercise.name);
                    let tests = match exercise.kind {
                        Kind::Kmod => kmod::kmod_tests(&root, exercise, &student, &slot, index),
                        _ => {
                            eprintln!("==> building {name}: {}", exercise.name);
                            lab_program::lab_program_tests(&root, exercise, &student, &slot, index)
                                .and_then(|built| built.map_err(anyhow::Error::msg))
                        }
                    };
                    match tests {
                        Ok(tests) => {
                            lab_tests.extend(tests);
                            // Scored below, once the shared boots have run.
                            exercises.push(zero(exercise, "pending"));
                        }
                        Err(e) => exercises.push(zero(exercise, &format!("{e:#}"))),
                    }
                }
            }
        }
        grades.push(SubmissionGrade {
            submission: name.clone(),
            score: 0.0,
            max: 0,
            exercises,
        });
    }
    if !lab_tests.is_empty() {
        eprintln!(
            "==> grading module and lab-program exercises in the VM lab ({} tests)",
            lab_tests.len()
        );
        kmod::score_in_lab(&mut grades, lab_tests);
    }
    for g in &mut grades {
        g.max = g.exercises.iter().map(|e| e.points).sum();
        g.score = round2(g.exercises.iter().map(|e| e.score).sum());
    }
    Ok(grades)
}

fn zero(exercise: &Exercise, reason: &str) -> ExerciseGrade {
    ExerciseGrade {
        exercise: exercise.name.clone(),
        kind: exercise.kind,
        points: exercise.points,
        score: 0.0,
        reason: Some(reason.to_string()),
        tests: Vec::new(),
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Folder-name-safe version of a submission name.
fn safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
