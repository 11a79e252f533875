//! The VM lab: every chapter's kernel modules and Rust programs run in pinned
//! kernels under QEMU; outputs and kernel logs are insta snapshots.

pub mod archive;
mod boots;
pub mod build_only;
pub mod compiler;
pub mod guest;
mod initramfs;
mod kernel_configs;
pub mod kernels;
pub mod normalize;
pub mod pin_update;
pub mod plan;
mod qemu;
pub mod transcript;
mod verdict;

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use self::kernels::Kernel;
use self::plan::{KERNELS, LabTest, TestSpec};
use crate::workspace;

#[derive(clap::Args, Debug, Default)]
pub struct LabArgs {
    /// Only this chapter (e.g. `ch01-hello-netlink`, or just `ch01`); repeatable.
    #[arg(long)]
    pub chapter: Vec<String>,
    /// Only this kernel: 6.1, 6.12, 6.12-rt or debug; repeatable.
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
    /// What a failure shows besides its reason: every kernel report of the
    /// run (`normalize::reports`), or the compiler's messages of a module
    /// that does not build, whole.
    pub details: Vec<String>,
    /// The console log of the boot the test ran in.
    pub boot_log: Option<PathBuf>,
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
    for helper in dedup(tests.iter().filter_map(|t| t.spec.helper.clone())) {
        guest::ensure_static(&helper)
            .with_context(|| format!("helper program {}", helper.display()))?;
    }
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
                    // A verdict run (a student's check, the grader) shows the
                    // messages with each failing test, once.
                    if mode != Mode::Verdict {
                        eprintln!("{e:#}");
                    }
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
        let probe = boots::boots_dir(&cache)?.join("probe.cpio");
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
    let files = |kernel: &Kernel| guest::Files {
        programs: &programs,
        modules: modules.get(&kernel.name).unwrap_or(&empty),
        in_tree: in_tree.get(&kernel.name).unwrap_or(&no_in_tree),
    };
    let (results, boot_times) = boots::run_all(boots, files, accel, &cache);
    let mut outcomes = verdict::outcomes(&tests, &kernels, &broken, results, mode);
    // The configuration table covers the whole matrix: checked when a run
    // of the workbook's own tests prepared every kernel of it.
    if mode == Mode::Snapshots
        && KERNELS
            .iter()
            .all(|name| kernels.iter().any(|k| k.name == *name))
    {
        outcomes.extend(kernel_configs::check(
            &kernels,
            &root.join("tests/snapshots/lab"),
        ));
    }
    // Grading shows its own table.
    if mode != Mode::Verdict {
        verdict::print_table(&outcomes, kernel_names, &boot_times, accel);
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
        helper: None,
    };
    Ok(LabTest {
        id: format!("{chapter}/run"),
        chapter,
        module_dir,
        spec,
    })
}

/// Tests and runs made up for the unit tests of the lab's parts.
#[cfg(test)]
mod fixtures {
    use std::path::PathBuf;

    use super::plan::{LabTest, TestSpec};
    use super::transcript::GuestRun;

    pub fn test(name: &str) -> LabTest {
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
                helper: None,
            },
        }
    }

    pub fn run(id: &str, finished: bool) -> GuestRun {
        GuestRun {
            id: format!("ch/{id}"),
            finished,
            exit: finished.then_some(0),
            ..GuestRun::default()
        }
    }
}
