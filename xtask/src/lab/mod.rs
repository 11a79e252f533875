//! The VM lab: every chapter's kernel modules and Rust programs run in pinned
//! kernels under QEMU; outputs and kernel logs are insta snapshots.

pub mod build_only;
mod guest;
mod initramfs;
pub mod kernels;
pub mod normalize;
pub mod plan;
mod qemu;
pub mod transcript;

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use self::kernels::Kernel;
use self::plan::{KERNELS, LabTest, TestSpec};
use self::transcript::GuestRun;
use crate::workspace;

#[derive(clap::Args, Debug, Default)]
pub struct LabArgs {
    /// Only this chapter (e.g. `ch01-hello-netlink`, or just `ch01`); repeatable.
    #[arg(long)]
    pub chapter: Vec<String>,
    /// Only this kernel: 6.1, 6.12 or debug; repeatable.
    #[arg(long)]
    pub kernel: Vec<String>,
    /// Only tests whose name contains this text.
    #[arg(long)]
    pub test: Option<String>,
    /// List the tests and exit.
    #[arg(long)]
    pub list: bool,
    /// Write the snapshots instead of comparing (after reviewing the change!).
    #[arg(long)]
    pub accept: bool,
    /// Your own module: a directory with a Kbuild file (built for each kernel).
    #[arg(long, value_name = "DIR")]
    pub module_dir: Option<PathBuf>,
    /// Your own program: a chapter binary name or a path to a static program.
    #[arg(long, value_name = "PROGRAM")]
    pub program: Option<String>,
    /// Arguments for --program.
    #[arg(last = true)]
    pub args: Vec<String>,
}

/// How one (test, kernel) went.
#[derive(Debug)]
pub struct Outcome {
    pub test_id: String,
    pub kernel: String,
    pub passed: bool,
    pub reason: String,
    pub seconds: f64,
}

/// What `cargo xtask test` needs back.
pub struct Summary {
    pub outcomes: Vec<Outcome>,
}

impl Summary {
    pub fn passed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.passed).count()
    }
    pub fn failed(&self) -> usize {
        self.outcomes.len() - self.passed()
    }
}

/// How results are judged and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The workbook's own tests: verdict plus the recorded snapshot.
    Snapshots,
    /// A reader's module and program: verdict, and the output printed.
    Show,
    /// Grading: verdict only (a student's output is not the reference's).
    Verdict,
}

pub fn run(args: &LabArgs) -> Result<Summary> {
    let root = workspace::root();
    let kmod = root.join("kmod");
    let user_run = args.program.is_some() || args.module_dir.is_some();
    let tests = if user_run {
        vec![user_test(args)?]
    } else {
        select(plan::load_all(&kmod)?, args)?
    };
    let kernel_names: Vec<String> = if args.kernel.is_empty() {
        KERNELS.iter().map(|k| k.to_string()).collect()
    } else {
        for k in &args.kernel {
            if !KERNELS.contains(&k.as_str()) {
                bail!("unknown kernel `{k}` (known: {})", KERNELS.join(", "));
            }
        }
        args.kernel.clone()
    };
    if args.list {
        for t in &tests {
            let on: Vec<&str> = kernel_names
                .iter()
                .map(String::as_str)
                .filter(|k| t.runs_on(k))
                .collect();
            println!("{:<45} {:<18} {}", t.id, on.join(","), t.spec.about);
        }
        return Ok(Summary {
            outcomes: Vec::new(),
        });
    }
    if tests.is_empty() {
        bail!(
            "no lab test matches {} (`cargo xtask lab --list` lists them all)",
            selection(args)
        );
    }
    if !tests
        .iter()
        .any(|t| kernel_names.iter().any(|k| t.runs_on(k)))
    {
        let on: Vec<String> = tests.iter().map(|t| t.id.clone()).collect();
        bail!(
            "the test(s) matching {} ({}) run on no kernel of {}; `cargo xtask lab --list{}` shows \
             where each runs",
            selection(args),
            on.join(", "),
            kernel_names.join(", "),
            args.chapter
                .iter()
                .map(|c| format!(" --chapter {c}"))
                .collect::<String>()
        );
    }
    if args.accept {
        // SAFETY: set before any thread starts; insta reads it on first use.
        unsafe { std::env::set_var("INSTA_UPDATE", "always") };
    }
    let mode = if user_run {
        Mode::Show
    } else {
        Mode::Snapshots
    };
    execute(tests, &kernel_names, mode)
}

