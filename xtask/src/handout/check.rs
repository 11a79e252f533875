//! The test command's handout step (`cargo xtask handout --check`).

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use super::{WITHHELD, write};
use crate::{exercises, process};

/// The test command's handout step: a fresh handout of `HEAD`, used as a
/// student would. It must hold nothing withheld and name nothing it lacks;
/// its own tool must list the exercises, build the book, and check every
/// starter as not done yet (failing tests, not a missing file); its GitHub
/// Classroom workflow must grade it.
pub fn check(root: &Path) -> Result<(usize, usize)> {
    let base = root.join("target/handout-check");
    let repo = base.join("repo");
    if repo.exists() {
        std::fs::remove_dir_all(&repo).with_context(|| format!("emptying {}", repo.display()))?;
    }
    write(root, &repo)?;
    // The handout builds into a target/ of its own (never this repository's:
    // cargo would reuse crates compiled for another checkout), kept beside
    // it so that the next run is warm. The lab's kernels are a download
    // cache, shared with this repository's.
    let target = base.join("target");
    std::fs::create_dir_all(&target)?;
    std::os::unix::fs::symlink(&target, repo.join("target"))?;
    let lab = target.join("lab");
    if std::fs::symlink_metadata(&lab).is_err() {
        std::os::unix::fs::symlink(root.join("target/lab"), &lab)?;
    }
    let mut verdicts = crate::Verdicts::default();
    for withheld in WITHHELD {
        verdicts.record(
            !repo.join(withheld).exists(),
            format!("the handout holds {withheld}"),
        );
    }
    let commits = process::output(
        Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(["rev-list", "--count", "HEAD"]),
    )?;
    verdicts.record(
        commits.trim() == "1",
        format!("the handout has {} commits, not one", commits.trim()),
    );
    // Outside the tool (which knows the instructors' repository too),
    // nothing names a folder the handout lacks.
    let mentions = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args([
            "grep",
            "-n",
            "-e",
            "solutions/",
            "-e",
            "tests/fixtures",
            "-e",
            "tests/tests",
        ])
        .args(["-e", ".ci/", "-e", "appendix-b", "--", ".", ":!xtask"])
        .output()
        .context("running git grep in the handout")?;
    let mentions = String::from_utf8_lossy(&mentions.stdout);
    verdicts.record(
        mentions.trim().is_empty(),
        format!("the handout names files it does not hold:\n{mentions}"),
    );
    let xtask = |args: &[&str]| {
        Command::new("cargo")
            .arg("xtask")
            .args(args)
            .current_dir(&repo)
            .env_remove("CARGO_TARGET_DIR")
            .stdin(Stdio::null())
            .output()
    };
    let listed = xtask(&["exercise", "--list"])?;
    let list = String::from_utf8_lossy(&listed.stdout);
    let catalog = exercises::catalog(root)?;
    verdicts.record(
        listed.status.success() && catalog.iter().all(|e| list.contains(&e.name)),
        format!(
            "`cargo xtask exercise --list` in the handout: {}\n{list}{}",
            listed.status,
            String::from_utf8_lossy(&listed.stderr)
        ),
    );
    let book = xtask(&["book"])?;
    let built = repo.join("target/book");
    let solution_pages = std::fs::read_dir(built.join("exercises"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().ends_with("-solution.html"))
                .count()
        })
        .unwrap_or(0);
    verdicts.record(
        book.status.success() && solution_pages == 0 && built.join("index.html").is_file(),
        format!(
            "`cargo xtask book` in the handout: {}, {solution_pages} solution pages\n{}",
            book.status,
            String::from_utf8_lossy(&book.stderr)
        ),
    );
    for exercise in &catalog {
        let checked = xtask(&["exercise", &exercise.name])?;
        let stdout = String::from_utf8_lossy(&checked.stdout);
        let not_done = format!("The statement is in exercises/{}/README.md.", exercise.name);
        verdicts.record(
            !checked.status.success() && stdout.contains(&not_done),
            format!(
                "`cargo xtask exercise {}` in the handout should find the starter not done yet: {}\n{}{}",
                exercise.name,
                checked.status,
                stdout,
                String::from_utf8_lossy(&checked.stderr)
            ),
        );
    }
    println!(
        "  handout: {} exercises checked as not done yet, the book built, nothing withheld or named that is missing",
        catalog.len()
    );
    crate::grade::platforms::github_classroom::check(root, &repo, &catalog, &mut verdicts)?;
    Ok((verdicts.passed, verdicts.failed))
}
