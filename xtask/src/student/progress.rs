//! What the student's loop remembers between runs, in
//! `.exercise-progress.toml` at the top of the workbook: which exercises
//! pass, which is being worked on, how many hints each has revealed.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::exercises::{Exercise, Kind};

#[derive(Default, Serialize, Deserialize)]
pub(super) struct Progress {
    /// The exercise last checked (or watched): `--hint` without a name
    /// applies to it, and the check without a name returns to it until it
    /// passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) current: Option<String>,
    #[serde(default)]
    pub(super) exercise: BTreeMap<String, State>,
}

#[derive(Default, Clone, Serialize, Deserialize)]
pub(super) struct State {
    #[serde(default)]
    pub(super) done: bool,
    #[serde(default)]
    pub(super) hints_shown: usize,
}

pub(super) const PROGRESS_FILE: &str = ".exercise-progress.toml";

pub(super) fn load_progress(root: &Path) -> Progress {
    std::fs::read_to_string(root.join(PROGRESS_FILE))
        .ok()
        .and_then(|t| toml::from_str(&t).ok())
        .unwrap_or_default()
}

pub(super) fn save_progress(root: &Path, progress: &Progress) -> Result<()> {
    let text = format!(
        "# Your progress through the exercises; `cargo xtask exercise --list` shows it.\n{}",
        toml::to_string(progress)?
    );
    std::fs::write(root.join(PROGRESS_FILE), text).context("saving your progress")
}

pub(super) fn is_done(progress: &Progress, e: &Exercise) -> bool {
    progress.exercise.get(&e.name).is_some_and(|s| s.done)
}

/// The exercise being worked on: the last one checked, until it passes;
/// then the first one not done, in book order, where within a chapter a
/// Rust exercise (seconds on the host) comes before a module exercise
/// (boots in the VM lab).
pub(super) fn current<'a>(catalog: &'a [Exercise], progress: &Progress) -> Option<&'a Exercise> {
    if let Some(e) = progress
        .current
        .as_ref()
        .and_then(|name| catalog.iter().find(|e| &e.name == name))
        .filter(|e| !is_done(progress, e))
    {
        return Some(e);
    }
    let first = catalog.iter().find(|e| !is_done(progress, e))?;
    catalog
        .iter()
        .filter(|e| e.chapter == first.chapter && !is_done(progress, e))
        .find(|e| e.kind == Kind::Rust)
        .or(Some(first))
}

/// Reveals the next hint, if any is left, then recalls every hint revealed
/// before it: none of them is ever out of reach.
pub(super) fn reveal_hint(exercise: &Exercise, state: &mut State) -> String {
    let mut text = String::new();
    let earlier = match exercise.hints.get(state.hints_shown) {
        Some(hint) => {
            state.hints_shown += 1;
            text.push_str(&format!(
                "hint {} of {} for {}:\n  {hint}\n",
                state.hints_shown,
                exercise.hints.len(),
                exercise.name
            ));
            state.hints_shown - 1
        }
        None => {
            text.push_str(&format!(
                "no more hints for {}: the chapter `{}` has the rest\n",
                exercise.name, exercise.chapter
            ));
            state.hints_shown
        }
    };
    for (i, hint) in exercise.hints.iter().take(earlier).enumerate() {
        text.push_str(&format!("  (hint {}) {hint}\n", i + 1));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::student::fixtures::catalog;

    #[test]
    fn the_current_exercise_is_the_last_one_checked() {
        let c = catalog();
        let mut p = Progress::default();
        // A newcomer starts with the chapter's Rust exercise.
        assert_eq!(current(&c, &p).unwrap().name, "ch01-nlmsg-layout");
        p.current = Some("ch06-lost-messages".into());
        assert_eq!(current(&c, &p).unwrap().name, "ch06-lost-messages");
        p.exercise.insert(
            "ch06-lost-messages".into(),
            State {
                done: true,
                hints_shown: 0,
            },
        );
        assert_eq!(current(&c, &p).unwrap().name, "ch01-nlmsg-layout");
    }

    #[test]
    fn every_revealed_hint_stays_readable() {
        let c = catalog();
        let e = &c[1];
        let mut s = State::default();
        assert!(reveal_hint(e, &mut s).starts_with("hint 1 of 2"));
        let second = reveal_hint(e, &mut s);
        assert!(second.starts_with("hint 2 of 2") && second.contains("(hint 1) h1"));
        let after = reveal_hint(e, &mut s);
        assert!(after.starts_with("no more hints"), "{after}");
        assert!(
            after.contains("(hint 1) h1") && after.contains("(hint 2) h2"),
            "{after}"
        );
        assert_eq!(s.hints_shown, 2);
    }
    #[test]
    fn progress_round_trips() {
        let mut p = Progress::default();
        p.exercise.insert(
            "x".into(),
            State {
                done: true,
                hints_shown: 2,
            },
        );
        let text = toml::to_string(&p).unwrap();
        let back: Progress = toml::from_str(&text).unwrap();
        assert!(back.exercise["x"].done);
        assert_eq!(back.exercise["x"].hints_shown, 2);
    }
}
