//! The exercise set checks itself (the rustlings idea), through the grader
//! instructors use: the solutions score full marks, the committed starters
//! zero, the fixture submissions their expected scores, and a student's
//! work in `exercises/` never turns that check red.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::exercises::catalog;
use crate::workspace;

/// The starters as committed, never as a student left them: students solve
/// the exercises in place, in `exercises/`, and their work must not turn the
/// self-check (a step of `cargo xtask test`) red. In a git checkout,
/// `exercises/` of `HEAD` is exported with `git archive` into
/// `work/exercises` (emptied first) and that folder is returned. Outside a
/// git checkout (a tarball of the workbook) there is no committed version to
/// take: the working copy of `exercises/` is graded as it is, with a note
/// saying so, and an exercise solved in place shows as WRONG.
pub fn pristine_starters(root: &Path, work: &Path) -> Result<std::path::PathBuf> {
    let inside_git = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--is-inside-work-tree"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !inside_git {
        eprintln!(
            "note: {} is not a git checkout: the self-check grades the starters in exercises/ as they are, so an exercise solved there counts as a starter that passes",
            root.display()
        );
        return Ok(root.join("exercises"));
    }
    if work.exists() {
        std::fs::remove_dir_all(work).with_context(|| format!("emptying {}", work.display()))?;
    }
    std::fs::create_dir_all(work)?;
    crate::process::export_head(root, &["exercises"], work)
        .context("exporting the committed starters")?;
    Ok(work.join("exercises"))
}

/// The exercise set checks itself (the rustlings idea), through the grader
/// instructors use: `solutions/` scores full marks on every exercise, the
/// starters as committed (`pristine_starters`) score zero on every one, and the half-done and
/// hostile submissions in `tests/fixtures/submissions` score exactly what
/// `expected.toml` there says. Graded as one class, the solutions last, with
/// the hidden tests in `tests/fixtures/hidden-tests` (as an instructor's
/// `--hidden-tests`): the hostile submissions before them must not cost them
/// a point, leave a process behind or let a report grow without bound, and
/// the escaping one tries to read the hidden tests, the solutions, its
/// sibling submissions and the grader's files, each attempt scored with its
/// reason. Returns (checks passed, checks failed).
pub fn self_check(only: &[String]) -> Result<(usize, usize)> {
    self_check_of(&workspace::root(), only)
}

/// The self-check of the workbook checked out at `root` (this one, or a
/// clone of it): its committed starters, fixtures and solutions.
fn self_check_of(root: &Path, only: &[String]) -> Result<(usize, usize)> {
    if !root.join("solutions").is_dir() {
        bail!(
            "{} has no solutions/: it is a students' handout, and the self-check grades the \
             solutions; run it in the instructors' repository",
            root.display()
        );
    }
    let fixtures = root.join("tests/fixtures/submissions");
    let hidden = root.join("tests/fixtures/hidden-tests");
    let starters = pristine_starters(root, &crate::cache_dir().join("self-check"))?;
    let mut submissions = vec![("exercises".to_string(), starters)];
    let catalog = catalog(root)?;
    submissions.extend(super::collect::collect(&fixtures, true, &catalog)?.submissions);
    submissions.push(("solutions".to_string(), root.join("solutions")));
    let grades = super::grade(&submissions, Some(&hidden), only)?;
    let expected: toml::Table =
        toml::from_str(&std::fs::read_to_string(fixtures.join("expected.toml"))?)?;
    let mut verdicts = crate::Verdicts::default();
    let left = super::sandbox_processes();
    verdicts.record(
        left.is_empty(),
        format!("processes of graded code outlived grading: {left:?}"),
    );
    for g in &grades {
        for e in &g.exercises {
            let at = format!(
                "{} {}: scored {}/{}",
                g.submission, e.exercise, e.score, e.points
            );
            let longest = e
                .reason
                .iter()
                .chain(e.tests.iter().map(|t| &t.detail))
                .map(String::len)
                .max()
                .unwrap_or(0);
            verdicts.record(
                longest <= super::DETAIL_MAX,
                format!("{at}: a reason of {longest} bytes, over the grader's cap"),
            );
            match g.submission.as_str() {
                "solutions" => verdicts.record(
                    e.score == f64::from(e.points),
                    format!("{at}, a solution must score full marks"),
                ),
                "exercises" => verdicts.record(
                    e.score == 0.0 && e.tests.iter().all(|t| !t.passed),
                    format!("{at}, every test of an untouched starter must fail"),
                ),
                fixture => {
                    let want = expected.get(fixture).and_then(|f| f.get(&e.exercise));
                    let Some(want) = want else {
                        // A fixture leaves out the exercises it is not about.
                        let absent = e.score == 0.0
                            && e.reason.as_deref() == Some("missing from the submission");
                        verdicts.record(absent, format!("{at}: expected.toml says nothing of it"));
                        continue;
                    };
                    let score = want.get("score").and_then(|v| v.as_float()).unwrap_or(-1.0);
                    verdicts.record(
                        (e.score - score).abs() < 0.005,
                        format!("{at}, expected {score}"),
                    );
                    let reasons = want
                        .get("reasons")
                        .and_then(|v| v.as_array())
                        .cloned()
                        .unwrap_or_default();
                    for reason in reasons.iter().filter_map(|r| r.as_str()) {
                        let said = e
                            .reason
                            .iter()
                            .chain(e.tests.iter().map(|t| &t.detail))
                            .any(|r| r.contains(reason));
                        verdicts.record(said, format!("{at}: no reason mentions `{reason}`"));
                    }
                }
            }
        }
    }
    // Hidden tests reach the grading: the solutions must have run the
    // fixture's hidden test (and passed it).
    const WITH_HIDDEN_TEST: &str = "ch01-nlmsg-layout";
    if only.is_empty() || only.iter().any(|e| e == WITH_HIDDEN_TEST) {
        let ran_hidden = grades
            .iter()
            .filter(|g| g.submission == "solutions")
            .flat_map(|g| &g.exercises)
            .filter(|e| e.exercise == WITH_HIDDEN_TEST)
            .flat_map(|e| &e.tests)
            .any(|t| t.name.starts_with("hidden_instructor::") && t.passed);
        verdicts.record(
            ran_hidden,
            "the hidden test in tests/fixtures/hidden-tests was not run, or failed".to_string(),
        );
    }
    Ok((verdicts.passed, verdicts.failed))
}

