//! GitHub Classroom: the students' repository carries a workflow that
//! grades it on every push and hands the points to GitHub Classroom through
//! its own reporter (`classroom-resources/autograding-grading-reporter`),
//! one runner per exercise, with partial credit. `cargo xtask handout`
//! writes the workflow from the exercise catalogue; the handout check runs
//! its grading command here, as the workflow runs it, and reads the points
//! back as the reporter does ([`check`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::Verdicts;
use crate::exercises::Exercise;
use crate::grade::{ExerciseGrade, SubmissionGrade};

/// Where the workflow lives in the students' repository.
pub const WORKFLOW: &str = ".github/workflows/classroom.yml";

/// The id of the grading step, whose outputs the reporter reads.
const GRADE_STEP: &str = "grade";

/// The reporter, pinned to the major version GitHub Classroom generates.
const REPORTER: &str = "classroom-resources/autograding-grading-reporter@v1";

/// An exercise's runner id: its name without dashes, since the reporter
/// accepts letters and digits only (`ch01-nlmsg-layout` is `ch01nlmsglayout`).
pub fn runner_id(exercise: &str) -> String {
    exercise
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// The workflow, for the exercises of `catalog`.
pub fn workflow(catalog: &[Exercise]) -> String {
    let ids: Vec<String> = catalog.iter().map(|e| runner_id(&e.name)).collect();
    let env: String = ids
        .iter()
        .map(|id| {
            format!(
                "          {}_RESULTS: \"${{{{ steps.{GRADE_STEP}.outputs.{id} }}}}\"\n",
                id.to_uppercase()
            )
        })
        .collect();
    format!(
        r#"# GitHub Classroom autograding: on every push, grade every exercise of
# this repository as `cargo xtask grade` does, and hand the points to
# GitHub Classroom through its reporter, one runner per exercise (an
# exercise's share of passing tests earns that share of its points).
# Written by `cargo xtask handout` from exercises/exercises.toml.
name: Autograding Tests
on:
  push:
  repository_dispatch:
  workflow_dispatch:
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    # Debian 12, the lab's own system. Privileged: the grader runs each
    # test in user namespaces of its own, and the lab starts QEMU.
    container:
      image: debian:bookworm
      options: --privileged
    timeout-minutes: 90
    steps:
      - name: Tools
        run: |
          apt-get update
          apt-get install -y --no-install-recommends ca-certificates curl git gcc libc6-dev
          curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
          echo "$HOME/.cargo/bin" >> "$GITHUB_PATH"
      - name: Checkout code
        uses: actions/checkout@v4
      - name: Grade every exercise
        id: {GRADE_STEP}
        run: cargo xtask grade exercises --github-classroom "$GITHUB_OUTPUT"
      - name: Autograding Reporter
        uses: {REPORTER}
        env:
{env}        with:
          runners: {}
"#,
        ids.join(",")
    )
}

/// One exercise's result as GitHub Classroom's graders hand it to the
/// reporter (`version`, `status`, `max_score`, `tests`): one entry per
/// graded test, a passing one worth its share of the points, so that the
/// reporter's two sums (tests passed over tests, and the tests' scores)
/// both give the grader's score. An exercise graded as a whole (missing,
/// does not build) is one failing entry that says why.
fn result(e: &ExerciseGrade) -> serde_json::Value {
    let points = f64::from(e.points);
    let entry = |name: &str, passed: bool, score: f64, message: &str, seconds: f64| {
        serde_json::json!({
            "name": name,
            "status": if passed { "pass" } else { "fail" },
            "score": score,
            "message": message,
            "test_code": "",
            "filename": "",
            "line_no": 0,
            "duration": (seconds * 1000.0).round(),
        })
    };
    let tests: Vec<serde_json::Value> = match e.tests.len() {
        0 => vec![entry(
            &e.exercise,
            false,
            0.0,
            e.reason.as_deref().unwrap_or(""),
            0.0,
        )],
        n => e
            .tests
            .iter()
            .map(|t| {
                let share = if t.passed { points / n as f64 } else { 0.0 };
                // As everywhere students read: a hidden test's detail is
                // the instructor's.
                let message = if t.hidden { "" } else { t.detail.as_str() };
                entry(&t.name, t.passed, share, message, t.seconds)
            })
            .collect(),
    };
    serde_json::json!({
        "version": 1,
        "status": if e.score == points { "pass" } else { "fail" },
        "max_score": e.points,
        "tests": tests,
    })
}

/// Appends `RUNNER=BASE64(result)` for every exercise of the one
/// submission graded to `output` (the step's `$GITHUB_OUTPUT`).
pub fn write_outputs(grades: &[SubmissionGrade], output: &Path) -> Result<()> {
    let [grade] = grades else {
        bail!(
            "--github-classroom grades one repository; this grading had {} submissions",
            grades.len()
        );
    };
    let mut lines = String::new();
    for e in &grade.exercises {
        let json = serde_json::to_string(&result(e))?;
        lines.push_str(&format!(
            "{}={}\n",
            runner_id(&e.exercise),
            BASE64.encode(json)
        ));
    }
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(output)
        .and_then(|mut f| f.write_all(lines.as_bytes()))
        .with_context(|| format!("writing the step's outputs to {}", output.display()))
}

/// The handout's workflow, used here as GitHub would: its grading step's
/// command runs in the handout `repo` (every other exercise solved with
/// `solutions/` from `root`, the rest left as starters), with a
/// `$GITHUB_OUTPUT` file; then the reporter's runners and environment are
/// read as the reporter reads them, and each exercise must bring exactly
/// its points (solved) or none (starter). The handout is restored after.
pub fn check(
    root: &Path,
    repo: &Path,
    catalog: &[Exercise],
    verdicts: &mut Verdicts,
) -> Result<()> {
    let path = repo.join(WORKFLOW);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let steps = yaml
        .get("jobs")
        .and_then(|j| j.get("run-autograding-tests"))
        .and_then(|j| j.get("steps"))
        .and_then(|s| s.as_sequence())
        .context("the workflow has no steps in jobs.run-autograding-tests")?;
    let field = |step: &serde_yaml_ng::Value, key: &str| {
        step.get(key).and_then(|v| v.as_str()).map(str::to_string)
    };
    let grade = steps
        .iter()
        .find(|s| field(s, "id").as_deref() == Some(GRADE_STEP))
        .and_then(|s| field(s, "run"))
        .context("no step with id `grade` and a `run` command")?;
    let reporter = steps
        .iter()
        .find(|s| field(s, "uses").as_deref() == Some(REPORTER))
        .context("no step uses the GitHub Classroom reporter")?;
    let runners = reporter
        .get("with")
        .and_then(|w| field(w, "runners"))
        .context("the reporter has no runners")?;
    let env = reporter.get("env").cloned().unwrap_or_default();

    let solved: Vec<&Exercise> = catalog.iter().step_by(2).collect();
    for e in &solved {
        solve(root, repo, &e.name)?;
    }
    let outputs = repo.join("target/github-output");
    let _ = std::fs::remove_file(&outputs);
    let ran = Command::new("sh")
        .args(["-c", &grade])
        .current_dir(repo)
        .env("GITHUB_OUTPUT", &outputs)
        .env_remove("CARGO_TARGET_DIR")
        .stdin(Stdio::null())
        .output()
        .context("running the workflow's grading command")?;
    restore(repo)?;
    verdicts.record(
        ran.status.success(),
        format!(
            "the workflow's `{grade}` in the handout: {}\n{}",
            ran.status,
            crate::grade::rust::tail(&String::from_utf8_lossy(&ran.stderr), 30)
        ),
    );
    let written = std::fs::read_to_string(&outputs).unwrap_or_default();
    let step_outputs: BTreeMap<&str, &str> =
        written.lines().filter_map(|l| l.split_once('=')).collect();

    let listed: Vec<&str> = runners.split(',').map(str::trim).collect();
    for e in catalog {
        let id = runner_id(&e.name);
        let want = if solved.iter().any(|s| s.name == e.name) {
            f64::from(e.points)
        } else {
            0.0
        };
        let got = reported(&env, &step_outputs, &id);
        let ok = listed.contains(&id.as_str())
            && got.as_ref().is_ok_and(|r| {
                r.max_score == e.points
                    && (r.by_tests - want).abs() < 0.01
                    && (r.by_scores - want).abs() < 0.01
            });
        let got = match &got {
            Ok(r) => format!("{r:?}"),
            Err(e) => format!("{e:#}"),
        };
        verdicts.record(
            ok,
            format!(
                "GitHub Classroom runner {id} ({}): expected {want}/{} in the runners list, got {got}",
                e.name, e.points
            ),
        );
    }
    println!(
        "  GitHub Classroom: the workflow's grading command run in the handout, {} runners read as the reporter reads them",
        catalog.len()
    );
    Ok(())
}

/// What the reporter makes of one runner: its `max_score`, its score as
/// its console shows it (tests passed over tests, times `max_score`) and
/// as it tells GitHub Classroom (the sum of the tests' scores).
#[derive(Debug)]
#[allow(dead_code)] // Debug prints it in a failure.
struct Reported {
    max_score: u32,
    by_tests: f64,
    by_scores: f64,
}

fn reported(
    env: &serde_yaml_ng::Value,
    outputs: &BTreeMap<&str, &str>,
    id: &str,
) -> Result<Reported> {
    let variable = format!("{}_RESULTS", id.to_uppercase());
    let value = env
        .get(&variable)
        .and_then(|v| v.as_str())
        .with_context(|| format!("the reporter's env has no {variable}"))?;
    // `${{ steps.grade.outputs.KEY }}`, as GitHub expands it.
    let key = value
        .trim()
        .strip_prefix("${{")
        .and_then(|v| v.strip_suffix("}}"))
        .map(str::trim)
        .and_then(|v| v.strip_prefix(&format!("steps.{GRADE_STEP}.outputs.")))
        .with_context(|| format!("{variable} is not a grading step's output: {value}"))?;
    let encoded = outputs
        .get(key)
        .with_context(|| format!("the grading step wrote no output `{key}`"))?;
    let json: serde_json::Value = serde_json::from_slice(&BASE64.decode(encoded)?)?;
    let max_score = json
        .get("max_score")
        .and_then(serde_json::Value::as_u64)
        .context("no max_score")?;
    let tests = json
        .get("tests")
        .and_then(serde_json::Value::as_array)
        .context("no tests")?;
    let passed = tests.iter().filter(|t| t["status"] == "pass").count();
    let by_scores = tests.iter().filter_map(|t| t["score"].as_f64()).sum();
    Ok(Reported {
        max_score: u32::try_from(max_score)?,
        by_tests: passed as f64 / tests.len().max(1) as f64 * max_score as f64,
        by_scores,
    })
}

/// A student's work on `exercise`: the solution's `src/` and module
/// sources copied over the handout's starter.
fn solve(root: &Path, repo: &Path, exercise: &str) -> Result<()> {
    let solution = root.join("solutions").join(exercise);
    let starter = repo.join("exercises").join(exercise);
    crate::grade::rust::copy_tree(&solution.join("src"), &starter.join("src"), 0)?;
    for entry in std::fs::read_dir(&solution)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "c" || e == "h")
            && let Some(name) = path.file_name()
        {
            std::fs::copy(&path, starter.join(name))?;
        }
    }
    Ok(())
}

