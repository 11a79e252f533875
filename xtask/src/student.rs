//! `cargo xtask exercise`: the student's loop. Check the current exercise
//! (the first one not done, or a named one), see what fails and where to
//! look, reveal hints one at a time; progress is kept between runs in
//! `.exercise-progress.toml` at the top of the workbook.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::exercises::{self, Exercise, Kind};
use crate::grade::TEST_WALL;
use crate::lab::{self, plan};
use crate::{process, workspace};

#[derive(clap::Args)]
pub struct ExerciseArgs {
    /// The exercise (default: the one whose folder you are in, else the
    /// first one not done yet).
    name: Option<String>,
    /// Show the next hint of the exercise.
    #[arg(long)]
    hint: bool,
    /// Show every exercise and your progress.
    #[arg(long)]
    list: bool,
    /// Check again whenever a file of the exercise is saved, and move on to
    /// the next exercise when it passes; Ctrl-C stops.
    #[arg(long, conflicts_with_all = ["hint", "list"])]
    watch: bool,
}

#[derive(Default, Serialize, Deserialize)]
struct Progress {
    /// The exercise last checked (or watched): `--hint` without a name
    /// applies to it, and the check without a name returns to it until it
    /// passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current: Option<String>,
    #[serde(default)]
    exercise: BTreeMap<String, State>,
}

#[derive(Default, Clone, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    done: bool,
    #[serde(default)]
    hints_shown: usize,
}

const PROGRESS_FILE: &str = ".exercise-progress.toml";

fn load_progress(root: &Path) -> Progress {
    std::fs::read_to_string(root.join(PROGRESS_FILE))
        .ok()
        .and_then(|t| toml::from_str(&t).ok())
        .unwrap_or_default()
}

fn save_progress(root: &Path, progress: &Progress) -> Result<()> {
    let text = format!(
        "# Your progress through the exercises; `cargo xtask exercise --list` shows it.\n{}",
        toml::to_string(progress)?
    );
    std::fs::write(root.join(PROGRESS_FILE), text).context("saving your progress")
}

pub fn run(args: &ExerciseArgs) -> Result<()> {
    let root = workspace::root();
    let catalog = exercises::catalog(&root)?;
    let mut progress = load_progress(&root);
    if args.list {
        print_list(&catalog, &progress);
        return Ok(());
    }
    let here = std::env::current_dir()
        .ok()
        .and_then(|cwd| exercise_of_folder(&root, &cwd));
    let exercise = match args.name.as_ref().or(here.as_ref()) {
        Some(name) => resolve(&catalog, &progress, name)?,
        None => match current(&catalog, &progress) {
            Some(e) => e,
            None => {
                println!("Every exercise is done. Well done!");
                print_list(&catalog, &progress);
                return Ok(());
            }
        },
    };
    if args.hint {
        // What the student works on now: `--hint` and `--list` follow it.
        progress.current = Some(exercise.name.clone());
        let state = progress.exercise.entry(exercise.name.clone()).or_default();
        print!("{}", reveal_hint(exercise, state));
        return save_progress(&root, &progress);
    }
    if args.watch {
        return watch(&root, &catalog, &mut progress, exercise, &mut |e| {
            check(&root, e)
        });
    }
    if check_and_record(&root, &catalog, &mut progress, exercise, &mut |e| {
        check(&root, e)
    })? {
        if let Some(next) = current(&catalog, &progress) {
            println!(
                "next: `cargo xtask exercise` ({}; statement in exercises/{}/README.md)",
                next.name, next.name
            );
        }
        Ok(())
    } else {
        bail!("{} is not done yet", exercise.name)
    }
}

/// A check of one exercise: true when it passes.
type Check<'a> = dyn FnMut(&Exercise) -> Result<bool> + 'a;

