//! `cargo xtask grade`: score students' submissions.
//!
//! A submission is a copy of `exercises/` as a student left it. Each exercise
//! is graded in isolation: for a Rust exercise only the student's `src/` is
//! taken, the tests and the manifest come from this repository (plus an
//! instructor's hidden tests), it is built in a target directory shared by
//! every submission (dependencies build once), and each test runs as an
//! unprivileged user in fresh user and network namespaces with time, memory,
//! process and file-size limits. A kernel-module exercise runs the tests of
//! the exercise's `lab.toml` in the VM lab against the student's module; all
//! submissions' module tests share the boots. Whatever a student's code does
//! (panic, hang, fork endlessly, fill the disk, print without end, reach for
//! the network or the host's files, not compile) scores 0 for that test or
//! exercise, with the reason, and grading goes on; no process of it outlives
//! the test.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::exercises::{self, Exercise, Kind};
use crate::lab::{self, plan};
use crate::{process, workspace};

#[derive(clap::Args, Debug)]
pub struct GradeArgs {
    /// A submission (a copy of exercises/), or with --class a folder of them.
    #[arg(required_unless_present = "self_check")]
    pub submission: Option<PathBuf>,
    /// Check the exercise set instead: solutions score full marks, starters
    /// zero, the fixtures in tests/fixtures/submissions their expected scores.
    #[arg(long, conflicts_with_all = ["submission", "class"])]
    pub self_check: bool,
    /// SUBMISSION holds one submission per folder (a class).
    #[arg(long)]
    pub class: bool,
    /// Instructor's hidden tests: HIDDEN/<exercise>/tests/*.rs are added to
    /// the exercise's tests (Rust exercises).
    #[arg(long, value_name = "HIDDEN")]
    pub hidden_tests: Option<PathBuf>,
    /// Where grades.json and grades.junit.xml go.
    #[arg(long, default_value = "target/grade/report")]
    pub out: PathBuf,
    /// Only these exercises (repeatable).
    #[arg(long)]
    pub exercise: Vec<String>,
    /// Fail if grading left anything on the host (network, files,
    /// processes), the check `cargo xtask test` ends with.
    #[arg(long, hide = true)]
    pub check_leftovers: bool,
}

/// One test of one exercise.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub name: String,
    pub passed: bool,
    /// Why it failed (trimmed output), empty when it passed.
    pub detail: String,
}

