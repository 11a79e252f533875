//! Gradescope: `cargo xtask grade --gradescope-package OUT.zip` builds an
//! autograder as Gradescope documents it. The zip holds `setup.sh`, which
//! Gradescope runs once when it builds the autograder's image (packages,
//! the Rust toolchain, then everything grading needs, built by grading the
//! starters once), and `run_autograder`, which it runs for each submission:
//! it grades `/autograder/submission` offline and writes
//! `/autograder/results/results.json`. Beside them: the students'
//! repository (the handout: the tool, the exercises and their tests, no
//! solutions) and the instructor's hidden tests, if any.
//!
//! [`check`] (a step of the test command) unpacks the zip into a fresh
//! folder laid out as Gradescope lays it out, runs `setup.sh`, then
//! `run_autograder` on three submissions with the network cut, and reads
//! each `results.json` against the format and the expected scores.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

use crate::Verdicts;
use crate::grade::{ExerciseGrade, SubmissionGrade};

/// The packaged workbook's folder, in the autograder's source.
const WORKBOOK: &str = "workbook";
/// The instructor's hidden tests, in the autograder's source.
const HIDDEN: &str = "hidden-tests";

/// Run by Gradescope when it builds the autograder's image, as root, from
/// `/autograder/source`. `AUTOGRADER` moves `/autograder` (the check runs
/// it under `target/`).
const SETUP: &str = r#"#!/bin/sh
# Gradescope runs this once, as root, when it builds the autograder.
# It installs what grading needs and builds everything once, by grading
# the starters, so that each grading is offline and warm.
set -eu
base=${AUTOGRADER:-/autograder}
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl git gcc libc6-dev
if ! command -v cargo >/dev/null; then
	curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
fi
PATH="$HOME/.cargo/bin:$PATH"
cd "$base/source/workbook"
cargo xtask grade exercises --out target/gradescope-setup
"#;

/// Run by Gradescope for each submission, as root.
const RUN: &str = r#"#!/bin/sh
# Gradescope runs this for each submission: grade /autograder/submission
# (a copy of exercises/, or the students' repository) without the network,
# and write /autograder/results/results.json.
set -eu
base=${AUTOGRADER:-/autograder}
PATH="$HOME/.cargo/bin:$PATH"
export CARGO_NET_OFFLINE=true
cd "$base/source/workbook"
hidden=
if [ -d "$base/source/hidden-tests" ]; then
	hidden="--hidden-tests $base/source/hidden-tests"
fi
# shellcheck disable=SC2086 # $hidden is two words or none
cargo xtask grade "$base/submission" $hidden --out target/gradescope-run \
	--gradescope "$base/results/results.json"
"#;

/// `cargo xtask grade --gradescope-package OUT.zip [--hidden-tests DIR]`.
pub fn package(root: &Path, zip_path: &Path, hidden: Option<&Path>) -> Result<()> {
    let staging = crate::cache_dir().join("gradescope/package");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    crate::handout::write(root, &staging.join(WORKBOOK))
        .context("the autograder's workbook (the students' repository)")?;
    if let Some(hidden) = hidden {
        let catalog = crate::exercises::catalog(root)?;
        crate::grade::collect::check_hidden_tests(hidden, &catalog)?;
        copy_dereferenced(hidden, &staging.join(HIDDEN))?;
    }
    std::fs::write(staging.join("setup.sh"), SETUP)?;
    std::fs::write(staging.join("run_autograder"), RUN)?;
    if let Some(parent) = zip_path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let file = std::fs::File::create(zip_path)
        .with_context(|| format!("creating {}", zip_path.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    add_tree(&mut zip, &staging, Path::new(""))?;
    zip.finish()?;
    Ok(())
}

/// Every file under `dir` into the zip, named from the zip's top, with its
/// mode (the scripts stay executable); `.git` and `target` stay out.
fn add_tree(zip: &mut zip::ZipWriter<std::fs::File>, dir: &Path, prefix: &Path) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        let name = path.file_name().context("a file name")?;
        if name == ".git" || name == "target" {
            continue;
        }
        let inside = prefix.join(name);
        let shown = inside.to_string_lossy().into_owned();
        let meta = std::fs::metadata(&path)?;
        use std::os::unix::fs::PermissionsExt as _;
        let executable = meta.permissions().mode() & 0o111 != 0
            || shown == "setup.sh"
            || shown == "run_autograder";
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .unix_permissions(if executable { 0o755 } else { 0o644 });
        if meta.is_dir() {
            zip.add_directory(format!("{shown}/"), options)?;
            add_tree(zip, &path, &inside)?;
        } else {
            zip.start_file(shown, options)?;
            zip.write_all(&std::fs::read(&path)?)?;
        }
    }
    Ok(())
}

