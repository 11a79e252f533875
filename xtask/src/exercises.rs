//! The exercise catalogue, `exercises/exercises.toml`: each exercise's
//! name, chapter, kind, points and hints. The grader, the student's check
//! and the handout read it; it reads nothing of theirs.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// How an exercise is graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `cargo test` of the crate.
    Rust,
    /// The module runs in the VM lab, with the tests of its `lab.toml`.
    Kmod,
    /// A Rust program (the student writes its `src/lib.rs`) that the tests
    /// of its `lab.toml` start in the VM lab.
    #[serde(rename = "lab-program")]
    LabProgram,
}

impl Kind {
    /// Whether the VM lab grades it.
    pub fn runs_in_lab(self) -> bool {
        matches!(self, Kind::Kmod | Kind::LabProgram)
    }
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
        // A students' handout (`cargo xtask handout`) has no solutions/.
        let dirs = match root.join("solutions").is_dir() {
            true => &["exercises", "solutions"][..],
            false => &["exercises"][..],
        };
        for dir in dirs {
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