/// One exercise of one submission.
#[derive(Debug, Clone, Serialize)]
pub struct ExerciseGrade {
    pub exercise: String,
    pub kind: Kind,
    pub points: u32,
    pub score: f64,
    /// Set when the exercise scored 0 as a whole (missing, does not build).
    pub reason: Option<String>,
    pub tests: Vec<TestResult>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubmissionGrade {
    pub submission: String,
    pub score: f64,
    pub max: u32,
    pub exercises: Vec<ExerciseGrade>,
}

/// Limits on one test of a student's Rust code.
const TEST_WALL: Duration = Duration::from_secs(10);
const BUILD_WALL: Duration = Duration::from_secs(300);
const LIMIT_CPU_SECS: u64 = 20;
const LIMIT_MEMORY: u64 = 4 << 30;
const LIMIT_FILE_SIZE: u64 = 16 << 20;
const LIMIT_PROCESSES: u64 = 64;
const NOBODY: u32 = 65534;
/// Of a test's output, the grader keeps this much from the start and as
/// much from the end (where the panic message and the summary are).
const OUTPUT_KEPT_EACH_END: usize = 32 << 10;
/// A build's output is machine-read (cargo's JSON): keep more of it.
const BUILD_OUTPUT_KEPT_EACH_END: usize = 2 << 20;
/// A failure's explanation in the reports stays readable.
pub const DETAIL_MAX: usize = 4 << 10;

pub fn run(args: &GradeArgs) -> Result<()> {
    if !args.check_leftovers {
        return grade_as_asked(args);
    }
    let before = crate::leftovers::start()?;
    let graded = grade_as_asked(args);
    let (passed, failed) = crate::leftovers::check(&before)?;
    println!("leftovers: {passed} checks passed, {failed} failed");
    graded?;
    if failed > 0 {
        bail!("grading left something behind on the host");
    }
    Ok(())
}

fn grade_as_asked(args: &GradeArgs) -> Result<()> {
    if args.self_check {
        let (passed, failed) = exercises::self_check(&args.exercise)?;
        println!("exercise set self-check: {passed} passed, {failed} failed");
        if failed > 0 {
            bail!("the exercise set does not check out");
        }
        return Ok(());
    }
    let Some(submission) = &args.submission else {
        bail!("name a submission folder (or --self-check)");
    };
    let submissions = submissions_of(submission, args.class)?;
    let grades = grade(&submissions, args.hidden_tests.as_deref(), &args.exercise)?;
    print_table(&grades);
    let out = workspace::root().join(&args.out);
    write_reports(&grades, &out)?;
    println!(
        "reports: {} and {}",
        out.join("grades.json").display(),
        out.join("grades.junit.xml").display()
    );
    Ok(())
}

/// `(name, folder)` of each submission.
pub fn submissions_of(path: &Path, class: bool) -> Result<Vec<(String, PathBuf)>> {
    let path = path
        .canonicalize()
        .with_context(|| format!("no submission at {}", path.display()))?;
    let name_of = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    if !class {
        return Ok(vec![(name_of(&path), path)]);
    }
    let mut all: Vec<(String, PathBuf)> = std::fs::read_dir(&path)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .map(|p| (name_of(&p), p))
        .collect();
    all.sort();
    if all.is_empty() {
        bail!("{} holds no submission folders", path.display());
    }
    Ok(all)
}

/// Grades every submission; never fails because of a student's code.
pub fn grade(
    submissions: &[(String, PathBuf)],
    hidden: Option<&Path>,
    only: &[String],
) -> Result<Vec<SubmissionGrade>> {
    let root = workspace::root();
    let catalog: Vec<Exercise> = exercises::catalog(&root)?
        .into_iter()
        .filter(|e| only.is_empty() || only.contains(&e.name))
        .collect();
    if catalog.is_empty() {
        bail!("no exercise matches {only:?}");
    }
    let _one_grading_at_a_time = ensure_sandbox_works()?;
    let work = crate::cache_dir().join("grade/work");
    let mut grades: Vec<SubmissionGrade> = Vec::new();
    let mut lab_tests = Vec::new();
    for (index, (name, dir)) in submissions.iter().enumerate() {
        let mut exercises = Vec::new();
        for exercise in &catalog {
            let student = dir.join(&exercise.name);
            if !student.is_dir() {
                exercises.push(zero(exercise, "missing from the submission"));
                continue;
            }
            match exercise.kind {
                Kind::Rust => {
                    eprintln!("==> grading {name}: {}", exercise.name);
                    // One build folder per exercise, reused by every
                    // submission: cargo then sees one package whose sources
                    // changed, rebuilds it and keeps its dependencies.
                    let build = crate::cache_dir().join("grade/build").join(&exercise.name);
                    exercises.push(grade_rust(&root, exercise, &student, hidden, &build));
                }
                Kind::Kmod => {
                    let slot = work
                        .join(format!("{index:03}-{}", safe(name)))
                        .join(&exercise.name);
                    match kmod_tests(&root, exercise, &student, &slot, index) {
                        Ok(tests) => {
                            lab_tests.extend(tests);
                            // Scored below, once the shared boots have run.
                            exercises.push(zero(exercise, "pending"));
                        }
                        Err(e) => exercises.push(zero(exercise, &format!("{e:#}"))),
                    }
                }
            }
        }
        grades.push(SubmissionGrade {
            submission: name.clone(),
            score: 0.0,
            max: 0,
            exercises,
        });
    }
    if !lab_tests.is_empty() {
        eprintln!(
            "==> grading kernel-module exercises in the VM lab ({} tests)",
            lab_tests.len()
        );
        score_kmod(&mut grades, lab_tests);
    }
    for g in &mut grades {
        g.max = g.exercises.iter().map(|e| e.points).sum();
        g.score = round2(g.exercises.iter().map(|e| e.score).sum());
    }
    Ok(grades)
}

fn zero(exercise: &Exercise, reason: &str) -> ExerciseGrade {
    ExerciseGrade {
        exercise: exercise.name.clone(),
        kind: exercise.kind,
        points: exercise.points,
        score: 0.0,
        reason: Some(reason.to_string()),
        tests: Vec::new(),
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Folder-name-safe version of a submission name.
fn safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn grade_rust(
    root: &Path,
    exercise: &Exercise,
    student: &Path,
    hidden: Option<&Path>,
    slot: &Path,
) -> ExerciseGrade {
    match try_grade_rust(root, exercise, student, hidden, slot) {
        Ok(g) => g,
        Err(e) => zero(exercise, &format!("{e:#}")),
    }
}

fn try_grade_rust(
    root: &Path,
    exercise: &Exercise,
    student: &Path,
    hidden: Option<&Path>,
    slot: &Path,
) -> Result<ExerciseGrade> {
    let reference = root.join("exercises").join(&exercise.name);
    // The student's src/, everything else from the reference: tests cannot
    // be weakened and no build script of theirs runs.
    if slot.exists() {
        std::fs::remove_dir_all(slot)?;
    }
    std::fs::create_dir_all(slot)?;
    copy_tree(&student.join("src"), &slot.join("src"), 0)?;
    copy_tree(&reference.join("tests"), &slot.join("tests"), 0)?;
    for file in ["Cargo.toml", "Cargo.lock"] {
        if reference.join(file).is_file() {
            std::fs::copy(reference.join(file), slot.join(file))?;
        }
    }
    if let Some(hidden) = hidden {
        let extra = hidden.join(&exercise.name).join("tests");
        if extra.is_dir() {
            for entry in std::fs::read_dir(&extra)? {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "rs")
                    && let Some(file) = path.file_name()
                {
                    std::fs::copy(
                        &path,
                        slot.join("tests")
                            .join(format!("hidden_{}", file.to_string_lossy())),
                    )?;
                }
            }
        }
    }
    let target = crate::cache_dir().join("grade/target").join(&exercise.name);
    let executables = match build_tests(slot, &target)? {
        Ok(exes) => exes,
        Err(errors) => {
            let first = errors
                .lines()
                .find(|l| l.starts_with("error"))
                .unwrap_or("")
                .to_string();
            return Ok(ExerciseGrade {
                reason: Some(clip_start(
                    &format!("does not compile: {first}\n{errors}"),
                    DETAIL_MAX,
                )),
                ..zero(exercise, "")
            });
        }
    };
    let mut tests = Vec::new();
    for exe in &executables {
        let listed = run_sandboxed(exe, &["--list", "--format", "terse"], slot, TEST_WALL)?;
        if !listed.success {
            tests.push(TestResult {
                name: exe_name(exe),
                passed: false,
                detail: format!("cannot list its tests: {}", listed.outcome),
            });
            continue;
        }
        for name in listed
            .output
            .lines()
            .filter_map(|l| l.strip_suffix(": test"))
        {
            let run = run_sandboxed(
                exe,
                &["--exact", name, "--test-threads", "1"],
                slot,
                TEST_WALL,
            )?;
            tests.push(TestResult {
                name: format!("{}::{name}", exe_name(exe)),
                passed: run.success,
                detail: if run.success {
                    String::new()
                } else {
                    failure_detail(&run)
                },
            });
        }
    }
    if tests.is_empty() {
        bail!("the exercise has no tests to grade");
    }
    let passed = tests.iter().filter(|t| t.passed).count();
    Ok(ExerciseGrade {
        exercise: exercise.name.clone(),
        kind: Kind::Rust,
        points: exercise.points,
        score: round2(f64::from(exercise.points) * passed as f64 / tests.len() as f64),
        reason: None,
        tests,
    })
}

/// The panic message first (what a student needs), then the outcome and the
/// end of the output.
fn failure_detail(run: &Sandboxed) -> String {
    let lines: Vec<&str> = run.output.lines().collect();
    let panic = lines
        .iter()
        .position(|l| l.contains("panicked at"))
        .map(|at| {
            let place = lines[at]
                .split("panicked at ")
                .nth(1)
                .unwrap_or("")
                .trim_end_matches(':');
            let message = lines.get(at + 1).copied().unwrap_or("").trim();
            format!("{message} (at {place})")
        });
    // Without a panic message, the outcome is the first line.
    let first = match panic {
        Some(message) => format!("{}\n{}", clip_start(&message, 500), run.outcome),
        None => run.outcome.clone(),
    };
    let cut = match run.printed {
        n if n > run.output.len() => format!(
            "\nprinted {n} bytes of output; the grader kept the first and last {} KiB",
            OUTPUT_KEPT_EACH_END >> 10
        ),
        _ => String::new(),
    };
    let detail = format!("{first}{cut}\n{}", tail(&run.output, 20));
    clip_start(&detail, DETAIL_MAX)
}

/// `text` in at most `max` bytes: its start, and how much was cut.
fn clip_start(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    // Room for the note, whose number has at most 20 digits.
    let mut end = max.saturating_sub(" [... 18446744073709551615 bytes cut]".len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} [... {} bytes cut]", &text[..end], text.len() - end)
}

fn exe_name(exe: &Path) -> String {
    // cargo names test binaries `<target>-<hash>`.
    let stem = exe
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_string(),
        _ => stem,
    }
}

/// Copies a folder, skipping links and anything over 1 MiB (no student file
/// may fill the disk through the grader).
fn copy_tree(from: &Path, to: &Path, depth: usize) -> Result<()> {
    if depth > 8 || !from.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &dest, depth + 1)?;
        } else if kind.is_file() && entry.metadata()?.len() <= 1 << 20 {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

/// Builds the test binaries; `Err(text)` with the compiler's errors when the
/// student's code does not compile.
fn build_tests(
    crate_dir: &Path,
    target: &Path,
) -> Result<std::result::Result<Vec<PathBuf>, String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut child = Command::new(cargo)
        .args([
            "test",
            "--no-run",
            "--quiet",
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(crate_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .context("could not run cargo")?;
    let (stdout, stderr, timed_out) =
        wait_with_limit(&mut child, BUILD_WALL, BUILD_OUTPUT_KEPT_EACH_END)?;
    if timed_out {
        return Ok(Err(format!(
            "the build took longer than {} s",
            BUILD_WALL.as_secs()
        )));
    }
    let mut exes = Vec::new();
    for line in stdout.text.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_test = msg["profile"]["test"].as_bool() == Some(true);
        if msg["reason"] == "compiler-artifact"
            && is_test
            && let Some(exe) = msg["executable"].as_str()
        {
            exes.push(PathBuf::from(exe));
        }
    }
    if exes.is_empty() || exes.iter().any(|e| !e.is_file()) {
        return Ok(Err(tail(&stderr.text, 30)));
    }
    exes.sort();
    Ok(Ok(exes))
}

/// What a sandboxed run did.
struct Sandboxed {
    success: bool,
    /// "exit status 101", "killed after 10 s", ...
    outcome: String,
    /// Its output, cut in the middle when it printed more than the grader keeps.
    output: String,
    /// How many bytes it printed.
    printed: usize,
}

/// Fails early, with the fix, where the sandbox cannot be set up; proves it
/// holds a fork bomb, a hang and a network-touching program.
///
/// Returns a machine-wide lock held until the grading is over: every run
/// uses the one `nobody` account, whose process limit and process count
/// two gradings at once would share.
pub fn ensure_sandbox_works() -> Result<std::fs::File> {
    if !crate::process::is_root() {
        bail!(
            "grading runs student code as an unprivileged user, which needs root: run `cargo xtask grade` as root"
        );
    }
    let root = workspace::root();
    for private in ["/tmp", "/var/tmp", "/dev/shm", "/run"] {
        if root.starts_with(private) {
            bail!(
                "grading gives each test a private {private}, which would hide this workbook at {}: \
                 clone it elsewhere to grade",
                root.display()
            );
        }
    }
    // Orphaned processes of a killed test come to us, to be reaped.
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } < 0 {
        bail!(
            "prctl(PR_SET_CHILD_SUBREAPER): {}",
            std::io::Error::last_os_error()
        );
    }
    let lock = crate::process::exclusive_lock(&lock_path(), "grading")?;
    let root_dir = Path::new("/");
    let who = run_sandboxed(Path::new("/usr/bin/id"), &["-u"], root_dir, TEST_WALL)?;
    if !who.success || who.output.trim() != "0" {
        bail!(
            "the grading sandbox does not work here ({}): it needs unprivileged user namespaces \
             (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)",
            who.outcome
        );
    }
    let sh = Path::new("/bin/sh");
    // More processes than the limit allows: some forks must be refused,
    // and none may outlive the run.
    let nobody_before = processes_of(NOBODY);
    let bomb = run_sandboxed(
        sh,
        &["-c", "for i in $(seq 100); do sleep 1 & done; wait"],
        root_dir,
        Duration::from_secs(5),
    )?;
    let hang = run_sandboxed(sh, &["-c", "sleep 60"], root_dir, Duration::from_secs(1))?;
    let net = run_sandboxed(
        Path::new("/bin/cat"),
        &["/proc/net/dev"],
        root_dir,
        TEST_WALL,
    )?;
    let only_lo = net.output.lines().count() == 3 && net.output.contains("lo:");
    let bomb_held = bomb.output.contains("fork") && processes_of(NOBODY) <= nobody_before;
    let services_hidden = host_services_hidden(sh, root_dir)?;
    if !bomb_held || !hang.outcome.contains("killed after") || !only_lo || !services_hidden {
        bail!(
            "the grading sandbox does not hold: fork bomb: {} {}; hang: {} {}; network: {}; \
             a world-writable Unix socket in /run visible: {}",
            bomb.outcome,
            bomb.output,
            hang.outcome,
            hang.output,
            net.output,
            !services_hidden
        );
    }
    Ok(lock)
}

/// Whether graded code cannot see a world-writable Unix socket that a host
/// service put in /run (where the system bus, the journal and the container
/// daemons listen): the probe makes one and looks for it from the sandbox.
fn host_services_hidden(sh: &Path, root_dir: &Path) -> Result<bool> {
    let probe = Path::new("/run").join(format!(
        "netlink-workbook-grading-probe-{}.sock",
        std::process::id()
    ));
    let _listener = std::os::unix::net::UnixListener::bind(&probe)
        .with_context(|| format!("creating the sandbox probe {}", probe.display()))?;
    let removed = crate::RemovedOnDrop(probe.clone());
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&removed.0, std::fs::Permissions::from_mode(0o777))
        .with_context(|| format!("chmod {}", probe.display()))?;
    let script = format!(
        "if test -S '{}'; then echo visible; else echo hidden; fi",
        probe.display()
    );
    let looked = run_sandboxed(sh, &["-c", &script], root_dir, TEST_WALL)?;
    Ok(looked.success && looked.output.trim() == "hidden")
}

