//! A Rust exercise: the student's `src/` with the repository's tests and
//! manifest (and the instructor's hidden tests) in a slot of its own, built
//! in a target directory shared by every submission, then each test run on
//! its own in the sandbox.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::output::{OUTPUT_KEPT_EACH_END, wait_with_limit};
use super::sandbox::{Sandboxed, run_sandboxed};
use super::{DETAIL_MAX, ExerciseGrade, TestResult, round2, zero};
use crate::exercises::{Exercise, Kind};

/// Limits on one test of a student's Rust code, and on its build.
pub(crate) const TEST_WALL: Duration = Duration::from_secs(10);
const BUILD_WALL: Duration = Duration::from_secs(300);
/// A build's output is machine-read (cargo's JSON): keep more of it.
const BUILD_OUTPUT_KEPT_EACH_END: usize = 2 << 20;

/// Runs a cargo build of a student's code (`cmd`, asking for JSON
/// messages) within the build's time limit: its standard output and error,
/// or `Err` saying it took too long.
pub(super) fn run_build(
    cmd: &mut Command,
) -> Result<std::result::Result<(String, String), String>> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .context("could not run cargo")?;
    let (stdout, stderr, timed_out) =
        wait_with_limit(&mut child, BUILD_WALL, BUILD_OUTPUT_KEPT_EACH_END)?;
    if timed_out {
        return Ok(Err(format!(
            "the build took longer than {} s",
            BUILD_WALL.as_secs()
        )));
    }
    Ok(Ok((stdout.text, stderr.text)))
}

/// The reason of code that does not compile: its first error, then all
/// the compiler said.
pub(super) fn compile_failure(errors: &str) -> String {
    let first = errors
        .lines()
        .find(|l| l.starts_with("error"))
        .unwrap_or("");
    clip_start(&format!("does not compile: {first}\n{errors}"), DETAIL_MAX)
}

pub(super) fn grade_rust(
    root: &Path,
    exercise: &Exercise,
    student: &Path,
    hidden: Option<&Path>,
    slot: &Path,
) -> ExerciseGrade {
    match try_grade_rust(root, exercise, student, hidden, slot) {
        Ok(g) => g,
        Err(e) => zero(exercise, &format!("{e:#}")),
    }
}

fn try_grade_rust(
    root: &Path,
    exercise: &Exercise,
    student: &Path,
    hidden: Option<&Path>,
    slot: &Path,
) -> Result<ExerciseGrade> {
    let reference = root.join("exercises").join(&exercise.name);
    // The student's src/, everything else from the reference: tests cannot
    // be weakened and no build script of theirs runs.
    if slot.exists() {
        std::fs::remove_dir_all(slot)?;
    }
    std::fs::create_dir_all(slot)?;
    copy_tree(&student.join("src"), &slot.join("src"), 0)?;
    copy_tree(&reference.join("tests"), &slot.join("tests"), 0)?;
    for file in ["Cargo.toml", "Cargo.lock"] {
        if reference.join(file).is_file() {
            std::fs::copy(reference.join(file), slot.join(file))?;
        }
    }
    if let Some(hidden) = hidden {
        let extra = hidden.join(&exercise.name).join("tests");
        if extra.is_dir() {
            for entry in std::fs::read_dir(&extra)? {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "rs")
                    && let Some(file) = path.file_name()
                {
                    std::fs::copy(
                        &path,
                        slot.join("tests")
                            .join(format!("{HIDDEN_PREFIX}{}", file.to_string_lossy())),
                    )?;
                }
            }
        }
    }
    let target = crate::cache_dir().join("grade/target").join(&exercise.name);
    let executables = match build_tests(slot, &target)? {
        Ok(exes) => exes,
        Err(errors) => {
            return Ok(ExerciseGrade {
                reason: Some(compile_failure(&errors)),
                ..zero(exercise, "")
            });
        }
    };
    let mut tests = Vec::new();
    for exe in &executables {
        let listed = run_sandboxed(exe, &["--list", "--format", "terse"], slot, TEST_WALL)?;
        if !listed.success {
            tests.push(TestResult {
                name: exe_name(exe),
                passed: false,
                detail: format!("cannot list its tests: {}", listed.outcome),
                hidden: is_hidden(exe),
                seconds: 0.0,
            });
            continue;
        }
        for name in listed
            .output
            .lines()
            .filter_map(|l| l.strip_suffix(": test"))
        {
            let started = std::time::Instant::now();
            let run = run_sandboxed(
                exe,
                &["--exact", name, "--test-threads", "1"],
                slot,
                TEST_WALL,
            )?;
            let seconds = started.elapsed().as_secs_f64();
            tests.push(TestResult {
                name: format!("{}::{name}", exe_name(exe)),
                passed: run.success,
                detail: if run.success {
                    String::new()
                } else {
                    failure_detail(&run)
                },
                hidden: is_hidden(exe),
                seconds,
            });
        }
    }
    if tests.is_empty() {
        bail!("the exercise has no tests to grade");
    }
    let passed = tests.iter().filter(|t| t.passed).count();
    Ok(ExerciseGrade {
        exercise: exercise.name.clone(),
        kind: Kind::Rust,
        points: exercise.points,
        score: round2(f64::from(exercise.points) * passed as f64 / tests.len() as f64),
        reason: None,
        tests,
    })
}