/// Checks `exercise`, records the verdict (and that it is the current one)
/// in the progress file, and says what comes next.
fn check_and_record(
    root: &Path,
    catalog: &[Exercise],
    progress: &mut Progress,
    exercise: &Exercise,
    check: &mut Check,
) -> Result<bool> {
    println!(
        "==> {} ({}, chapter {}, {} points)",
        exercise.name,
        kind_name(exercise.kind),
        exercise.chapter,
        exercise.points
    );
    let passed = check(exercise)?;
    progress.current = Some(exercise.name.clone());
    let state = progress.exercise.entry(exercise.name.clone()).or_default();
    state.done = passed;
    let hints_left = exercise.hints.len().saturating_sub(state.hints_shown);
    save_progress(root, progress)?;
    if passed {
        println!(
            "\n{} passes. Progress: {}",
            exercise.name,
            summary(catalog, progress)
        );
    } else {
        println!(
            "\nThe statement is in exercises/{}/README.md.",
            exercise.name
        );
        if hints_left > 0 {
            println!(
                "Stuck? `cargo xtask exercise {} --hint` ({hints_left} hint(s) left)",
                exercise.name
            );
        }
    }
    Ok(passed)
}

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
fn watch(
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

/// The exercise whose folder `cwd` is in (`exercises/NAME` or below), if
/// any: from there, `cargo xtask exercise` means that exercise.
fn exercise_of_folder(root: &Path, cwd: &Path) -> Option<String> {
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
fn resolve<'a>(catalog: &'a [Exercise], progress: &Progress, name: &str) -> Result<&'a Exercise> {
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

fn is_done(progress: &Progress, e: &Exercise) -> bool {
    progress.exercise.get(&e.name).is_some_and(|s| s.done)
}

/// The exercise being worked on: the last one checked, until it passes;
/// then the first one not done, in book order, where within a chapter a
/// Rust exercise (seconds on the host) comes before a module exercise
/// (boots in the VM lab).
fn current<'a>(catalog: &'a [Exercise], progress: &Progress) -> Option<&'a Exercise> {
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
fn reveal_hint(exercise: &Exercise, state: &mut State) -> String {
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

fn short_kind(kind: Kind) -> &'static str {
    match kind {
        Kind::Rust => "rust",
        Kind::Kmod => "kmod",
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Rust => "Rust",
        Kind::Kmod => "kernel module, runs in the VM lab",
    }
}

/// Runs the exercise's tests on the student's working copy.
fn check(root: &Path, exercise: &Exercise) -> Result<bool> {
    let dir = root.join("exercises").join(&exercise.name);
    match exercise.kind {
        Kind::Rust => check_rust(&dir, exercise),
        Kind::Kmod => {
            let tests: Vec<plan::LabTest> = plan::load_dir(&dir)?;
            let kernels: Vec<String> = plan::KERNELS.iter().map(|k| k.to_string()).collect();
            let summary = lab::execute(tests, &kernels, lab::Mode::Verdict)?;
            print!("{}", kmod_report(&dir, &summary.outcomes));
            Ok(summary.failed() == 0)
        }
    }
}

/// What a module exercise's check shows: a line per (test, kernel); then
/// the compiler's messages, each once, pointed at the student's own file
/// (the lab builds a copy under target/lab/kmod/), with the kernels that
/// gave it; then every kernel report of each failing run (the same reports
/// on several kernels shown once) and the boot log that holds it all.
fn kmod_report(dir: &Path, outcomes: &[lab::Outcome]) -> String {
    let mut text = String::new();
    for o in outcomes {
        let reason = match o.reason.split_once(':') {
            Some((head, _)) if head == "module does not build" => head,
            _ => o.reason.as_str(),
        };
        text.push_str(&match o.passed {
            true => format!("pass {} on {}\n", o.test_id, o.kernel),
            false => format!("FAIL {} on {}: {reason}\n", o.test_id, o.kernel),
        });
    }
    let shown = dir
        .strip_prefix(workspace::root())
        .unwrap_or(dir)
        .to_path_buf();
    // message -> kernels, in the order first seen.
    let mut messages: Vec<(String, Vec<String>)> = Vec::new();
    let mut reports: Vec<(Vec<String>, Vec<String>, Option<PathBuf>)> = Vec::new();
    for o in outcomes.iter().filter(|o| !o.passed) {
        if o.reason.starts_with("module does not build") {
            for line in o.details.iter().filter_map(|l| compiler_message(l, &shown)) {
                match messages.iter_mut().find(|(m, _)| *m == line) {
                    Some((_, kernels)) if !kernels.contains(&o.kernel) => {
                        kernels.push(o.kernel.clone())
                    }
                    Some(_) => {}
                    None => messages.push((line, vec![o.kernel.clone()])),
                }
            }
        } else if !o.details.is_empty() {
            let at = format!("{} on {}", o.test_id, o.kernel);
            match reports.iter_mut().find(|(r, _, _)| *r == o.details) {
                Some((_, runs, _)) => runs.push(at),
                None => reports.push((o.details.clone(), vec![at], o.boot_log.clone())),
            }
        } else if let Some(log) = &o.boot_log {
            text.push_str(&format!(
                "\n{} on {}: the boot log is {}\n",
                o.test_id,
                o.kernel,
                log.display()
            ));
        }
    }
    if !messages.is_empty() {
        text.push_str("\nThe compiler says (each message once, with the kernels that gave it):\n");
        for (message, kernels) in &messages {
            text.push_str(&format!("{message}   [{}]\n", kernels.join(", ")));
        }
    }
    for (report, runs, log) in &reports {
        text.push_str(&format!("\nKernel reports of {}:\n", runs.join(", ")));
        for line in report {
            text.push_str(&format!("  {line}\n"));
        }
        if let Some(log) = log {
            text.push_str(&format!("  the whole boot log: {}\n", log.display()));
        }
    }
    text
}