/// Runs `tests` on the kernels named, building what they need.
pub fn execute(tests: Vec<LabTest>, kernel_names: &[String], mode: Mode) -> Result<Summary> {
    let root = workspace::root();
    let cache = crate::cache_dir();
    let kmod = root.join("kmod");
    let user_run = mode == Mode::Show;
    let _lab = exclusive_lab(&cache)?;
    crate::provision::ensure_packages(&[
        "qemu-system-x86",
        "busybox-static",
        "gcc-12",
        "make",
        "dwarves",
    ])?;

    // Kernels first (downloads, the debug build), then what goes into guests.
    let mut kernels = Vec::new();
    for name in kernel_names {
        if tests.iter().any(|t| t.runs_on(name)) {
            kernels.push(kernels::prepare(name, &cache)?);
        }
    }
    let program_names: Vec<String> =
        dedup(tests.iter().filter_map(|t| t.spec.program.first().cloned()));
    let programs = guest::resolve_programs(&root, &program_names, &cache)?;
    let module_dirs: Vec<PathBuf> = dedup(
        tests
            .iter()
            .filter(|t| !t.spec.modules.is_empty())
            .map(|t| t.module_dir.clone()),
    );
    if mode == Mode::Snapshots
        && let Some(debug) = kernels.iter().find(|k| k.name == "debug")
    {
        let mut dirs = module_dirs.clone();
        dirs.push(kmod.join("include"));
        guest::checkpatch(&debug.kdir, &dirs)?;
    }
    // kernel -> module folder -> its modules; a folder that does not build
    // fails its own tests, not the run.
    let mut modules: BTreeMap<String, BTreeMap<PathBuf, guest::Built>> = BTreeMap::new();
    let mut broken: BTreeMap<(String, PathBuf), String> = BTreeMap::new();
    for k in &kernels {
        eprintln!("==> building modules for kernel {} ({})", k.name, k.release);
        for dir in &module_dirs {
            match guest::build_module_dir(&kmod, dir, k, &cache) {
                Ok(built) => {
                    modules
                        .entry(k.name.clone())
                        .or_default()
                        .insert(dir.clone(), built);
                }
                Err(e) => {
                    eprintln!("{e:#}");
                    broken.insert((k.name.clone(), dir.clone()), format!("{e:#}"));
                }
            }
        }
    }
    if user_run && let Some((_, why)) = broken.iter().next() {
        bail!("{why}");
    }
    let tests: Vec<LabTest> = match user_run {
        // A reader's module folder: load every module it built.
        true => tests
            .into_iter()
            .map(|mut t| {
                t.spec.modules = modules
                    .values()
                    .next()
                    .and_then(|m| m.get(&t.module_dir))
                    .map(|built| built.keys().cloned().collect())
                    .unwrap_or_default();
                t
            })
            .collect(),
        false => tests,
    };
    let empty = BTreeMap::new();
    // The kernels' own modules the tests ask for, with their dependencies,
    // decompressed into the build folder: kernel -> requested -> .ko files.
    let mut in_tree: BTreeMap<String, guest::InTree> = BTreeMap::new();
    let wanted = dedup(
        tests
            .iter()
            .flat_map(|t| t.spec.kernel_modules.iter().cloned()),
    );
    for k in &kernels {
        let dir = cache.join("lab/kmod").join(&k.name).join("in-tree");
        for name in &wanted {
            let mut files = Vec::new();
            for (module, bytes) in kernels::in_tree_module(k, name)? {
                std::fs::create_dir_all(&dir)?;
                let path = dir.join(format!("{module}.ko"));
                if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
                    std::fs::write(&path, &bytes)?;
                }
                files.push(path);
            }
            in_tree
                .entry(k.name.clone())
                .or_default()
                .insert(name.clone(), files);
        }
    }
    let no_in_tree = guest::InTree::new();

    // Plan boots: per kernel one batch of ordinary tests, and a boot of its
    // own for each deliberately buggy variant. A kernel remembers what a
    // module did to it (lockdep turns itself off after its first report,
    // might_sleep reports at most once a second), so when grading, code
    // nobody has reviewed yet gets boots of its own: one per submission.
    let mut boots: VecDeque<(Kernel, Vec<LabTest>)> = VecDeque::new();
    for k in &kernels {
        let on: Vec<LabTest> = tests
            .iter()
            .filter(|t| t.runs_on(&k.name))
            .filter(|t| !broken.contains_key(&(k.name.clone(), t.module_dir.clone())))
            .cloned()
            .collect();
        let (alone, shared): (Vec<_>, Vec<_>) = on.into_iter().partition(|t| t.spec.own_boot);
        let mut batches: BTreeMap<&str, Vec<LabTest>> = BTreeMap::new();
        for t in &shared {
            let key = if mode == Mode::Verdict {
                t.chapter.as_str()
            } else {
                ""
            };
            batches.entry(key).or_default().push(t.clone());
        }
        for batch in batches.into_values() {
            boots.push_back((k.clone(), batch));
        }
        for t in alone {
            boots.push_back((k.clone(), vec![t]));
        }
    }
    // Longest first (by test count, a fair proxy): the many-test boots
    // start at once on both workers instead of one of them ending the run.
    boots
        .make_contiguous()
        .sort_by_key(|(_, batch)| std::cmp::Reverse(batch.len()));
    let accel = {
        let probe = boots_dir(&cache)?.join("probe.cpio");
        std::fs::create_dir_all(probe.parent().context("no parent")?)?;
        std::fs::write(
            &probe,
            guest::initramfs(
                &[],
                &guest::Files {
                    programs: &programs,
                    modules: &BTreeMap::new(),
                    in_tree: &guest::InTree::new(),
                },
            )?,
        )?;
        let first = kernels
            .first()
            .context("no kernel of the selection runs any of its tests")?;
        qemu::choose_accel(&first.vmlinux, &probe, &cache)
    };
    let queue = Mutex::new(boots);
    let results = Mutex::new(Vec::<(Kernel, LabTest, GuestRun)>::new());
    let boot_times = Mutex::new(BTreeMap::<String, Vec<Duration>>::new());
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(2);
    let counter = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let next = queue.lock().map(|mut q| q.pop_front()).ok().flatten();
                    let Some((kernel, batch)) = next else { break };
                    let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let mut attempt = 0;
                    let runs = run_batch(&batch, |rest| {
                        attempt += 1;
                        let label = format!("{}-{n}-{attempt}", kernel.name);
                        let names: Vec<&str> = rest.iter().map(|t| t.id.as_str()).collect();
                        eprintln!(
                            "==> boot {label}: kernel {} running {}",
                            kernel.name,
                            names.join(", ")
                        );
                        let files = guest::Files {
                            programs: &programs,
                            modules: modules.get(&kernel.name).unwrap_or(&empty),
                            in_tree: in_tree.get(&kernel.name).unwrap_or(&no_in_tree),
                        };
                        let booted = boot_once(&kernel, rest, &files, accel, &cache, &label);
                        if let Ok((parsed, _)) = &booted
                            && parsed.booted
                            && let Ok(mut bt) = boot_times.lock()
                        {
                            bt.entry(kernel.name.clone())
                                .or_default()
                                .push(parsed.boot_time);
                        }
                        booted
                    });
                    if let Ok(mut r) = results.lock() {
                        r.extend(runs.into_iter().map(|(t, run)| (kernel.clone(), t, run)));
                    }
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results
        .sort_by(|a, b| (&a.1.id, kernel_rank(&a.0.name)).cmp(&(&b.1.id, kernel_rank(&b.0.name))));

    let snapshot_dir = root.join("tests/snapshots/lab");
    let mut outcomes = Vec::new();
    for t in &tests {
        for k in &kernels {
            if let Some(why) = broken.get(&(k.name.clone(), t.module_dir.clone()))
                && t.runs_on(&k.name)
            {
                outcomes.push(Outcome {
                    test_id: t.id.clone(),
                    kernel: k.name.clone(),
                    passed: false,
                    reason: format!(
                        "module does not build: {}",
                        why.lines()
                            .filter(|l| !l.trim().is_empty())
                            .take(3)
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                    seconds: 0.0,
                });
            }
        }
    }
    for (kernel, test, run) in &results {
        let body = snapshot_body(test, run);
        let (mut passed, mut reason) = verdict(test, &kernel.name, run);
        if mode == Mode::Show {
            println!("---- {} on {} ----\n{body}", test.id, kernel.name);
        } else if mode == Mode::Snapshots
            && let Err(why) = check_snapshot(&snapshot_dir, test, &kernel.name, &body)
        {
            passed = false;
            reason = if reason.is_empty() {
                why
            } else {
                format!("{reason}; {why}")
            };
        }
        outcomes.push(Outcome {
            test_id: test.id.clone(),
            kernel: kernel.name.clone(),
            passed,
            reason,
            seconds: run.duration.as_secs_f64(),
        });
    }
    // Grading shows its own table.
    if mode != Mode::Verdict {
        print_table(
            &outcomes,
            kernel_names,
            &boot_times.into_inner().unwrap_or_default(),
            accel,
        );
    }
    Ok(Summary { outcomes })
}