/// The exercise a student solves in place to show that it cannot turn the
/// test command red.
const SOLVED_IN_PLACE: &str = "ch06-lost-messages";

/// What a student does, then the test command's exercise step: a clone of
/// this workbook's committed state gets `SOLVED_IN_PLACE` solved in its
/// `exercises/` (the solution's `src/` copied over the starter's), and the
/// self-check of that clone, for that exercise, must still pass, with the
/// starter it grades still the committed one.
pub fn solved_in_place_check() -> Result<(usize, usize)> {
    let root = workspace::root();
    let scratch = crate::cache_dir().join("tmp");
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let clone = tempfile::Builder::new()
        .prefix("solved-in-place-")
        .tempdir_in(&scratch)
        .with_context(|| format!("making a folder in {}", scratch.display()))?;
    let status = Command::new("git")
        .args(["clone", "--quiet", "--local", "--no-hardlinks"])
        .arg(&root)
        .arg(clone.path())
        .status()
        .context("running git clone")?;
    if !status.success() {
        bail!(
            "could not clone {} to solve an exercise in place",
            root.display()
        );
    }
    let solution = root.join("solutions").join(SOLVED_IN_PLACE).join("src");
    let in_place = clone
        .path()
        .join("exercises")
        .join(SOLVED_IN_PLACE)
        .join("src");
    for entry in
        std::fs::read_dir(&solution).with_context(|| format!("reading {}", solution.display()))?
    {
        let from = entry?.path();
        if let Some(name) = from.file_name() {
            std::fs::copy(&from, in_place.join(name))
                .with_context(|| format!("copying {}", from.display()))?;
        }
    }
    let (passed, failed) = self_check_of(clone.path(), &[SOLVED_IN_PLACE.to_string()])?;
    // The check graded the committed starter, not the solved copy.
    let graded = crate::cache_dir()
        .join("self-check/exercises")
        .join(SOLVED_IN_PLACE)
        .join("src/lib.rs");
    let committed =
        std::fs::read(&graded).with_context(|| format!("reading {}", graded.display()))?;
    let solved = std::fs::read(in_place.join("lib.rs"))?;
    let starter_graded = committed != solved;
    if !starter_graded {
        eprintln!("    WRONG: the self-check graded the exercise solved in place");
    }
    Ok((
        passed + usize::from(starter_graded),
        failed + usize::from(!starter_graded),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    /// A student solves an exercise in place: the self-check still grades
    /// the starter as committed, and the student's file is left alone.
    #[test]
    fn self_check_grades_the_committed_starters_not_the_solved_ones() {
        let repo = tempfile::tempdir().unwrap();
        let src = repo.path().join("exercises/ch06-lost-messages/src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("lib.rs"), "todo!()\n").unwrap();
        git(repo.path(), &["init", "-q"]);
        git(repo.path(), &["add", "exercises"]);
        git(repo.path(), &["commit", "-q", "-m", "starter"]);
        std::fs::write(src.join("lib.rs"), "solved\n").unwrap();
        let work = repo.path().join("target/self-check");
        let starters = pristine_starters(repo.path(), &work).unwrap();
        assert_eq!(starters, work.join("exercises"));
        let graded = starters.join("ch06-lost-messages/src/lib.rs");
        assert_eq!(std::fs::read_to_string(graded).unwrap(), "todo!()\n");
        assert_eq!(
            std::fs::read_to_string(src.join("lib.rs")).unwrap(),
            "solved\n"
        );
        // A second run starts from an empty folder.
        std::fs::write(work.join("exercises/stray"), "x").unwrap();
        let again = pristine_starters(repo.path(), &work).unwrap();
        assert!(!again.join("stray").exists());
    }

    #[test]
    fn outside_git_the_working_copy_is_graded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("exercises")).unwrap();
        let starters = pristine_starters(dir.path(), &dir.path().join("w")).unwrap();
        assert_eq!(starters, dir.path().join("exercises"));
    }
}