/// Copies a folder as `cp -rL` would: links followed.
fn copy_dereferenced(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        let dest = to.join(path.file_name().context("a file name")?);
        if path.is_dir() {
            copy_dereferenced(&path, &dest)?;
        } else {
            std::fs::copy(&path, &dest).with_context(|| format!("copying {}", path.display()))?;
        }
    }
    Ok(())
}

/// Gradescope's `results.json` for the one submission graded: per graded
/// test its share of the exercise's points; an exercise graded as a whole
/// (missing, does not build) is one entry that says why. A hidden test
/// shows to the student once the grades are published, without its output
/// (the instructor's, as everywhere students read).
pub fn write_results(grades: &[SubmissionGrade], path: &Path, seconds: f64) -> Result<()> {
    let [grade] = grades else {
        bail!(
            "--gradescope grades one submission; this grading had {}",
            grades.len()
        );
    };
    let mut tests = Vec::new();
    for e in &grade.exercises {
        tests.extend(entries(e));
    }
    let hidden = grade
        .exercises
        .iter()
        .flat_map(|e| &e.tests)
        .filter(|t| t.hidden);
    let (hidden_passed, hidden_all) =
        hidden.fold((0, 0), |(p, n), t| (p + usize::from(t.passed), n + 1));
    let mut output = format!("{} of {} points.", grade.score, grade.max);
    if hidden_all > 0 {
        output.push_str(&format!(
            " Hidden tests: {hidden_passed} of {hidden_all} passed."
        ));
    }
    let results = serde_json::json!({
        "score": grade.score,
        "execution_time": seconds.round(),
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    });
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(&results)?)
        .with_context(|| format!("writing {}", path.display()))
}

fn entries(e: &ExerciseGrade) -> Vec<serde_json::Value> {
    let points = f64::from(e.points);
    if e.tests.is_empty() {
        return vec![serde_json::json!({
            "name": e.exercise,
            "score": 0.0,
            "max_score": points,
            "output": e.reason.as_deref().unwrap_or(""),
            "visibility": "visible",
        })];
    }
    let share = points / e.tests.len() as f64;
    e.tests
        .iter()
        .map(|t| {
            serde_json::json!({
                "name": format!("{}: {}", e.exercise, if t.hidden { "hidden test" } else { &t.name }),
                "score": if t.passed { share } else { 0.0 },
                "max_score": share,
                "output": if t.hidden { "" } else { &t.detail },
                "visibility": if t.hidden { "after_published" } else { "visible" },
            })
        })
        .collect()
}