/// Hidden test files are copied in under this prefix.
const HIDDEN_PREFIX: &str = "hidden_";

/// Whether a test executable was built from a hidden test file.
fn is_hidden(exe: &Path) -> bool {
    exe_name(exe).starts_with(HIDDEN_PREFIX)
}

/// The panic message first (what a student needs), then the outcome and the
/// end of the output.
fn failure_detail(run: &Sandboxed) -> String {
    let mut lines = run.output.lines();
    let panic = lines
        .by_ref()
        .find_map(|l| l.split_once("panicked at "))
        .map(|(_, place)| {
            let place = place.trim_end_matches(':');
            let message = lines.next().unwrap_or("").trim();
            format!("{message} (at {place})")
        });
    // Without a panic message, the outcome is the first line.
    let first = match panic {
        Some(message) => format!("{}\n{}", clip_start(&message, 500), run.outcome),
        None => run.outcome.clone(),
    };
    let cut = match run.printed {
        n if n > run.output.len() => format!(
            "\nprinted {n} bytes of output; the grader kept the first and last {} KiB",
            OUTPUT_KEPT_EACH_END >> 10
        ),
        _ => String::new(),
    };
    let detail = format!("{first}{cut}\n{}", tail(&run.output, 20));
    clip_start(&detail, DETAIL_MAX)
}

/// `text` in at most `max` bytes: its start, and how much was cut.
pub(super) fn clip_start(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    // Room for the note, whose number has at most 20 digits.
    let mut end = max.saturating_sub(" [... 18446744073709551615 bytes cut]".len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let (kept, cut) = text.split_at(end);
    format!("{kept} [... {} bytes cut]", cut.len())
}

fn exe_name(exe: &Path) -> String {
    // cargo names test binaries `<target>-<hash>`.
    let stem = exe
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_string(),
        _ => stem,
    }
}

/// Copies a folder, skipping links and anything over 1 MiB (no student file
/// may fill the disk through the grader).
pub(in crate::grade) fn copy_tree(from: &Path, to: &Path, depth: usize) -> Result<()> {
    if depth > 8 || !from.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &dest, depth + 1)?;
        } else if kind.is_file() && entry.metadata()?.len() <= 1 << 20 {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

/// Builds the test binaries; `Err(text)` with the compiler's errors when the
/// student's code does not compile.
fn build_tests(
    crate_dir: &Path,
    target: &Path,
) -> Result<std::result::Result<Vec<PathBuf>, String>> {
    let mut cmd = Command::new(crate::process::cargo());
    cmd.args([
        "test",
        "--no-run",
        "--quiet",
        "--message-format=json-render-diagnostics",
        "--manifest-path",
    ])
    .arg(crate_dir.join("Cargo.toml"))
    .arg("--target-dir")
    .arg(target);
    let (stdout, stderr) = match run_build(&mut cmd)? {
        Ok(output) => output,
        Err(too_long) => return Ok(Err(too_long)),
    };
    let mut exes = Vec::new();
    for line in stdout.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_test = msg.pointer("/profile/test").and_then(|t| t.as_bool()) == Some(true);
        if msg.get("reason").and_then(|r| r.as_str()) == Some("compiler-artifact")
            && is_test
            && let Some(exe) = msg.get("executable").and_then(|e| e.as_str())
        {
            exes.push(PathBuf::from(exe));
        }
    }
    if exes.is_empty() || exes.iter().any(|e| !e.is_file()) {
        return Ok(Err(tail(&stderr, 30)));
    }
    exes.sort();
    Ok(Ok(exes))
}

pub(super) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let skipped = all.len().saturating_sub(lines);
    all.iter()
        .skip(skipped)
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_long_details_within_the_cap() {
        assert_eq!(clip_start("short", 100), "short");
        let long = "é".repeat(1000);
        let clipped = clip_start(&long, 100);
        assert!(clipped.len() <= 100, "{} bytes", clipped.len());
        assert!(clipped.ends_with("bytes cut]"), "{clipped}");
    }

    #[test]
    fn names_test_binaries_without_their_hash() {
        assert_eq!(
            exe_name(Path::new("/t/deps/layout-0123abcd4567ef89")),
            "layout"
        );
        assert_eq!(exe_name(Path::new("/t/deps/plain")), "plain");
    }
}