/// The machine-wide grading lock: in /run/lock, where every checkout of the
/// workbook finds it.
pub fn lock_path() -> PathBuf {
    let lock_dir = Path::new("/run/lock");
    if lock_dir.is_dir() {
        lock_dir.join("netlink-workbook-grading.lock")
    } else {
        crate::cache_dir().join("grade.lock")
    }
}

/// Runs a student's program as `nobody`, in new user and network namespaces
/// (it is root there, so tests can make their own network namespaces, and it
/// reaches no network), with limits, in a process group killed on timeout.
fn run_sandboxed(program: &Path, args: &[&str], dir: &Path, wall: Duration) -> Result<Sandboxed> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let map_uid = format!("0 {NOBODY} 1");
    // SAFETY: between fork and exec the closure only makes system calls on
    // data prepared before the fork; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || sandbox_child(map_uid.as_bytes()));
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start {}", program.display()))?;
    let started = Instant::now();
    let (stdout, stderr, timed_out) = wait_with_limit(&mut child, wall, OUTPUT_KEPT_EACH_END)?;
    let status = child.wait()?;
    let outcome = if timed_out {
        format!("killed after {} s (hangs?)", wall.as_secs())
    } else if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        let why = match signal {
            libc::SIGXFSZ => "SIGXFSZ: wrote past the file-size limit",
            libc::SIGXCPU => "SIGXCPU: used up its CPU time",
            libc::SIGABRT => "SIGABRT: aborted (abort(), stack overflow, out of memory?)",
            libc::SIGSEGV => "SIGSEGV: bad memory access (stack overflow?)",
            libc::SIGKILL => "SIGKILL",
            _ => "a signal",
        };
        format!(
            "killed by signal {signal} ({why}) after {:.1} s",
            started.elapsed().as_secs_f64()
        )
    } else {
        format!("exit status {}", status.code().unwrap_or(-1))
    };
    Ok(Sandboxed {
        success: !timed_out && status.success(),
        outcome,
        output: format!("{}{}", stdout.text, stderr.text),
        printed: stdout.printed + stderr.printed,
    })
}