/// The handout as committed again.
fn restore(repo: &Path) -> Result<()> {
    for args in [
        &["checkout", "--quiet", "--", "exercises"][..],
        &["clean", "--quiet", "-fd", "--", "exercises"][..],
    ] {
        crate::process::run(Command::new("git").arg("-C").arg(repo).args(args))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercises::Kind;
    use crate::grade::TestResult;

    fn exercise(name: &str, points: u32) -> Exercise {
        Exercise {
            name: name.into(),
            chapter: "ch01".into(),
            kind: Kind::Rust,
            points,
            hints: Vec::new(),
        }
    }

    #[test]
    fn runner_ids_are_letters_and_digits() {
        assert_eq!(runner_id("ch01-nlmsg-layout"), "ch01nlmsglayout");
    }

    #[test]
    fn the_workflow_parses_and_wires_every_runner_to_the_grading_step() {
        let catalog = [exercise("ch01-a", 10), exercise("ch02-b", 15)];
        let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&workflow(&catalog)).unwrap();
        let steps = yaml["jobs"]["run-autograding-tests"]["steps"]
            .as_sequence()
            .unwrap();
        let reporter = steps.iter().find(|s| s["uses"] == REPORTER).unwrap();
        assert_eq!(reporter["with"]["runners"], "ch01a,ch02b");
        assert_eq!(
            reporter["env"]["CH02B_RESULTS"],
            "${{ steps.grade.outputs.ch02b }}"
        );
    }

    #[test]
    fn partial_credit_reads_the_same_both_ways() {
        let test = |passed| TestResult {
            name: "t".into(),
            passed,
            detail: String::new(),
            hidden: false,
            seconds: 0.5,
        };
        let e = ExerciseGrade {
            exercise: "ch01-a".into(),
            kind: Kind::Rust,
            points: 10,
            score: 6.67,
            reason: None,
            tests: vec![test(true), test(true), test(false)],
        };
        let encoded = BASE64.encode(serde_json::to_string(&result(&e)).unwrap());
        let env: serde_yaml_ng::Value =
            serde_yaml_ng::from_str("CH01A_RESULTS: \"${{ steps.grade.outputs.ch01a }}\"").unwrap();
        let outputs = BTreeMap::from([("ch01a", encoded.as_str())]);
        let r = reported(&env, &outputs, "ch01a").unwrap();
        assert_eq!(r.max_score, 10);
        assert!((r.by_tests - 20.0 / 3.0).abs() < 1e-9, "{r:?}");
        assert!((r.by_scores - 20.0 / 3.0).abs() < 1e-9, "{r:?}");
    }
}
