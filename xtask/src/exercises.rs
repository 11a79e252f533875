//! The exercise set checks itself (the rustlings idea): every solution
//! passes its tests, every untouched starter fails them.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::workspace;

/// How an exercise is graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `cargo test` of the crate.
    Rust,
    /// The module runs in the VM lab, with the tests of its `lab.toml`.
    Kmod,
}

/// One entry of `exercises/exercises.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    pub name: String,
    pub chapter: String,
    pub kind: Kind,
    pub points: u32,
    #[serde(default)]
    pub hints: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalog {
    exercise: Vec<Exercise>,
}

/// The exercises, in book order, from `exercises/exercises.toml`.
pub fn catalog(root: &Path) -> Result<Vec<Exercise>> {
    let path = root.join("exercises/exercises.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let catalog: Catalog =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut seen = std::collections::BTreeSet::new();
    for e in &catalog.exercise {
        if !seen.insert(&e.name) {
            bail!("{}: exercise `{}` listed twice", path.display(), e.name);
        }
        for dir in ["exercises", "solutions"] {
            if !root.join(dir).join(&e.name).is_dir() {
                bail!(
                    "{}: exercise `{}` has no folder {dir}/{}",
                    path.display(),
                    e.name,
                    e.name
                );
            }
        }
    }
    Ok(catalog.exercise)
}

/// Exercise crates under `dir` (each a directory with a Cargo.toml).
pub fn crates_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    found.sort();
    Ok(found)
}

/// What `cargo test` of one exercise crate did.
pub struct TestRun {
    pub passed: bool,
    /// The tests ran (and failed) rather than the crate failing to build.
    pub tests_ran: bool,
    pub output: String,
}

/// Tests one exercise crate in a target directory of its own: a starter and
/// its solution share a package name, and a shared target directory would
/// let one reuse the other's test binary.
pub fn test_crate(krate: &Path, target_dir: &Path) -> Result<TestRun> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .arg("test")
        .arg("--manifest-path")
        .arg(krate.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .output()
        .context("could not run cargo")?;
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(TestRun {
        passed: out.status.success(),
        tests_ran: output.contains("test result:"),
        output,
    })
}

/// Every solution passes; every starter fails its tests (and compiles).
pub fn self_check() -> Result<usize> {
    let root = workspace::root();
    let target = crate::cache_dir().join("exercises");
    let mut problems = Vec::new();
    let solutions = crates_in(&root.join("solutions"))?;
    for solution in &solutions {
        let name = solution
            .file_name()
            .context("name")?
            .to_string_lossy()
            .into_owned();
        let starter = root.join("exercises").join(&name);
        if !starter.join("Cargo.toml").is_file() {
            problems.push(format!(
                "solutions/{name} has no starter in exercises/{name}"
            ));
            continue;
        }
        let done = test_crate(solution, &target.join("solutions").join(&name))?;
        if !done.passed {
            problems.push(format!(
                "solutions/{name} fails its tests:\n{}",
                tail(&done.output)
            ));
        }
        let todo = test_crate(&starter, &target.join("exercises").join(&name))?;
        if todo.passed {
            problems.push(format!(
                "exercises/{name} passes its tests untouched: the starter gives the answer away"
            ));
        } else if !todo.tests_ran {
            problems.push(format!(
                "exercises/{name} does not compile; a starter must build and fail its tests:\n{}",
                tail(&todo.output)
            ));
        }
        eprintln!(
            "    {name}: solution {}, starter {}",
            verdict(done.passed),
            verdict(!todo.passed && todo.tests_ran)
        );
    }
    for starter in crates_in(&root.join("exercises"))? {
        if !root
            .join("solutions")
            .join(starter.file_name().context("name")?)
            .is_dir()
        {
            problems.push(format!("{} has no solution", starter.display()));
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(solutions.len())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "WRONG" }
}

fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    lines[lines.len().saturating_sub(25)..].join("\n")
}