/// How many processes run as `uid` (none may outlive a graded test).
fn processes_of(uid: u32) -> usize {
    pids_of(uid).len()
}

/// The processes (zombies included) whose real uid is `uid`.
fn pids_of(uid: u32) -> Vec<i32> {
    process::pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .is_some_and(|status| {
                    status
                        .lines()
                        .find_map(|l| l.strip_prefix("Uid:"))
                        .and_then(|ids| ids.split_whitespace().next())
                        .is_some_and(|real| real == uid.to_string())
                })
        })
        .collect()
}

/// The processes of graded code still running: `nobody` in a user
/// namespace other than ours (every sandbox has its own). The host's own
/// `nobody` processes live in our namespace and are left alone.
pub fn sandbox_processes() -> Vec<i32> {
    let Ok(ours) = std::fs::read_link("/proc/self/ns/user") else {
        return Vec::new();
    };
    pids_of(NOBODY)
        .into_iter()
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/ns/user")).is_ok_and(|ns| ns != ours))
        .collect()
}

/// Kills every sandbox process, until none is left (a fork bomb forks while
/// it is being killed), and reaps those that were re-parented to us.
fn kill_sandbox_processes() {
    let started = Instant::now();
    loop {
        let left = sandbox_processes();
        reap_orphans();
        if left.is_empty() || started.elapsed() > Duration::from_secs(10) {
            break;
        }
        for pid in left {
            // SAFETY: signalling a process of graded code.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn sandbox_child(map: &[u8]) -> std::io::Result<()> {
    let check = |rc: libc::c_int| {
        if rc < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(())
        }
    };
    let limit = |resource, value: u64| {
        let l = libc::rlimit {
            rlim_cur: value,
            rlim_max: value,
        };
        // SAFETY: l is a valid rlimit.
        check(unsafe { libc::setrlimit(resource, &l) })
    };
    limit(libc::RLIMIT_CPU, LIMIT_CPU_SECS)?;
    limit(libc::RLIMIT_AS, LIMIT_MEMORY)?;
    limit(libc::RLIMIT_FSIZE, LIMIT_FILE_SIZE)?;
    limit(libc::RLIMIT_NPROC, LIMIT_PROCESSES)?;
    limit(libc::RLIMIT_CORE, 0)?;
    // SAFETY: plain system calls without pointers, or with valid ones.
    unsafe {
        check(libc::setpgid(0, 0))?;
        check(libc::setgroups(0, std::ptr::null()))?;
        check(libc::setgid(NOBODY))?;
        check(libc::setuid(NOBODY))?;
        // Changing uid made the process non-dumpable, which hands its /proc
        // files to root: it could not write its own uid_map.
        check(libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0))?;
        // IPC too: System V segments and message queues would outlive the
        // run in the host's namespace.
        check(libc::unshare(
            libc::CLONE_NEWUSER | libc::CLONE_NEWNET | libc::CLONE_NEWNS | libc::CLONE_NEWIPC,
        ))?;
    }
    write_proc(c"/proc/self/setgroups", b"deny")?;
    write_proc(c"/proc/self/uid_map", map)?;
    write_proc(c"/proc/self/gid_map", map)?;
    // Every file system read-only (world-writable places such as /run/lock
    // included), then small private temporary folders, so no test can leave
    // a file behind or fill the disk. An empty /run as well: the host's
    // services listen there on Unix sockets (the system bus, the journal,
    // container daemons), and a read-only mount does not stop connect().
    let read_only = libc::mount_attr {
        attr_set: libc::MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: NUL-terminated strings; a mount namespace of our own; the
    // mount_attr is valid for its size.
    unsafe {
        check(libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ))?;
        check(libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            c"/".as_ptr(),
            libc::AT_RECURSIVE,
            &read_only as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        ) as libc::c_int)?;
        for dir in [c"/tmp", c"/var/tmp", c"/dev/shm", c"/run"] {
            if libc::access(dir.as_ptr(), libc::F_OK) == 0 {
                check(libc::mount(
                    c"tmpfs".as_ptr(),
                    dir.as_ptr(),
                    c"tmpfs".as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV,
                    c"size=64m".as_ptr().cast(),
                ))?;
            }
        }
    }
    Ok(())
}

