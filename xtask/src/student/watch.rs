//! `cargo xtask exercise --watch`: check, wait for a save, check again,
//! move on once the exercise passes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::progress::{Progress, current};
use super::{Check, check_and_record};
use crate::exercises::Exercise;

/// How long saves must have stopped before a check starts: an editor's save
/// is several events (a temporary file, a rename, a write), and a "save all"
/// touches several files.
const SETTLE: Duration = Duration::from_millis(300);

/// Watch mode: checks the exercise, then waits for one of its files to be
/// saved and checks again; when it passes, moves on to the next exercise not
/// done. The waiting is inotify's (through `notify`): no polling, nothing
/// running between saves. Build output, editors' swap and backup files and
/// hidden files do not count as saves. Returns when every exercise is done;
/// Ctrl-C ends it before, and the test it was running with it.
pub(super) fn watch(
    root: &Path,
    catalog: &[Exercise],
    progress: &mut Progress,
    first: &Exercise,
    check: &mut Check,
) -> Result<()> {
    let mut exercise = first;
    loop {
        let dir = root.join("exercises").join(&exercise.name);
        let (tx, rx) = std::sync::mpsc::channel();
        let mut watcher =
            notify::recommended_watcher(tx).context("watching the exercise's files")?;
        notify::Watcher::watch(&mut watcher, &dir, notify::RecursiveMode::Recursive)
            .with_context(|| format!("watching {}", dir.display()))?;
        if check_and_record(root, catalog, progress, exercise, check)? {
            match current(catalog, progress) {
                Some(next) => {
                    println!("\n==> on to {}", next.name);
                    exercise = next;
                    continue;
                }
                None => {
                    println!("Every exercise is done. Well done!");
                    return Ok(());
                }
            }
        }
        println!(
            "\nwatching exercises/{}/ : save a file to check again (Ctrl-C stops)",
            exercise.name
        );
        let Some(saved) = next_save(&rx, None) else {
            bail!("the watch on {} ended", dir.display());
        };
        println!(
            "\n==> {} saved",
            saved.strip_prefix(root).unwrap_or(&saved).display()
        );
    }
}

/// Waits for a save (at most `timeout`, if given), then until saves have
/// stopped for `SETTLE`; returns the first file saved.
fn next_save(
    rx: &std::sync::mpsc::Receiver<notify::Result<notify::Event>>,
    timeout: Option<Duration>,
) -> Option<PathBuf> {
    let started = Instant::now();
    let saved = loop {
        let event = match timeout {
            None => rx.recv().ok()?,
            Some(t) => rx.recv_timeout(t.checked_sub(started.elapsed())?).ok()?,
        };
        if let Some(path) = event.ok().and_then(|e| saved_file(&e)) {
            break path;
        }
    };
    while rx.recv_timeout(SETTLE).is_ok() {}
    Some(saved)
}

/// The file an event saves, if it is a save of a file that matters.
fn saved_file(event: &notify::Event) -> Option<PathBuf> {
    use notify::EventKind;
    use notify::event::{AccessKind, AccessMode};
    match event.kind {
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => {}
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        // Reads (the compiler's among them) are not saves.
        _ => return None,
    }
    event
        .paths
        .iter()
        .find(|p| {
            let ignored = p.components().any(|c| {
                let c = c.as_os_str().to_string_lossy();
                c == "target" || c == ".cargo" || c == ".git"
            });
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            let scratch = name.starts_with('.')
                || name.ends_with('~')
                || name.ends_with(".swp")
                || name.ends_with(".swx")
                || name == "4913";
            !ignored && !scratch
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::student::fixtures::catalog;
    use crate::student::progress::{PROGRESS_FILE, State};

    /// Watch mode, driven by real saves: a save under target/ and an
    /// editor's swap file start no check; a real save does, and once the
    /// exercise passes the watch moves on to the next one, and ends when
    /// all are done.
    #[test]
    fn watch_checks_again_on_saves_and_moves_on() {
        let root = tempfile::tempdir().unwrap();
        let c = catalog();
        for e in &c {
            let src = root.path().join("exercises").join(&e.name).join("src");
            std::fs::create_dir_all(&src).unwrap();
            std::fs::write(src.join("lib.rs"), "todo").unwrap();
        }
        let mut progress = Progress::default();
        progress.exercise.insert(
            "ch01-echo-lengths".into(),
            State {
                done: true,
                hints_shown: 0,
            },
        );
        let base = root.path().to_path_buf();
        let writer = std::thread::spawn(move || {
            let lib = |name: &str| base.join("exercises").join(name).join("src/lib.rs");
            let pause = || std::thread::sleep(Duration::from_millis(700));
            pause();
            // Not saves: build output and a swap file.
            let target = base.join("exercises/ch01-nlmsg-layout/target");
            std::fs::create_dir_all(&target).unwrap();
            std::fs::write(target.join("out"), "x").unwrap();
            std::fs::write(
                base.join("exercises/ch01-nlmsg-layout/src/.lib.rs.swp"),
                "x",
            )
            .unwrap();
            pause();
            // A save that still fails, then the one that solves it.
            std::fs::write(lib("ch01-nlmsg-layout"), "still todo").unwrap();
            pause();
            std::fs::write(lib("ch01-nlmsg-layout"), "solved").unwrap();
            pause();
            std::fs::write(lib("ch06-lost-messages"), "solved").unwrap();
        });
        let mut checked: Vec<(String, String)> = Vec::new();
        let first = current(&c, &progress).unwrap().clone();
        let started = Instant::now();
        watch(root.path(), &c, &mut progress, &first, &mut |e| {
            let text = std::fs::read_to_string(
                root.path()
                    .join("exercises")
                    .join(&e.name)
                    .join("src/lib.rs"),
            )
            .unwrap();
            checked.push((e.name.clone(), text.clone()));
            assert!(started.elapsed() < Duration::from_secs(30), "{checked:?}");
            Ok(text == "solved")
        })
        .unwrap();
        writer.join().unwrap();
        let names: Vec<(&str, &str)> = checked
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("ch01-nlmsg-layout", "todo"),
                ("ch01-nlmsg-layout", "still todo"),
                ("ch01-nlmsg-layout", "solved"),
                ("ch06-lost-messages", "todo"),
                ("ch06-lost-messages", "solved"),
            ]
        );
        assert!(progress.exercise["ch06-lost-messages"].done);
        assert!(root.path().join(PROGRESS_FILE).is_file());
    }
}