/// One lab run at a time per work tree: runs share the kernels, the module
/// build folders and the guest images, and two would also halve each other's
/// two cores. The lock goes with the returned file.
fn exclusive_lab(cache: &Path) -> Result<File> {
    std::fs::create_dir_all(cache.join("lab"))?;
    crate::process::exclusive_lock(&cache.join("lab/run.lock"), "lab run")
}

fn kernel_rank(name: &str) -> usize {
    KERNELS
        .iter()
        .position(|k| *k == name)
        .unwrap_or(usize::MAX)
}

fn dedup<T: Ord + Clone>(items: impl Iterator<Item = T>) -> Vec<T> {
    let set: std::collections::BTreeSet<T> = items.collect();
    set.into_iter().collect()
}

/// The filters of a command line, as the user typed them.
fn selection(args: &LabArgs) -> String {
    let mut parts: Vec<String> = args
        .chapter
        .iter()
        .map(|c| format!("--chapter {c}"))
        .collect();
    parts.extend(args.test.iter().map(|t| format!("--test {t}")));
    parts.extend(args.kernel.iter().map(|k| format!("--kernel {k}")));
    match parts.is_empty() {
        true => "the selection".to_string(),
        false => format!("`{}`", parts.join(" ")),
    }
}

fn select(all: Vec<LabTest>, args: &LabArgs) -> Result<Vec<LabTest>> {
    Ok(all
        .into_iter()
        .filter(|t| {
            args.chapter.is_empty()
                || args
                    .chapter
                    .iter()
                    .any(|c| t.chapter == *c || t.chapter.starts_with(&format!("{c}-")))
        })
        .filter(|t| {
            args.test
                .as_ref()
                .is_none_or(|s| t.spec.name.contains(s.as_str()))
        })
        .collect())
}