fn write_proc(path: &std::ffi::CStr, data: &[u8]) -> std::io::Result<()> {
    // SAFETY: path is NUL-terminated; data is valid for its length.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        libc::close(fd);
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A stream's output as kept: all of it, or its two ends.
#[derive(Debug, Default)]
struct Kept {
    text: String,
    /// How many bytes the stream carried.
    printed: usize,
}

/// Keeps the first and the last `each_end` bytes of a stream, however much
/// passes through.
struct HeadAndTail {
    each_end: usize,
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    printed: usize,
}

impl HeadAndTail {
    fn new(each_end: usize) -> Self {
        HeadAndTail {
            each_end,
            head: Vec::new(),
            tail: std::collections::VecDeque::new(),
            printed: 0,
        }
    }

    fn push(&mut self, mut bytes: &[u8]) {
        self.printed += bytes.len();
        let to_head = bytes.len().min(self.each_end - self.head.len());
        self.head.extend_from_slice(&bytes[..to_head]);
        bytes = &bytes[to_head..];
        if bytes.len() >= self.each_end {
            self.tail.clear();
            bytes = &bytes[bytes.len() - self.each_end..];
        }
        let overflow = (self.tail.len() + bytes.len()).saturating_sub(self.each_end);
        self.tail.drain(..overflow);
        self.tail.extend(bytes);
    }

    fn finish(self) -> Kept {
        let left_out = self.printed - self.head.len() - self.tail.len();
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if left_out > 0 {
            text.push_str(&format!(
                "\n[... {left_out} bytes of output left out ...]\n"
            ));
        }
        text.push_str(&String::from_utf8_lossy(&Vec::from(self.tail)));
        Kept {
            text,
            printed: self.printed,
        }
    }
}

/// Collects a child's output until it exits or `wall` passes; on timeout the
/// whole process group is killed. Of each stream, the first and the last
/// `kept_each_end` bytes are kept: a program printing without end costs
/// the grader no memory.
fn wait_with_limit(
    child: &mut std::process::Child,
    wall: Duration,
    kept_each_end: usize,
) -> Result<(Kept, Kept, bool)> {
    let reader = move |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut kept = HeadAndTail::new(kept_each_end);
            if let Some(mut p) = pipe {
                let mut chunk = [0u8; 8192];
                while let Ok(n) = p.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    kept.push(&chunk[..n]);
                }
            }
            kept.finish()
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let mut timed_out = false;
    while child.try_wait()?.is_none() {
        if started.elapsed() > wall {
            timed_out = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The group too: a test may have left children (or a fork bomb) behind.
    let pgid = i32::try_from(child.id()).unwrap_or(0);
    if pgid > 0 {
        // SAFETY: signalling a process group we created.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
    let _ = child.wait();
    // What left the group (setsid) is still in the sandbox's user namespace:
    // end it too, or it would outlive grading and hold the output pipes open.
    kill_sandbox_processes();
    // Killed processes become zombies (ours to reap, as the subreaper) a
    // moment later; until then they count against the next test's process
    // limit. Wait until the group is gone.
    let started = Instant::now();
    loop {
        reap_orphans();
        if pgid <= 0 || !group_alive(pgid) || started.elapsed() > Duration::from_secs(5) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    Ok((stdout, stderr, timed_out))
}

/// Whether any process (zombies included) is still in process group `pgid`.
fn group_alive(pgid: i32) -> bool {
    process::pids()
        .into_iter()
        .any(|pid| process::stat_of(pid).is_some_and(|stat| stat.pgrp == pgid))
}

/// Orphans of a killed test (a fork bomb's children) are re-parented to this
/// process (a child subreaper, see `ensure_sandbox_works`): reap them so no
/// zombie is left behind. Only called when no other child of ours runs.
fn reap_orphans() {
    loop {
        let mut status = 0;
        // SAFETY: status is a valid pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            break;
        }
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The lab tests of a kernel-module exercise, pointed at the student's module.
fn kmod_tests(
    root: &Path,
    exercise: &Exercise,
    student: &Path,
    slot: &Path,
    index: usize,
) -> Result<Vec<plan::LabTest>> {
    if slot.exists() {
        std::fs::remove_dir_all(slot)?;
    }
    std::fs::create_dir_all(slot)?;
    // Module sources only; Kbuild and lab.toml come from the reference.
    for entry in std::fs::read_dir(student)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "c" || e == "h")
            && path.is_file()
            && path.metadata()?.len() <= 1 << 20
        {
            std::fs::copy(&path, slot.join(path.file_name().context("file name")?))?;
        }
    }
    let reference = root.join("exercises").join(&exercise.name);
    std::fs::copy(reference.join("Kbuild"), slot.join("Kbuild"))
        .context("the exercise has no Kbuild")?;
    let tests = plan::load_dir(&reference)?;
    // Unique per submission, so all submissions can share boots.
    let chapter = format!("{index:03}-{}", exercise.name);
    Ok(tests
        .into_iter()
        .map(|mut t| {
            t.id = format!("{chapter}/{}", t.spec.name);
            t.chapter = chapter.clone();
            t.module_dir = slot.to_path_buf();
            t
        })
        .collect())
}

fn score_kmod(grades: &mut [SubmissionGrade], tests: Vec<plan::LabTest>) {
    let kernels: Vec<String> = plan::KERNELS.iter().map(|k| k.to_string()).collect();
    // A module that does not build fails its own tests only (the lab says why).
    let outcomes = lab::execute(tests, &kernels, lab::Mode::Verdict).map(|s| s.outcomes);
    for (index, g) in grades.iter_mut().enumerate() {
        for e in g
            .exercises
            .iter_mut()
            .filter(|e| e.kind == Kind::Kmod && e.reason.as_deref() == Some("pending"))
        {
            let chapter = format!("{index:03}-{}", e.exercise);
            match &outcomes {
                Err(err) => e.reason = Some(format!("the VM lab failed: {err:#}")),
                Ok(outcomes) => {
                    e.tests = outcomes
                        .iter()
                        .filter(|o| o.test_id.starts_with(&format!("{chapter}/")))
                        .map(|o| TestResult {
                            name: format!(
                                "{}@{}",
                                o.test_id.split_once('/').map_or("", |(_, n)| n),
                                o.kernel
                            ),
                            passed: o.passed,
                            detail: o.reason.clone(),
                        })
                        .collect();
                    let passed = e.tests.iter().filter(|t| t.passed).count();
                    e.reason = if e.tests.is_empty() {
                        Some("no lab test ran".into())
                    } else {
                        None
                    };
                    e.score = if e.tests.is_empty() {
                        0.0
                    } else {
                        round2(f64::from(e.points) * passed as f64 / e.tests.len() as f64)
                    };
                }
            }
        }
    }
}

fn print_table(grades: &[SubmissionGrade]) {
    let Some(first) = grades.first() else { return };
    let names: Vec<&str> = first
        .exercises
        .iter()
        .map(|e| e.exercise.as_str())
        .collect();
    let width = grades
        .iter()
        .map(|g| g.submission.len())
        .max()
        .unwrap_or(10)
        .max(10);
    print!("\n{:<width$}", "submission");
    for n in &names {
        print!("  {n:>w$}", w = n.len().max(6));
    }
    println!("  {:>9}", "total");
    for g in grades {
        print!("{:<width$}", g.submission);
        for (e, n) in g.exercises.iter().zip(&names) {
            print!(
                "  {:>w$}",
                format!("{}/{}", e.score, e.points),
                w = n.len().max(6)
            );
        }
        println!("  {:>9}", format!("{}/{}", g.score, g.max));
    }
    for g in grades {
        for e in &g.exercises {
            if let Some(reason) = &e.reason {
                println!(
                    "{} {}: 0 points: {}",
                    g.submission,
                    e.exercise,
                    reason.lines().next().unwrap_or("")
                );
            }
            for t in e.tests.iter().filter(|t| !t.passed) {
                println!(
                    "{} {}: FAIL {}: {}",
                    g.submission,
                    e.exercise,
                    t.name,
                    t.detail.lines().next().unwrap_or("")
                );
            }
        }
    }
}

fn write_reports(grades: &[SubmissionGrade], out: &Path) -> Result<()> {
    std::fs::create_dir_all(out)?;
    std::fs::write(
        out.join("grades.json"),
        serde_json::to_string_pretty(grades)?,
    )?;
    std::fs::write(out.join("grades.junit.xml"), junit(grades))?;
    Ok(())
}

/// JUnit XML: a test suite per (submission, exercise), a test case per test.
pub fn junit(grades: &[SubmissionGrade]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for g in grades {
        for e in &g.exercises {
            let cases: Vec<TestResult> = if e.tests.is_empty() {
                vec![TestResult {
                    name: "exercise".into(),
                    passed: false,
                    detail: e.reason.clone().unwrap_or_default(),
                }]
            } else {
                e.tests.clone()
            };
            let failures = cases.iter().filter(|c| !c.passed).count();
            xml.push_str(&format!(
                "  <testsuite name=\"{}/{}\" tests=\"{}\" failures=\"{failures}\">\n",
                escape(&g.submission),
                escape(&e.exercise),
                cases.len()
            ));
            for c in &cases {
                xml.push_str(&format!(
                    "    <testcase classname=\"{}.{}\" name=\"{}\"",
                    escape(&g.submission),
                    escape(&e.exercise),
                    escape(&c.name)
                ));
                if c.passed {
                    xml.push_str("/>\n");
                } else {
                    xml.push_str(&format!(
                        "><failure message=\"{}\">{}</failure></testcase>\n",
                        escape(c.detail.lines().next().unwrap_or("failed")),
                        escape(&c.detail)
                    ));
                }
            }
            xml.push_str("  </testsuite>\n");
        }
    }
    xml.push_str("</testsuites>\n");
    xml
}

fn escape(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_escapes_and_counts_failures() {
        let grades = vec![SubmissionGrade {
            submission: "ann".into(),
            score: 5.0,
            max: 10,
            exercises: vec![ExerciseGrade {
                exercise: "ch01".into(),
                kind: Kind::Rust,
                points: 10,
                score: 5.0,
                reason: None,
                tests: vec![
                    TestResult {
                        name: "a".into(),
                        passed: true,
                        detail: String::new(),
                    },
                    TestResult {
                        name: "b<".into(),
                        passed: false,
                        detail: "left \"1\" & right".into(),
                    },
                ],
            }],
        }];
        let xml = junit(&grades);
        assert!(xml.contains("tests=\"2\" failures=\"1\""));
        assert!(xml.contains("name=\"b&lt;\""));
        assert!(xml.contains("left &quot;1&quot; &amp; right"));
    }

    #[test]
    fn keeps_both_ends_of_long_output() {
        let mut kept = HeadAndTail::new(4);
        for chunk in [&b"ab"[..], b"cdefgh", b"ijklmnopq", b"rs"] {
            kept.push(chunk);
        }
        let kept = kept.finish();
        assert_eq!(kept.printed, 19);
        assert_eq!(
            kept.text,
            "abcd\n[... 11 bytes of output left out ...]\npqrs"
        );
        let mut short = HeadAndTail::new(4);
        short.push(b"abcdef");
        assert_eq!(short.finish().text, "abcdef");
    }

    #[test]
    fn clips_long_details_within_the_cap() {
        assert_eq!(clip_start("short", 100), "short");
        let long = "é".repeat(1000);
        let clipped = clip_start(&long, 100);
        assert!(clipped.len() <= 100, "{} bytes", clipped.len());
        assert!(clipped.ends_with("bytes cut]"), "{clipped}");
    }

    #[test]
    fn names_test_binaries_without_their_hash() {
        assert_eq!(
            exe_name(Path::new("/t/deps/layout-0123abcd4567ef89")),
            "layout"
        );
        assert_eq!(exe_name(Path::new("/t/deps/plain")), "plain");
    }
}