/// A compiler message of the lab's build, pointed at the student's file:
/// `.../lab/kmod/<kernel>/<folder>/file.c:58:13: error: ...` becomes
/// `exercises/NAME/file.c:58:13: error: ...`. Lines that are not a
/// message about a file (make's own) are left out.
fn compiler_message(line: &str, exercise: &Path) -> Option<String> {
    static AT: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^\S*?([^/\s:]+\.[ch]):(\d+)(:\d+)?: (.*)$").ok()
    });
    let caps = AT.as_ref()?.captures(line.trim())?;
    let get = |i| caps.get(i).map_or("", |m| m.as_str());
    Some(format!(
        "{}:{}{}: {}",
        exercise.join(get(1)).display(),
        get(2),
        get(3),
        get(4)
    ))
}

/// Builds the exercise's tests (the compiler's messages and cargo's
/// progress stream to the terminal as they come), then runs each test on
/// its own, as the grader does, within the grader's time limit
/// (`grade::TEST_WALL`): every test's verdict shows as soon as it is known,
/// a failing test's message right under it, and a test that hangs ends with
/// its name and "did not finish in N s". `RUST_BACKTRACE` is left out of the
/// tests' environment: a backtrace buries the assertion a student needs.
fn check_rust(dir: &Path, exercise: &Exercise) -> Result<bool> {
    let target = crate::cache_dir()
        .join("exercises/exercises")
        .join(&exercise.name);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args([
            "test",
            "--no-run",
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo test --no-run")?;
    let executables = test_executables(&String::from_utf8_lossy(&built.stdout));
    if !built.status.success() || executables.is_empty() {
        println!("the tests do not build: the compiler's messages are above");
        return Ok(false);
    }
    let wrap = !process::has_cap_sys_admin();
    let (mut passed, mut failed) = (Vec::new(), Vec::new());
    for exe in &executables {
        let listed = run_test_binary(exe, &["--list", "--format", "terse"], dir, wrap, TEST_WALL)?;
        if !listed.finished || !listed.success {
            println!(
                "cannot list the tests of {}: {}",
                exe.display(),
                listed.text
            );
            failed.push(exe.display().to_string());
            continue;
        }
        let names: Vec<String> = listed
            .text
            .lines()
            .filter_map(|l| l.strip_suffix(": test"))
            .map(str::to_string)
            .collect();
        for name in names {
            let run = run_test_binary(
                exe,
                &["--exact", &name, "--test-threads", "1"],
                dir,
                wrap,
                TEST_WALL,
            )?;
            if !run.finished {
                println!(
                    "test {name} ... FAILED: did not finish in {} s (stopped)",
                    TEST_WALL.as_secs()
                );
                failed.push(name);
            } else if run.success {
                println!("test {name} ... ok");
                passed.push(name);
            } else {
                println!("test {name} ... FAILED");
                println!("{}", failure_of(&run.text));
                failed.push(name);
            }
        }
    }
    if failed.is_empty() {
        println!("{} tests passed", passed.len());
    } else {
        println!(
            "\n{} passed, {} failed:\n    {}",
            passed.len(),
            failed.len(),
            failed.join("\n    ")
        );
    }
    Ok(failed.is_empty())
}

/// The test executables cargo built, from its JSON messages.
fn test_executables(json: &str) -> Vec<PathBuf> {
    let mut exes: Vec<PathBuf> = json
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| {
            msg.get("reason").and_then(|r| r.as_str()) == Some("compiler-artifact")
                && msg.pointer("/profile/test").and_then(|t| t.as_bool()) == Some(true)
        })
        .filter_map(|msg| msg.get("executable")?.as_str().map(PathBuf::from))
        .collect();
    exes.sort();
    exes
}

struct TestRun {
    finished: bool,
    success: bool,
    text: String,
}

/// One run of a test executable in the exercise's folder (as `cargo test`
/// runs it), within the grader's time limit; on time-out its process group
/// is killed. Ctrl-C ends the tool, and the parent-death signal ends the
/// test with it: no test outlives the check.
fn run_test_binary(
    exe: &Path,
    args: &[&str],
    dir: &Path,
    wrap: bool,
    wall: std::time::Duration,
) -> Result<TestRun> {
    let mut cmd = if wrap {
        let mut c = Command::new("unshare");
        c.arg("-Urn").arg(exe);
        c
    } else {
        Command::new(exe)
    };
    cmd.args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("running {}", exe.display()))?;
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(pipe) = pipe {
                // A test printing without end keeps its first MiB.
                let _ = pipe.take(1 << 20).read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let out = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let mut status = None;
    while started.elapsed() < wall {
        status = child.try_wait()?;
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The whole group: a test's children end with it, and its pipes close.
    if let Ok(pgid) = i32::try_from(child.id()) {
        // SAFETY: signalling the process group this child leads.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
    if status.is_none() {
        let _ = child.wait();
    }
    let text = format!(
        "{}{}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
    Ok(TestRun {
        finished: status.is_some(),
        success: status.is_some_and(|s| s.success()),
        text,
    })
}

/// What a student needs of a failed test's output: its own output and the
/// panic message (the `---- NAME stdout ----` block), without the
/// harness's summary or the backtrace note.
fn failure_of(output: &str) -> String {
    let mut lines = Vec::new();
    let mut keep = false;
    for line in output.lines() {
        if line.starts_with("---- ") && line.ends_with(" ----") {
            keep = true;
        } else if keep && (line == "failures:" || line.starts_with("test result:")) {
            break;
        }
        if line.starts_with("note: run with `RUST_BACKTRACE") {
            continue;
        }
        if keep {
            lines.push(line);
        }
    }
    if lines.is_empty() {
        output.trim_end().to_string()
    } else {
        lines.join("\n").trim_end().to_string()
    }
}

fn summary(catalog: &[Exercise], progress: &Progress) -> String {
    let done = catalog
        .iter()
        .filter(|e| progress.exercise.get(&e.name).is_some_and(|s| s.done))
        .count();
    let points: u32 = catalog
        .iter()
        .filter(|e| progress.exercise.get(&e.name).is_some_and(|s| s.done))
        .map(|e| e.points)
        .sum();
    let max: u32 = catalog.iter().map(|e| e.points).sum();
    format!("{done}/{} exercises, {points}/{max} points", catalog.len())
}

fn print_list(catalog: &[Exercise], progress: &Progress) {
    let now = current(catalog, progress).map(|e| e.name.as_str());
    for e in catalog {
        let state = progress.exercise.get(&e.name).cloned().unwrap_or_default();
        println!(
            "{} {} {:<28} {:<22} {:>3} points  {}",
            if now == Some(e.name.as_str()) {
                "->"
            } else {
                "  "
            },
            if state.done { "[x]" } else { "[ ]" },
            e.name,
            e.chapter,
            e.points,
            short_kind(e.kind)
        );
    }
    if let Some(now) = now {
        println!("-> current: {now} (`cargo xtask exercise` checks it)");
    }
    println!("progress: {}", summary(catalog, progress));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_keep_the_failing_tests_and_their_messages() {
        let output = "running 1 test\ntest errors_read_well ... FAILED\n\nfailures:\n\n---- errors_read_well stdout ----\nthread 'b' panicked at src/lib.rs:3:5:\nnot yet implemented\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n\nfailures:\n    errors_read_well\n\ntest result: FAILED. 0 passed; 1 failed\n";
        let shown = failure_of(output);
        assert!(
            shown.starts_with("---- errors_read_well stdout ----"),
            "{shown}"
        );
        assert!(shown.contains("not yet implemented"));
        assert!(!shown.contains("RUST_BACKTRACE"));
        assert!(!shown.contains("test result"));
        assert!(!shown.contains("running 1 test"));
    }

    #[test]
    fn a_hanging_test_is_stopped_at_its_time_limit() {
        let dir = tempfile::tempdir().unwrap();
        let started = std::time::Instant::now();
        let run = run_test_binary(
            Path::new("/bin/sh"),
            &["-c", "echo started; sleep 60"],
            dir.path(),
            false,
            std::time::Duration::from_secs(1),
        )
        .unwrap();
        assert!(!run.finished && !run.success);
        assert!(run.text.contains("started"), "{}", run.text);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

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

    fn catalog() -> Vec<Exercise> {
        let e = |name: &str, chapter: &str, kind, hints: usize| Exercise {
            name: name.into(),
            chapter: chapter.into(),
            kind,
            points: 10,
            hints: (1..=hints).map(|i| format!("h{i}")).collect(),
        };
        vec![
            e("ch01-echo-lengths", "ch01-hello-netlink", Kind::Kmod, 3),
            e("ch01-nlmsg-layout", "ch01-hello-netlink", Kind::Rust, 2),
            e("ch06-lost-messages", "ch06-enobufs", Kind::Rust, 2),
        ]
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

    #[test]
    fn module_failures_point_at_the_students_file_once() {
        let dir = workspace::root().join("exercises/ch07-timer-context");
        let build = |kernel: &str, test: &str| lab::Outcome {
            test_id: format!("ch07-timer-context/{test}"),
            kernel: kernel.into(),
            passed: false,
            reason: "module does not build: building x failed".into(),
            seconds: 0.0,
            details: vec![
                format!("building ch07-timer-context for kernel {kernel} failed:"),
                format!(
                    "/w/target/lab/kmod/{kernel}/ch07-timer-context-0123456789abcdef/timer_mcast.c:58:13: error: 'x' undeclared"
                ),
                "make[1]: *** [Makefile:2: all] Error 2".into(),
            ],
            boot_log: None,
        };
        let outcomes = vec![build("6.1", "a"), build("6.12", "a"), build("6.1", "b")];
        let text = kmod_report(&dir, &outcomes);
        let message =
            "exercises/ch07-timer-context/timer_mcast.c:58:13: error: 'x' undeclared   [6.1, 6.12]";
        assert_eq!(text.matches("timer_mcast.c:58:13").count(), 1, "{text}");
        assert!(text.contains(message), "{text}");
        assert!(!text.contains("target/lab"), "{text}");

        let report = |kernel: &str| lab::Outcome {
            test_id: "ch07-timer-context/congested".into(),
            kernel: kernel.into(),
            passed: false,
            reason: "kernel report: WARNING: inconsistent lock state".into(),
            seconds: 1.0,
            details: vec![
                "BUG: sleeping function called from invalid context at mm/slab.h:1".into(),
                "  call trace: dump_stack_lvl < mcast_tick [timer_mcast]".into(),
            ],
            boot_log: Some(PathBuf::from("/w/target/lab/boots/1/6.1-0.log")),
        };
        let text = kmod_report(&dir, &[report("6.1"), report("6.12")]);
        assert!(text.contains("Kernel reports of ch07-timer-context/congested on 6.1, ch07-timer-context/congested on 6.12:"), "{text}");
        assert!(text.contains("BUG: sleeping function called from invalid context"));
        assert!(text.contains("the whole boot log: /w/target/lab/boots/1/6.1-0.log"));
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