/// A reader's own module and program, run like a chapter test.
fn user_test(args: &LabArgs) -> Result<LabTest> {
    let program = args
        .program
        .clone()
        .context("--program is needed (a chapter binary or a static program path)")?;
    let module_dir = match &args.module_dir {
        Some(d) => {
            if !d.join("Kbuild").is_file() && !d.join("Makefile").is_file() {
                bail!(
                    "{} has no Kbuild file (one line: `obj-m += yourmodule.o`)",
                    d.display()
                );
            }
            d.canonicalize()?
        }
        None => PathBuf::new(),
    };
    let chapter = module_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("user")
        .to_string();
    let program_path = if Path::new(&program).exists() {
        Path::new(&program)
            .canonicalize()?
            .to_string_lossy()
            .into_owned()
    } else {
        program
    };
    let spec = TestSpec {
        name: "run".into(),
        about: "your module and program".into(),
        kernel_modules: Vec::new(),
        modules: if args.module_dir.is_some() {
            vec!["(all)".into()]
        } else {
            Vec::new()
        },
        program: std::iter::once(program_path)
            .chain(args.args.iter().cloned())
            .collect(),
        kernels: None,
        expect_splat: Vec::new(),
        own_boot: false,
        timeout_secs: 60,
        timing_counts: Vec::new(),
    };
    Ok(LabTest {
        id: format!("{chapter}/run"),
        chapter,
        module_dir,
        spec,
    })
}

