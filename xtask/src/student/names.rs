//! Which exercise the student means: the folder they are in, an exact
//! name, a chapter's prefix or name, or a close typo ("did you mean").

use std::path::Path;

use anyhow::{Result, bail};

use super::progress::{Progress, is_done};
use super::short_kind;
use crate::exercises::Exercise;

/// The exercise whose folder `cwd` is in (`exercises/NAME` or below), if
/// any: from there, `cargo xtask exercise` means that exercise.
pub(super) fn exercise_of_folder(root: &Path, cwd: &Path) -> Option<String> {
    let exercises = root.join("exercises").canonicalize().ok()?;
    let cwd = cwd.canonicalize().ok()?;
    let inside = cwd.strip_prefix(&exercises).ok()?;
    let name = inside.components().next()?.as_os_str().to_str()?;
    root.join("exercises")
        .join(name)
        .is_dir()
        .then(|| name.to_string())
}

/// The exercise a name means: the exact name; a prefix such as a chapter's
/// (`ch01`) or a chapter's name, when it means one exercise, or one not yet
/// done; otherwise an error that lists the candidates, or suggests the
/// names a typo is close to.
pub(super) fn resolve<'a>(
    catalog: &'a [Exercise],
    progress: &Progress,
    name: &str,
) -> Result<&'a Exercise> {
    if let Some(e) = catalog.iter().find(|e| e.name == name) {
        return Ok(e);
    }
    let matches: Vec<&Exercise> = catalog
        .iter()
        .filter(|e| e.name.starts_with(name) || e.chapter.starts_with(name))
        .collect();
    let open: Vec<&Exercise> = matches
        .iter()
        .copied()
        .filter(|e| !is_done(progress, e))
        .collect();
    match (matches.as_slice(), open.as_slice()) {
        ([one], _) | (_, [one]) => return Ok(one),
        ([], _) => {}
        (many, _) => bail!(
            "`{name}` means {} exercises: {}; name one",
            many.len(),
            many.iter()
                .map(|e| format!("{} ({})", e.name, short_kind(e.kind)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    let mut close: Vec<(usize, &str)> = catalog
        .iter()
        .map(|e| (edit_distance(name, &e.name), e.name.as_str()))
        .filter(|(d, _)| *d <= 3)
        .collect();
    close.sort();
    match close.first() {
        Some((_, near)) => bail!("no exercise `{name}`; did you mean `{near}`?"),
        None => bail!("no exercise `{name}`; `cargo xtask exercise --list` shows them"),
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = i;
        let mut left = i + 1;
        let mut next = vec![left];
        for (j, cb) in b.iter().enumerate() {
            let up = row.get(j + 1).copied().unwrap_or(usize::MAX - 1);
            let cost = diagonal + usize::from(ca != *cb);
            left = cost.min(up + 1).min(left + 1);
            diagonal = up;
            next.push(left);
        }
        row = next;
    }
    row.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::student::fixtures::catalog;
    use crate::student::progress::State;

    #[test]
    fn the_folder_names_the_exercise() {
        let root = tempfile::tempdir().unwrap();
        let src = root.path().join("exercises/ch06-lost-messages/src");
        std::fs::create_dir_all(&src).unwrap();
        assert_eq!(
            exercise_of_folder(root.path(), &src).as_deref(),
            Some("ch06-lost-messages")
        );
        assert_eq!(
            exercise_of_folder(
                root.path(),
                &root.path().join("exercises/ch06-lost-messages")
            )
            .as_deref(),
            Some("ch06-lost-messages")
        );
        assert_eq!(exercise_of_folder(root.path(), root.path()), None);
        assert_eq!(
            exercise_of_folder(root.path(), &root.path().join("exercises")),
            None
        );
    }

    #[test]
    fn names_prefixes_and_typos() {
        let c = catalog();
        let mut p = Progress::default();
        assert_eq!(resolve(&c, &p, "ch06").unwrap().name, "ch06-lost-messages");
        assert_eq!(
            resolve(&c, &p, "ch06-enobufs").unwrap().name,
            "ch06-lost-messages"
        );
        let both = resolve(&c, &p, "ch01").unwrap_err().to_string();
        assert!(both.contains("ch01-echo-lengths (kmod)"), "{both}");
        p.exercise.insert(
            "ch01-echo-lengths".into(),
            State {
                done: true,
                hints_shown: 0,
            },
        );
        assert_eq!(resolve(&c, &p, "ch01").unwrap().name, "ch01-nlmsg-layout");
        let typo = resolve(&c, &p, "ch06-lost-mesages")
            .unwrap_err()
            .to_string();
        assert!(
            typo.contains("did you mean `ch06-lost-messages`?"),
            "{typo}"
        );
        let far = resolve(&c, &p, "routing").unwrap_err().to_string();
        assert!(far.contains("--list"), "{far}");
    }
}
