//! What is graded, said out loud before any grading starts: every entry of a
//! class folder becomes a submission or gets a named reason not to, and an
//! instructor's hidden tests are checked for shape, so that a typo never
//! turns into a silent grading with the public tests only.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::exercises::{Exercise, Kind};

/// The submissions of a grading, and what was found but not graded.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Collected {
    /// `(name, folder holding the exercise folders)`, sorted by name.
    pub submissions: Vec<(String, PathBuf)>,
    /// `(entry, why)`: what the grading says about an entry, before the
    /// table: archives and stray files it does not grade, repository
    /// clones it grades from their `exercises/`, folders with no exercise.
    pub notes: Vec<(String, String)>,
}

/// Archives a learning platform hands out; unpacking them is left to the
/// instructor (a student's archive may hold anything, links and `..`
/// included), so each is reported with the command that unpacks it.
const ARCHIVES: &[(&str, &str)] = &[
    (".zip", "unzip -d NAME NAME.zip"),
    (".tar.gz", "mkdir NAME && tar -xzf NAME.tar.gz -C NAME"),
    (".tgz", "mkdir NAME && tar -xzf NAME.tgz -C NAME"),
    (".tar", "mkdir NAME && tar -xf NAME.tar -C NAME"),
];

// ANCHOR: collect
/// The submissions at `path`: the folder itself, or with `class` every
/// folder in it. A folder may be a copy of `exercises/` or a clone of the
/// students' repository, whose exercises are one level down.
pub fn collect(path: &Path, class: bool, catalog: &[Exercise]) -> Result<Collected> {
    let path = path
        .canonicalize()
        .with_context(|| format!("no submission at {}", path.display()))?;
    let mut found = Collected::default();
    if !class {
        let name = file_name(&path);
        let dir = exercises_folder(&name, &path, catalog, &mut found.notes);
        found.submissions.push((name, dir));
        return Ok(found);
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&path)
        .with_context(|| format!("reading the class folder {}", path.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for entry in entries {
        let name = file_name(&entry);
        if name.starts_with('.') {
            continue; // .git, editor files: not a student's
        }
        if entry.is_dir() {
            let dir = exercises_folder(&name, &entry, catalog, &mut found.notes);
            found.submissions.push((name, dir));
        } else if let Some((_, unpack)) = ARCHIVES.iter().find(|(ext, _)| name.ends_with(ext)) {
            let stem = ARCHIVES
                .iter()
                .find_map(|(ext, _)| name.strip_suffix(ext))
                .unwrap_or(&name);
            found.notes.push((
                name.clone(),
                format!(
                    "an archive, not graded: unpack it into a folder of its own first ({})",
                    unpack.replace("NAME", stem)
                ),
            ));
        } else {
            found.notes.push((
                name,
                "not a folder, not graded: each submission is a folder".to_string(),
            ));
        }
    }
    if found.submissions.is_empty() {
        bail!(
            "{} holds no submission folders{}",
            path.display(),
            describe_notes(&found.notes)
        );
    }
    Ok(found)
}
// ANCHOR_END: collect

/// Where the exercise folders of submission `name` are: the folder itself,
/// or its `exercises/` (a clone of the students' repository); a note says
/// which, or that neither holds one.
fn exercises_folder(
    name: &str,
    dir: &Path,
    catalog: &[Exercise],
    notes: &mut Vec<(String, String)>,
) -> PathBuf {
    let holds = |d: &Path| catalog.iter().any(|e| d.join(&e.name).is_dir());
    if holds(dir) {
        return dir.to_path_buf();
    }
    let nested = dir.join("exercises");
    if holds(&nested) {
        notes.push((
            name.to_string(),
            "a clone of the students' repository: graded from its exercises/".to_string(),
        ));
        return nested;
    }
    let example = catalog.first().map_or("ch01-...", |e| e.name.as_str());
    notes.push((
        name.to_string(),
        format!(
            "holds no exercise folder (neither {example}/ nor exercises/{example}/): every exercise scores 0"
        ),
    ));
    dir.to_path_buf()
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn describe_notes(notes: &[(String, String)]) -> String {
    notes
        .iter()
        .map(|(entry, why)| format!("\n  {entry}: {why}"))
        .collect()
}

// ANCHOR: hidden
/// An instructor's hidden tests, checked before any grading:
/// `HIDDEN/<exercise>/tests/*.rs`, for Rust exercises of the catalogue,
/// nothing else.
pub fn check_hidden_tests(hidden: &Path, catalog: &[Exercise]) -> Result<()> {
    let shape = "hidden tests go in HIDDEN/<exercise>/tests/*.rs";
    if !hidden.is_dir() {
        bail!(
            "--hidden-tests {}: no such folder ({shape})",
            hidden.display()
        );
    }
    let mut count = 0;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(hidden)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for entry in entries {
        let name = file_name(&entry);
        let Some(exercise) = catalog.iter().find(|e| e.name == name) else {
            let rust: Vec<&str> = catalog
                .iter()
                .filter(|e| e.kind == Kind::Rust)
                .map(|e| e.name.as_str())
                .collect();
            bail!(
                "{}: no exercise is called `{name}` ({shape}; Rust exercises: {})",
                entry.display(),
                rust.join(", ")
            );
        };
        if exercise.kind != Kind::Rust || !entry.is_dir() {
            bail!(
                "{}: hidden tests are for the Rust exercises, as a folder ({shape})",
                entry.display()
            );
        }
        for inner in std::fs::read_dir(&entry)? {
            let inner = inner?.path();
            if file_name(&inner) != "tests" || !inner.is_dir() {
                bail!("{}: outside tests/ ({shape})", inner.display());
            }
            for file in std::fs::read_dir(&inner)? {
                let file = file?.path();
                if !file.is_file() || file.extension().is_none_or(|e| e != "rs") {
                    bail!("{}: not a .rs file ({shape})", file.display());
                }
                count += 1;
            }
        }
    }
    if count == 0 {
        bail!(
            "--hidden-tests {}: holds no test file ({shape})",
            hidden.display()
        );
    }
    Ok(())
}
// ANCHOR_END: hidden

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Vec<Exercise> {
        let exercise = |name: &str, kind| Exercise {
            name: name.into(),
            chapter: name[..4].into(),
            kind,
            points: 10,
            hints: Vec::new(),
        };
        vec![
            exercise("ch01-a", Kind::Rust),
            exercise("ch07-m", Kind::Kmod),
        ]
    }

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "").unwrap();
    }

    #[test]
    fn every_entry_of_a_class_is_graded_or_named() {
        let class = tempfile::tempdir().unwrap();
        let c = class.path();
        std::fs::create_dir_all(c.join("alice/ch01-a/src")).unwrap();
        std::fs::create_dir_all(c.join("bob/exercises/ch07-m")).unwrap();
        std::fs::create_dir_all(c.join("carol/notes")).unwrap();
        touch(&c.join("dave.zip"));
        touch(&c.join("readme.txt"));
        std::fs::create_dir_all(c.join(".git")).unwrap();
        let found = collect(c, true, &catalog()).unwrap();
        let names: Vec<&str> = found.submissions.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["alice", "bob", "carol"]);
        let root = c.canonicalize().unwrap();
        assert_eq!(found.submissions[1].1, root.join("bob/exercises"));
        assert_eq!(found.submissions[0].1, root.join("alice"));
        let noted: Vec<&str> = found.notes.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(noted, ["bob", "carol", "dave.zip", "readme.txt"]);
        assert!(
            found.notes[2].1.contains("unzip -d dave dave.zip"),
            "{:?}",
            found.notes
        );
    }

    #[test]
    fn a_class_of_nothing_but_archives_says_so() {
        let class = tempfile::tempdir().unwrap();
        touch(&class.path().join("all.tar.gz"));
        let err = collect(class.path(), true, &catalog()).unwrap_err();
        assert!(
            format!("{err:#}").contains("tar -xzf all.tar.gz"),
            "{err:#}"
        );
    }

    #[test]
    fn hidden_tests_of_the_wrong_shape_stop_the_grading() {
        let dir = tempfile::tempdir().unwrap();
        let h = dir.path();
        let check = || check_hidden_tests(h, &catalog()).map_err(|e| format!("{e:#}"));
        assert!(check_hidden_tests(&h.join("nope"), &catalog()).is_err());
        assert!(check().unwrap_err().contains("no test file"));
        touch(&h.join("ch01-a/extra.rs"));
        assert!(check().unwrap_err().contains("outside tests/"));
        std::fs::remove_file(h.join("ch01-a/extra.rs")).unwrap();
        touch(&h.join("ch01-a/tests/t.rs"));
        assert_eq!(check(), Ok(()));
        touch(&h.join("ch01-b/tests/t.rs"));
        assert!(
            check()
                .unwrap_err()
                .contains("no exercise is called `ch01-b`")
        );
        std::fs::remove_dir_all(h.join("ch01-b")).unwrap();
        touch(&h.join("ch07-m/tests/t.rs"));
        assert!(check().unwrap_err().contains("for the Rust exercises"));
    }
}