/// Runs `batch` through `boot` (one guest boot per call, given the tests
/// still to run); when a test takes the kernel down, the tests after it run
/// in a fresh boot.
fn fail_all(tests: &[&LabTest], why: &str) -> Vec<(LabTest, GuestRun)> {
    tests
        .iter()
        .map(|t| {
            let run = GuestRun {
                id: t.id.clone(),
                output: vec![why.to_string()],
                ..GuestRun::default()
            };
            ((*t).clone(), run)
        })
        .collect()
}

fn run_batch(
    batch: &[LabTest],
    mut boot: impl FnMut(&[&LabTest]) -> Result<(transcript::Parsed, bool)>,
) -> Vec<(LabTest, GuestRun)> {
    let mut results = Vec::new();
    let mut rest: Vec<&LabTest> = batch.iter().collect();
    while !rest.is_empty() {
        let (parsed, timed_out) = match boot(&rest) {
            Ok(v) => v,
            Err(e) => {
                results.extend(fail_all(&rest, &format!("lab error: {e:#}")));
                break;
            }
        };
        if parsed.runs.is_empty() {
            let why = if timed_out { "timed out" } else { "no markers" };
            results.extend(fail_all(
                &rest,
                &format!(
                    "the guest did not start the tests ({why}; see the console logs in target/lab/boots/)"
                ),
            ));
            break;
        }
        let mut progressed = false;
        for run in parsed.runs {
            if let Some(pos) = rest.iter().position(|t| t.id == run.id) {
                let test = rest.remove(pos);
                results.push((test.clone(), run));
                progressed = true;
            }
        }
        if !progressed {
            results.extend(fail_all(
                &rest,
                "the guest ran none of the tests it was given",
            ));
            break;
        }
    }
    results
}

fn boot_once(
    kernel: &Kernel,
    tests: &[&LabTest],
    files: &guest::Files,
    accel: qemu::Accel,
    cache: &Path,
    label: &str,
) -> Result<(transcript::Parsed, bool)> {
    let dir = boots_dir(cache)?;
    let initrd = dir.join(format!("{label}.cpio"));
    std::fs::write(&initrd, guest::initramfs(tests, files)?)?;
    let limit =
        Duration::from_secs(30 + tests.iter().map(|t| t.spec.timeout_secs + 5).sum::<u64>());
    let started = Instant::now();
    let console = dir.join(format!("{label}.console"));
    let boot = qemu::boot(&kernel.vmlinux, &initrd, &console, accel, limit)?;
    let log: Vec<String> = boot
        .lines
        .iter()
        .map(|l| format!("{:>8.3} {}", l.at.as_secs_f64(), l.text))
        .collect();
    std::fs::write(dir.join(format!("{label}.log")), log.join("\n"))?;
    let mut parsed = transcript::parse(&boot.lines, &boot.console);
    parsed.boot_time = boot
        .lines
        .iter()
        .find(|l| l.text.contains("@@LAB BOOTED"))
        .map_or(started.elapsed(), |l| l.at);
    Ok((parsed, boot.timed_out))
}

/// This run's initramfs images and console logs: `target/lab/boots/<pid>`,
/// so two lab runs at once never overwrite each other's files. Folders of
/// runs that have ended are removed, except the newest, kept for reading.
fn boots_dir(cache: &Path) -> Result<PathBuf> {
    let all = cache.join("lab/boots");
    let mine = all.join(std::process::id().to_string());
    if !mine.is_dir() {
        std::fs::create_dir_all(&mine)?;
        let mut ended: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&all)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_dir()
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .and_then(|n| n.parse::<u32>().ok())
                        .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
            })
            .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
            .collect();
        ended.sort();
        ended.pop();
        for (_, old) in ended {
            let _ = std::fs::remove_dir_all(old);
        }
    }
    Ok(mine)
}

