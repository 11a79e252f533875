//! `cargo xtask handout DIR`: the repository students get. A fresh git
//! repository, with none of this one's history, holding what is committed
//! here less everything students must not have: the chapters, the modules,
//! the exercises, the tool, the lab's recorded outputs and the book's
//! sources in the course edition; no `solutions/`, no hidden tests, no
//! grading fixtures, no instructors' appendix, no CI.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::book::collect_markdown;
use crate::book::edition::{course_summary, course_text, left_out_of_course};
use crate::{exercises, process, workspace};

/// What of this repository's committed tree the handout takes.
const HANDED_OUT: &[&str] = &[
    ".cargo",
    ".gitignore",
    "Cargo.lock",
    "Cargo.toml",
    "clippy.toml",
    "book",
    "chapters",
    "kmod",
    "exercises",
    "xtask",
    "tests/hostile-client",
    "tests/snapshots",
];
/// What the handout must not hold, whatever `HANDED_OUT` says.
pub const WITHHELD: &[&str] = &["solutions", "tests/fixtures", "tests/tests", ".ci", "fuzz"];
/// The handout's workspace: this one's, less the whole-project tests.
const MEMBERS: &str = r#"members = ["xtask", "xtask/launcher", "xtask/book-builder", "xtask/book-url", "chapters/*", "tests/hostile-client"]"#;
/// The students' README, in place of this one.
const README: &str = include_str!("README.md");

mod check;
pub use check::check;

/// `cargo xtask handout`'s arguments.
#[derive(clap::Args)]
pub struct HandoutArgs {
    /// A folder that does not exist yet (or is empty): the handout's repository.
    #[arg(required_unless_present = "check")]
    pub dir: Option<PathBuf>,
    /// Instead, make a handout under target/ and use it as a student would
    /// (also a step of `cargo xtask test`).
    #[arg(long, conflicts_with = "dir")]
    pub check: bool,
}

/// `cargo xtask handout DIR`, or `--check`.
pub fn run(args: &HandoutArgs) -> Result<()> {
    let root = workspace::root();
    let Some(dir) = &args.dir else {
        let (passed, failed) = check(&root)?;
        if failed > 0 {
            bail!("handout check: {failed} failed, {passed} passed");
        }
        println!("handout check: all {passed} passed");
        return Ok(());
    };
    let uncommitted = process::output(Command::new("git").arg("-C").arg(&root).args([
        "status",
        "--porcelain",
        "--untracked-files=no",
    ]))?;
    if !uncommitted.trim().is_empty() {
        eprintln!("note: changes not committed here are not in the handout (it takes HEAD)");
    }
    write(&root, dir)?;
    println!(
        "handout written: {} (a git repository of one commit; push it where your students clone from)",
        dir.display()
    );
    Ok(())
}

/// Writes the handout of the repository at `root` (its `HEAD`) into `dir`.
pub fn write(root: &Path, dir: &Path) -> Result<()> {
    let occupied = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if occupied {
        bail!(
            "{} is not empty: give a new folder for the handout",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    process::export_head(root, HANDED_OUT, dir)
        .context("the handout takes what is committed (is this a git checkout?)")?;
    for withheld in WITHHELD {
        let path = dir.join(withheld);
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("removing {}", path.display()))?;
        }
    }
    course_book(&dir.join("book/src"))?;
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)?;
    std::fs::write(&manifest, handout_manifest(&text)?)?;
    std::fs::write(dir.join("README.md"), README)?;
    // GitHub Classroom's autograding, for the exercises handed out.
    let workflow = dir.join(crate::grade::platforms::github_classroom::WORKFLOW);
    if let Some(parent) = workflow.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(
        &workflow,
        crate::grade::platforms::github_classroom::workflow(&exercises::catalog(root)?),
    )?;
    // The lock file loses the whole-project tests' package, now rather
    // than at a student's first build.
    process::output(
        Command::new("cargo")
            .args(["metadata", "--format-version", "1", "--manifest-path"])
            .arg(&manifest)
            .env_remove("CARGO_TARGET_DIR"),
    )
    .context("resolving the handout's workspace")?;
    exercises::catalog(dir).context("the handout's exercises.toml")?;
    git(dir, &["init", "--quiet", "--initial-branch=main"])?;
    git(dir, &["add", "--all"])?;
    git(
        dir,
        &[
            "commit",
            "--quiet",
            "--no-gpg-sign",
            "-m",
            "The netlink workbook: the exercises",
        ],
    )?;
    Ok(())
}

/// Turns `book/src` into the course edition's sources: the pages it leaves
/// out removed, the others without their marked passages.
fn course_book(src: &Path) -> Result<()> {
    let mut pages = BTreeMap::new();
    collect_markdown(src, &mut pages)?;
    for (page, text) in pages {
        let relative = page.strip_prefix(src).unwrap_or(&page);
        if left_out_of_course(relative) {
            std::fs::remove_file(&page)?;
            continue;
        }
        let course = match relative == Path::new("SUMMARY.md") {
            true => course_summary(&text),
            false => course_text(&text).with_context(|| format!("{}", page.display()))?,
        };
        std::fs::write(&page, course)?;
    }
    Ok(())
}

/// The workspace manifest with the handout's members, and without the
/// comment about the fuzz targets it does not hold.
fn handout_manifest(text: &str) -> Result<String> {
    let mut replaced = false;
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !(line.starts_with('#') && line.contains("fuzz")))
        .map(|line| match line.starts_with("members = [") {
            true => {
                replaced = true;
                MEMBERS
            }
            false => line,
        })
        .collect();
    if !replaced {
        bail!("Cargo.toml has no `members = [...]` line to replace");
    }
    let mut out = lines.join("\n");
    out.push('\n');
    Ok(out.replace(
        r#"exclude = ["exercises", "fuzz"]"#,
        r#"exclude = ["exercises"]"#,
    ))
}

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    process::output(
        Command::new("git")
            .arg("-C")
            .arg(dir)
            // The handout's one commit is the workbook's, whoever makes it.
            .args([
                "-c",
                "user.name=Netlink workbook",
                "-c",
                "user.email=workbook@localhost",
            ])
            .args(args),
    )
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_loses_the_tests_and_the_fuzz_comment() {
        let text = "[workspace]\nmembers = [\"xtask\", \"tests\"]\n# The fuzz targets (`fuzz/`).\nexclude = [\"exercises\", \"fuzz\"]\n";
        let out = handout_manifest(text).unwrap();
        assert_eq!(
            out,
            format!("[workspace]\n{MEMBERS}\nexclude = [\"exercises\"]\n")
        );
        assert!(handout_manifest("[workspace]\n").is_err());
    }
}