/// The test command's Gradescope step; see the module's documentation.
pub fn check(root: &Path) -> Result<(usize, usize)> {
    let base = crate::cache_dir().join("gradescope/check");
    let zip_path = base.join("autograder.zip");
    let hidden = root.join("tests/fixtures/hidden-tests");
    package(root, &zip_path, Some(&hidden))?;
    // Fresh, as Gradescope makes it: the zip unpacked into source/, an
    // empty submission/ and results/. The workbook's build folder is the
    // handout check's (the same students' repository: the crates.io
    // dependencies compile once for both), and the lab's download cache is
    // this repository's; both outlive the run.
    let autograder = base.join("autograder");
    if autograder.exists() {
        std::fs::remove_dir_all(&autograder)?;
    }
    let source = autograder.join("source");
    std::fs::create_dir_all(&source)?;
    zip::ZipArchive::new(std::fs::File::open(&zip_path)?)?
        .extract(&source)
        .context("unpacking the autograder")?;
    let target = root.join("target/handout-check/target");
    std::fs::create_dir_all(&target)?;
    std::os::unix::fs::symlink(&target, source.join(WORKBOOK).join("target"))?;
    if std::fs::symlink_metadata(target.join("lab")).is_err() {
        std::os::unix::fs::symlink(root.join("target/lab"), target.join("lab"))?;
    }
    // Each script as Gradescope runs it: executed (the zip kept its mode),
    // from the autograder's source; run_autograder with no network.
    let run = |script: &str, offline: bool| -> Result<std::process::Output> {
        let path = source.join(script);
        let mut cmd = match offline {
            true => {
                let mut c = Command::new("unshare");
                c.args(["--net", "--"]).arg(&path);
                c
            }
            false => Command::new(&path),
        };
        cmd.current_dir(&source)
            .env("AUTOGRADER", &autograder)
            .env_remove("CARGO_TARGET_DIR")
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {script}"))
    };
    let mut verdicts = Verdicts::default();
    let setup = run("setup.sh", false)?;
    verdicts.record(
        setup.status.success(),
        format!(
            "setup.sh: {}\n{}",
            setup.status,
            crate::grade::rust::tail(&String::from_utf8_lossy(&setup.stderr), 30)
        ),
    );
    let fixtures = root.join("tests/fixtures/submissions");
    let expected: toml::Table =
        toml::from_str(&std::fs::read_to_string(fixtures.join("expected.toml"))?)?;
    let catalog = crate::exercises::catalog(root)?;
    for (name, dir) in [
        ("solutions", root.join("solutions")),
        ("half-done", fixtures.join("half-done")),
        ("hostile", fixtures.join("hostile")),
    ] {
        let submission = autograder.join("submission");
        let results = autograder.join("results");
        for d in [&submission, &results] {
            if d.exists() {
                std::fs::remove_dir_all(d)?;
            }
            std::fs::create_dir_all(d)?;
        }
        copy_dereferenced(&dir, &submission)?;
        let graded = run("run_autograder", true)?;
        verdicts.record(
            graded.status.success(),
            format!(
                "run_autograder on {name}: {}\n{}",
                graded.status,
                crate::grade::rust::tail(&String::from_utf8_lossy(&graded.stderr), 30)
            ),
        );
        let json = std::fs::read_to_string(results.join("results.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .unwrap_or_default();
        let problems = format_problems(&json);
        verdicts.record(
            problems.is_empty(),
            format!("{name}: results.json: {}", problems.join("; ")),
        );
        for e in &catalog {
            let want = match name {
                "solutions" => f64::from(e.points),
                fixture => expected
                    .get(fixture)
                    .and_then(|f| f.get(&e.name))
                    .and_then(|x| x.get("score"))
                    .and_then(toml::Value::as_float)
                    .unwrap_or(0.0),
            };
            let got = exercise_score(&json, &e.name);
            verdicts.record(
                (got - want).abs() < 0.01,
                format!(
                    "{name} {}: results.json gives {got}, expected {want}",
                    e.name
                ),
            );
        }
    }
    println!(
        "  Gradescope: the autograder unpacked as Gradescope lays it out, setup.sh run, run_autograder on the solutions, a half-done and a hostile submission, offline"
    );
    Ok((verdicts.passed, verdicts.failed))
}

/// What `results.json` gets wrong against Gradescope's format: the total
/// `score`, and per test `name`, `score`, `max_score`, `output` and a
/// known `visibility`; the total is the tests' sum.
fn format_problems(json: &serde_json::Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(score) = json.get("score").and_then(serde_json::Value::as_f64) else {
        return vec!["no numeric `score`".into()];
    };
    let Some(tests) = json.get("tests").and_then(serde_json::Value::as_array) else {
        return vec!["no `tests` array".into()];
    };
    let mut sum = 0.0;
    for (i, t) in tests.iter().enumerate() {
        let number = |k: &str| t.get(k).and_then(serde_json::Value::as_f64);
        let text = |k: &str| t.get(k).and_then(serde_json::Value::as_str);
        match (
            number("score"),
            number("max_score"),
            text("name"),
            text("output"),
        ) {
            (Some(s), Some(m), Some(_), Some(_)) if s <= m + 1e-9 => sum += s,
            _ => problems.push(format!(
                "test {i} lacks name, output, or a score within max_score"
            )),
        }
        let visibility = text("visibility").unwrap_or("");
        if !["visible", "hidden", "after_due_date", "after_published"].contains(&visibility) {
            problems.push(format!("test {i}: visibility `{visibility}`"));
        }
        if visibility == "after_published" && text("output") != Some("") {
            problems.push(format!("test {i}: a hidden test's output is shown"));
        }
    }
    if (sum - score).abs() > 0.01 {
        problems.push(format!("score {score} is not the tests' sum {sum}"));
    }
    problems
}

/// An exercise's score in `results.json`: its tests' scores, summed.
fn exercise_score(json: &serde_json::Value, exercise: &str) -> f64 {
    json.get("tests")
        .and_then(serde_json::Value::as_array)
        .map(|tests| {
            tests
                .iter()
                .filter(|t| {
                    t.get("name")
                        .and_then(serde_json::Value::as_str)
                        .is_some_and(|n| n == exercise || n.starts_with(&format!("{exercise}: ")))
                })
                .filter_map(|t| t.get("score").and_then(serde_json::Value::as_f64))
                .sum()
        })
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercises::Kind;
    use crate::grade::TestResult;

    fn test(name: &str, passed: bool, hidden: bool) -> TestResult {
        TestResult {
            name: name.into(),
            passed,
            detail: if passed {
                String::new()
            } else {
                "input 7: wrong".into()
            },
            hidden,
            seconds: 0.1,
        }
    }

    #[test]
    fn results_follow_the_format_and_hide_hidden_tests() {
        let grade = SubmissionGrade {
            submission: "alice".into(),
            score: 7.5,
            max: 20,
            exercises: vec![
                ExerciseGrade {
                    exercise: "ch01-a".into(),
                    kind: Kind::Rust,
                    points: 10,
                    score: 7.5,
                    reason: None,
                    tests: vec![
                        test("a", true, false),
                        test("b", true, false),
                        test("c", true, false),
                        test("hidden_x::t", false, true),
                    ],
                },
                ExerciseGrade {
                    exercise: "ch07-m".into(),
                    kind: Kind::Kmod,
                    points: 10,
                    score: 0.0,
                    reason: Some("missing from the submission".into()),
                    tests: Vec::new(),
                },
            ],
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        write_results(&[grade], &path, 12.3).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(format_problems(&json), Vec::<String>::new());
        assert!((exercise_score(&json, "ch01-a") - 7.5).abs() < 1e-9);
        assert_eq!(exercise_score(&json, "ch07-m"), 0.0);
        let hidden = &json["tests"][3];
        assert_eq!(hidden["visibility"], "after_published");
        assert_eq!(hidden["output"], "");
        assert_eq!(hidden["name"], "ch01-a: hidden test");
        assert_eq!(json["tests"][4]["output"], "missing from the submission");
        assert_eq!(
            json["output"],
            "7.5 of 20 points. Hidden tests: 0 of 1 passed."
        );
    }
}