/// Pass or fail, judged by markers and the kernel log, never by QEMU's status.
fn verdict(test: &LabTest, kernel: &str, run: &GuestRun) -> (bool, String) {
    let log = normalize::kernel_log(&run.kernel_log);
    let splat = log.iter().find(|l| normalize::is_splat(l));
    if test.expects_splat(kernel) {
        return match splat {
            Some(_) => (true, String::new()),
            None => (
                false,
                "expected a kernel report (BUG/WARNING/panic), saw none".into(),
            ),
        };
    }
    if let Some(line) = splat {
        return (false, format!("kernel report: {line}"));
    }
    if !run.finished {
        return (
            false,
            "the guest stopped during this test (hang or crash; see the boot log)".into(),
        );
    }
    if !run.insmod_failed.is_empty() {
        return (
            false,
            format!("insmod failed: {}", run.insmod_failed.join(", ")),
        );
    }
    if !run.rmmod_failed.is_empty() {
        return (
            false,
            format!("rmmod failed: {}", run.rmmod_failed.join(", ")),
        );
    }
    match run.exit {
        Some(0) => (true, String::new()),
        Some(137) => (
            false,
            format!("killed at the {} s limit", test.spec.timeout_secs),
        ),
        Some(code) => {
            let last = run.output.iter().rev().find(|l| !l.trim().is_empty());
            let said = last.map(|l| format!(": {}", l.trim())).unwrap_or_default();
            (false, format!("program exited with status {code}{said}"))
        }
        None => (false, "no exit status".into()),
    }
}

/// What the snapshot of one (test, kernel) holds: the program's output and
/// the kernel log, both normalized.
fn snapshot_body(test: &LabTest, run: &GuestRun) -> String {
    let log = normalize::kernel_log(&run.kernel_log);
    let outcome = match (run.finished, run.exit) {
        (true, Some(code)) => format!("exit status {code}"),
        (true, None) => "no exit status".to_string(),
        (false, _) if log.iter().any(|l| l.starts_with("Kernel panic")) => {
            "the kernel panicked during the test (the VM went down)".to_string()
        }
        (false, _) => "the VM stopped responding during the test".to_string(),
    };
    let mut s = format!("$ {}\n", shown_program(&test.spec.program));
    if !test.spec.modules.is_empty() {
        s = format!("# modules: {}\n{s}", test.spec.modules.join(" "));
    }
    if !test.spec.kernel_modules.is_empty() {
        s = format!(
            "# the kernel's own modules, if not built in: {}\n{s}",
            test.spec.kernel_modules.join(" ")
        );
    }
    for line in &run.output {
        s.push_str(line);
        s.push('\n');
    }
    s.push_str(&format!("# outcome: {outcome}\n"));
    s.push_str("# kernel log:\n");
    if log.is_empty() {
        s.push_str("(nothing)\n");
    }
    for line in log {
        s.push_str(&normalize::hide_timing_counts(
            &line,
            &test.spec.timing_counts,
        ));
        s.push('\n');
    }
    s
}

fn shown_program(program: &[String]) -> String {
    program
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let a = if i == 0 {
                Path::new(a)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or(a)
            } else {
                a
            };
            if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn check_snapshot(dir: &Path, test: &LabTest, kernel: &str, body: &str) -> Result<(), String> {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(format!(
        "{} on kernel {kernel}: {}",
        test.id, test.spec.about
    ));
    let name = test.snapshot_name(kernel);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(name.as_str(), body));
    }));
    result.map_err(|_| format!("snapshot {name} differs (diff above)"))
}

fn print_table(
    outcomes: &[Outcome],
    kernels: &[String],
    boot_times: &BTreeMap<String, Vec<Duration>>,
    accel: qemu::Accel,
) {
    let ids = dedup(outcomes.iter().map(|o| o.test_id.clone()));
    let width = ids.iter().map(String::len).max().unwrap_or(4).max(4);
    println!();
    print!("{:<width$}", "test");
    for k in kernels {
        print!("  {k:<14}");
    }
    println!();
    let mut failures = Vec::new();
    for id in &ids {
        print!("{id:<width$}");
        for k in kernels {
            let cell = match outcomes.iter().find(|o| &o.test_id == id && &o.kernel == k) {
                Some(o) if o.passed => format!("pass {:>5.1}s", o.seconds),
                Some(o) => {
                    failures.push(format!("{id} on {k}: {}", o.reason));
                    format!("FAIL {:>5.1}s", o.seconds)
                }
                None => "-".to_string(),
            };
            print!("  {cell:<14}");
        }
        println!();
    }
    let boots: Vec<String> = boot_times
        .iter()
        .map(|(k, ts)| {
            let avg = ts.iter().map(Duration::as_secs_f64).sum::<f64>() / ts.len().max(1) as f64;
            format!("{k} {avg:.1}s ({} boots)", ts.len())
        })
        .collect();
    println!("boot to first test ({accel:?}): {}", boots.join(", "));
    for f in &failures {
        println!("FAIL {f}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(name: &str) -> LabTest {
        LabTest {
            id: format!("ch/{name}"),
            chapter: "ch".into(),
            module_dir: PathBuf::new(),
            spec: TestSpec {
                name: name.into(),
                about: String::new(),
                modules: Vec::new(),
                kernel_modules: Vec::new(),
                program: vec!["p".into()],
                kernels: None,
                expect_splat: vec!["debug".into()],
                own_boot: false,
                timeout_secs: 20,
                timing_counts: Vec::new(),
            },
        }
    }

    fn run(id: &str, finished: bool) -> GuestRun {
        GuestRun {
            id: format!("ch/{id}"),
            finished,
            exit: finished.then_some(0),
            ..GuestRun::default()
        }
    }

    #[test]
    fn a_crash_moves_the_remaining_tests_to_a_fresh_boot() {
        let batch = vec![test("a"), test("b"), test("c")];
        let mut boots = Vec::new();
        let results = run_batch(&batch, |rest| {
            boots.push(rest.iter().map(|t| t.spec.name.clone()).collect::<Vec<_>>());
            let parsed = if boots.len() == 1 {
                // `b` takes the kernel down.
                transcript::Parsed {
                    booted: true,
                    runs: vec![run("a", true), run("b", false)],
                    ..Default::default()
                }
            } else {
                transcript::Parsed {
                    booted: true,
                    runs: vec![run("c", true)],
                    done: true,
                    ..Default::default()
                }
            };
            Ok((parsed, false))
        });
        assert_eq!(boots, vec![vec!["a", "b", "c"], vec!["c"]]);
        let finished: Vec<(String, bool)> = results
            .iter()
            .map(|(t, r)| (t.spec.name.clone(), r.finished))
            .collect();
        assert_eq!(
            finished,
            vec![("a".into(), true), ("b".into(), false), ("c".into(), true)]
        );
    }

    #[test]
    fn a_boot_that_never_starts_fails_every_test_by_name() {
        let batch = vec![test("a"), test("b")];
        let results = run_batch(&batch, |_| Ok((transcript::Parsed::default(), true)));
        assert_eq!(results.len(), 2);
        assert!(
            results
                .iter()
                .all(|(_, r)| !r.finished && r.output[0].contains("timed out"))
        );
        let (ok, why) = verdict(&results[0].0, "6.1", &results[0].1);
        assert!(!ok && why.contains("stopped"));
    }

    #[test]
    fn verdicts_follow_markers_and_kernel_reports() {
        let t = test("a");
        let clean = run("a", true);
        assert!(verdict(&t, "6.1", &clean).0);
        // The debug kernel is expected to report a bug for this test.
        assert!(!verdict(&t, "debug", &clean).0);
        let mut splat = run("a", false);
        splat.kernel_log =
            vec!["[ 1.0] BUG: sleeping function called from invalid context at x".into()];
        assert!(verdict(&t, "debug", &splat).0);
        assert!(!verdict(&t, "6.1", &splat).0);
        let mut failed = run("a", true);
        failed.exit = Some(1);
        failed.output = vec!["case WRONG: reply too long".into(), String::new()];
        assert_eq!(
            verdict(&t, "6.1", &failed),
            (
                false,
                "program exited with status 1: case WRONG: reply too long".to_string()
            )
        );
    }
}
