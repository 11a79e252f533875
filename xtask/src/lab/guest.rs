//! What goes into the guest: static Rust programs, modules built for each
//! kernel, and the initramfs that carries them with the `/init` script.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::initramfs::Cpio;
use super::kernels::Kernel;
use super::plan::LabTest;
use crate::process;

const INIT: &str = include_str!("../../lab/init.sh");
const GUEST_TARGET: &str = "x86_64-unknown-linux-gnu";
const BUSYBOX: &str = "/bin/busybox";

/// Where a guest program comes from: a chapter binary, or a file the reader built.
pub fn resolve_programs(
    root: &Path,
    names: &[String],
    cache: &Path,
) -> Result<BTreeMap<String, PathBuf>> {
    let mut found = BTreeMap::new();
    let mut to_build: BTreeMap<String, String> = BTreeMap::new(); // bin -> package
    for name in names {
        let as_path = Path::new(name);
        if name.contains('/') {
            if !as_path.is_file() {
                bail!("program {name} does not exist");
            }
            found.insert(name.clone(), as_path.to_path_buf());
            continue;
        }
        let package = chapter_package_of(root, name)?;
        to_build.insert(name.clone(), package);
    }
    if !to_build.is_empty() {
        let target_dir = cache.join("lab/guest");
        let mut cmd = guest_build(&target_dir);
        cmd.current_dir(root).arg("--quiet");
        for (bin, package) in &to_build {
            cmd.args(["-p", package, "--bin", bin]);
        }
        eprintln!(
            "==> building guest programs (static): {}",
            to_build.keys().cloned().collect::<Vec<_>>().join(" ")
        );
        process::run(&mut cmd)?;
        for bin in to_build.keys() {
            found.insert(
                bin.clone(),
                target_dir.join(GUEST_TARGET).join("release").join(bin),
            );
        }
    }
    for (name, path) in &found {
        ensure_static(path).with_context(|| format!("program {name} ({})", path.display()))?;
    }
    Ok(found)
}

/// `cargo build` of programs for the guest, into `target_dir`: static
/// (static-pie with glibc), because the initramfs has no libc; without
/// symbols, because a boot that runs every chapter carries some forty
/// programs, unpacked into the guest's memory. The caller adds what to
/// build.
pub fn guest_build(target_dir: &Path) -> Command {
    let mut cmd = Command::new(crate::process::cargo());
    cmd.args([
        "build",
        "--release",
        "--target",
        GUEST_TARGET,
        "--target-dir",
    ])
    .arg(target_dir)
    .env(
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS",
        "-C target-feature=+crt-static -C strip=symbols",
    );
    cmd
}

/// The program a [`guest_build`] with `--message-format=json...` built, from
/// cargo's messages on its standard output.
pub fn built_program(cargo_json: &str) -> Option<PathBuf> {
    cargo_json.lines().find_map(|line| {
        let msg: serde_json::Value = serde_json::from_str(line).ok()?;
        let is_bin = msg
            .pointer("/target/kind")?
            .as_array()?
            .iter()
            .any(|k| k == "bin");
        (msg.get("reason")? == "compiler-artifact" && is_bin)
            .then(|| msg.get("executable")?.as_str().map(PathBuf::from))
            .flatten()
    })
}

/// `chapters/<package>/src/bin/<bin>.rs` names the package of a binary;
/// so does `tests/<package>/src/bin/<bin>.rs` (the hostile-client battery).
fn chapter_package_of(root: &Path, bin: &str) -> Result<String> {
    for entry in ["chapters", "tests"]
        .iter()
        .map(|folder| std::fs::read_dir(root.join(folder)))
        .collect::<std::io::Result<Vec<_>>>()?
        .into_iter()
        .flatten()
    {
        let dir = entry?.path();
        if dir.join("src/bin").join(format!("{bin}.rs")).is_file() {
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))?;
            let value: toml::Value = toml::from_str(&manifest)?;
            return value
                .get("package")
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
                .map(str::to_string)
                .with_context(|| format!("{} has no package name", dir.display()));
        }
    }
    bail!(
        "`{bin}` is not a binary of any chapter crate (chapters/*/src/bin/{bin}.rs) or test crate (tests/*/src/bin/{bin}.rs), nor a path to a program"
    )
}

/// The guest has no dynamic loader: refuse a dynamically linked program
/// with the way to build it right.
pub(super) fn ensure_static(path: &Path) -> Result<()> {
    let elf = std::fs::read(path).context("cannot read it")?;
    const ELFCLASS64: u8 = 2;
    if elf.len() < 64 || !elf.starts_with(b"\x7fELF") || elf.get(4) != Some(&ELFCLASS64) {
        bail!("not a 64-bit ELF program");
    }
    // Little-endian fields at fixed offsets; None past the end.
    fn field<const N: usize>(elf: &[u8], at: usize) -> Option<[u8; N]> {
        elf.get(at..at.checked_add(N)?)?.try_into().ok()
    }
    let u16_at = |at| field(&elf, at).map(|b| usize::from(u16::from_le_bytes(b)));
    let u64_at = |at| field(&elf, at).and_then(|b| usize::try_from(u64::from_le_bytes(b)).ok());
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(32), u16_at(54), u16_at(56)) else {
        bail!("truncated ELF header");
    };
    for i in 0..phnum {
        const PT_INTERP: u32 = 3;
        let kind = i
            .checked_mul(phentsize)
            .and_then(|offset| offset.checked_add(phoff))
            .and_then(|at| field(&elf, at))
            .map(u32::from_le_bytes);
        let Some(kind) = kind else {
            bail!("truncated ELF program headers");
        };
        if kind == PT_INTERP {
            bail!(
                "it is dynamically linked; the guest needs a static program: build it with \
                 RUSTFLAGS='-C target-feature=+crt-static' cargo build --target {GUEST_TARGET}"
            );
        }
    }
    Ok(())
}

/// The modules of one folder built for one kernel: file name -> `.ko`.
pub type Built = BTreeMap<String, PathBuf>;

/// A kernel's own modules a test asked for: name -> the `.ko` files to
/// load, dependencies first.
pub type InTree = BTreeMap<String, Vec<PathBuf>>;

/// Builds the modules of `dir` for `kernel` in a mirror of its sources
/// (Kbuild writes objects beside the sources; the repository stays clean).
/// Any compiler warning fails the build.
pub fn build_module_dir(
    kmod_root: &Path,
    dir: &Path,
    kernel: &Kernel,
    cache: &Path,
) -> Result<Built> {
    let mirror = cache.join("lab/kmod").join(&kernel.name);
    // The shared headers every module includes as `$(src)/../include`.
    sync_dir(&kmod_root.join("include"), &mirror.join("include"))?;
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .context("module dir name")?;
    // The workbook's chapters keep one build folder each (fast rebuilds);
    // any other folder (a reader's, a student's copy) gets its own and a
    // clean start, so no module of an earlier build can be picked up.
    let target = if dir.parent() == Some(kmod_root) {
        mirror.join(name)
    } else {
        let key = super::kernels::fnv1a(dir.to_string_lossy().as_bytes());
        let target = mirror.join(format!("{name}-{key:016x}"));
        if target.exists() {
            std::fs::remove_dir_all(&target)?;
        }
        target
    };
    sync_dir(dir, &target)?;
    // Warm runs skip `make` (about half a second per folder and kernel) when
    // nothing it depends on changed since a build that succeeded without
    // warnings. Other folders start clean each time, so they always build.
    let stamp = target.join(".nlbook-build-key");
    let key = format!(
        "{:016x}\n",
        build_key(kernel, &[dir, &kmod_root.join("include")])?
    );
    if dir.parent() == Some(kmod_root)
        && std::fs::read_to_string(&stamp).is_ok_and(|old| old == key)
        && let Ok(built) = built_modules(&target)
        && !built.is_empty()
    {
        return Ok(built);
    }
    let _ = std::fs::remove_file(&stamp);
    let Kbuild { ok, log } = kbuild(kernel, &target)?;
    if !ok {
        let errors: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("error") || l.contains("warning:"))
            .collect();
        bail!(
            "building {name} for kernel {} failed:\n{}",
            kernel.name,
            errors.join("\n")
        );
    }
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("warning:")).collect();
    if !warnings.is_empty() {
        bail!(
            "{name} builds with warnings against kernel {} (the lab accepts none):\n{}",
            kernel.name,
            warnings.join("\n")
        );
    }
    let built = built_modules(&target)?;
    std::fs::write(&stamp, key)?;
    Ok(built)
}

/// The `.ko` files in a build folder.
fn built_modules(target: &Path) -> Result<Built> {
    let mut built = Built::new();
    for entry in std::fs::read_dir(target)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "ko")
            && let Some(file) = path.file_name().and_then(|n| n.to_str())
        {
            built.insert(file.to_string(), path.clone());
        }
    }
    Ok(built)
}

/// A fingerprint of what a module build depends on: the module sources
/// (every file under `sources`, by path and content), and the kernel it is
/// built against (release, configuration, exported symbols).
fn build_key(kernel: &Kernel, sources: &[&Path]) -> Result<u64> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
        if !dir.is_dir() {
            return Ok(());
        }
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, files)?;
            } else {
                files.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    for dir in sources {
        walk(dir, &mut files)?;
    }
    files.sort();
    let mut bytes = kernel.release.clone().into_bytes();
    for generated in ["include/generated/autoconf.h", "Module.symvers"] {
        files.push(kernel.kdir.join(generated));
    }
    for file in &files {
        bytes.extend_from_slice(file.to_string_lossy().as_bytes());
        // A kernel file that is missing is part of the key too.
        bytes.extend_from_slice(&std::fs::read(file).unwrap_or_default());
    }
    Ok(super::kernels::fnv1a(&bytes))
}

/// Copies source files whose content changed, so `make` rebuilds only those.
/// What `make -C <kernel> M=<dir> modules` printed (stdout, then stderr),
/// and whether it succeeded.
pub(super) struct Kbuild {
    pub ok: bool,
    pub log: String,
}

/// Runs Kbuild for the modules in `dir` against `kernel`, in the C locale
/// so that gcc's wording and quotes are the same on every machine.
pub(super) fn kbuild(kernel: &Kernel, dir: &Path) -> Result<Kbuild> {
    let mut make = Command::new("make");
    make.arg("-C")
        .arg(&kernel.kdir)
        .arg(format!("M={}", dir.display()))
        .arg("modules")
        .env_remove("LC_ALL")
        .env("LANG", "C")
        .env("LC_MESSAGES", "C")
        .env("LC_CTYPE", "C");
    let shown = process::display(&make);
    let out = make
        .output()
        .with_context(|| format!("could not run `{shown}`"))?;
    Ok(Kbuild {
        ok: out.status.success(),
        log: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    })
}

/// Copies the module sources (`*.c`, `*.h`, `Kbuild`, `Makefile`) of `from`
/// into `to`, recursively, writing only files that changed.
pub(super) fn sync_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    if !from.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        let Some(file) = path.file_name() else {
            continue;
        };
        let dest = to.join(file);
        if path.is_dir() {
            sync_dir(&path, &dest)?;
            continue;
        }
        let is_source = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "c" | "h"))
            || file == "Kbuild"
            || file == "Makefile";
        if !is_source {
            continue;
        }
        let new = std::fs::read(&path)?;
        if std::fs::read(&dest).ok().as_deref() != Some(&new[..]) {
            std::fs::write(&dest, new)?;
        }
    }
    Ok(())
}

/// The initramfs for one boot: busybox, the modules and programs its tests
/// use, and `/init` running them in order.
/// What a boot can carry: built programs, built modules, the kernel's own.
pub struct Files<'a> {
    pub programs: &'a BTreeMap<String, PathBuf>,
    pub modules: &'a BTreeMap<PathBuf, Built>,
    pub in_tree: &'a InTree,
}

pub fn initramfs(tests: &[&LabTest], files: &Files) -> Result<Vec<u8>> {
    let Files {
        programs,
        modules,
        in_tree,
    } = files;
    let mut cpio = Cpio::default();
    for dir in [
        "bin", "dev", "proc", "sys", "tmp", "lab", "lab/bin", "lab/mod",
    ] {
        cpio.dir(dir);
    }
    // The kernel opens /dev/console for init before devtmpfs is mounted.
    cpio.char_device("dev/console", 5, 1);
    cpio.copy("bin/busybox", Path::new(BUSYBOX), 0o755)
        .context("busybox-static is needed (apt-get install busybox-static)")?;
    cpio.symlink("bin/sh", "busybox");
    let mut script = INIT.to_string();
    let mut added = std::collections::BTreeSet::new();
    for test in tests {
        let Some((program, program_args)) = test.spec.program.split_first() else {
            bail!("lab test {} names no program", test.id);
        };
        let path = programs
            .get(program)
            .with_context(|| format!("program {program} was not built"))?;
        let guest_name = Path::new(program)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(program);
        if added.insert(format!("bin/{guest_name}")) {
            cpio.copy(&format!("lab/bin/{guest_name}"), path, 0o755)?;
        }
        let mut mods = Vec::new();
        for name in &test.spec.kernel_modules {
            for path in in_tree.get(name).into_iter().flatten() {
                let file = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .context("module file name")?;
                let key = format!("in-tree/{file}");
                if added.insert(key.clone()) {
                    if added.insert("dir/in-tree".to_string()) {
                        cpio.dir("lab/mod/in-tree");
                    }
                    cpio.copy(&format!("lab/mod/{key}"), path, 0o644)?;
                }
                if !mods.contains(&key) {
                    mods.push(key);
                }
            }
        }
        for m in &test.spec.modules {
            let key = format!("{}/{m}", test.chapter);
            let path = modules
                .get(&test.module_dir)
                .and_then(|built| built.get(m))
                .with_context(|| {
                    format!("module {key} was not built (is it in the Kbuild file?)")
                })?;
            if added.insert(key.clone()) {
                if added.insert(format!("dir/{}", test.chapter)) {
                    cpio.dir(&format!("lab/mod/{}", test.chapter));
                }
                cpio.copy(&format!("lab/mod/{key}"), path, 0o644)?;
            }
            mods.push(key);
        }
        // `{module_dir}` in an argument: where this test's modules are in
        // the guest (a graded submission's folder has its own name);
        // `{helper}`: where its helper program is.
        let module_dir = format!("/lab/mod/{}", test.chapter);
        let helper = match &test.spec.helper {
            Some(path) => {
                let file = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .context("helper program name")?;
                let at = format!("lab/helper/{}/{file}", test.chapter);
                if added.insert(at.clone()) {
                    if added.insert(format!("helper-dir/{}", test.chapter)) {
                        if added.insert("helper-dir".to_string()) {
                            cpio.dir("lab/helper");
                        }
                        cpio.dir(&format!("lab/helper/{}", test.chapter));
                    }
                    cpio.copy(&at, path, 0o755)?;
                }
                format!("/{at}")
            }
            None => String::new(),
        };
        let args: Vec<String> = std::iter::once(guest_name.to_string())
            .chain(program_args.iter().map(|a| {
                a.replace("{module_dir}", &module_dir)
                    .replace("{helper}", &helper)
            }))
            .map(|a| format!("'{a}'"))
            .collect();
        script.push_str(&format!(
            "lab_test '{}' {} '{}' {}\n",
            test.id,
            test.spec.timeout_secs,
            mods.join(" "),
            args.join(" ")
        ));
    }
    script.push_str("lab_done\n");
    cpio.file("init", 0o755, script.as_bytes());
    Ok(cpio.finish())
}

/// Kernel style for the workbook's modules: the kernel's own checkpatch.pl
/// (from the debug kernel's tree) must find nothing. Version checks are the
/// compat header's job, so its two version-comparison warnings are expected.
pub fn checkpatch(tree: &Path, dirs: &[PathBuf]) -> Result<()> {
    let script = tree.join("scripts/checkpatch.pl");
    let mut files = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "c" || e == "h") {
                files.push(path);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Ok(());
    }
    let out = Command::new("perl")
        .arg(&script)
        .args(["--no-tree", "--terse", "--show-types", "--quiet"])
        .args(["--ignore", "LINUX_VERSION_CODE,CONSTANT_COMPARISON"])
        .arg("-f")
        .args(&files)
        .output()
        .with_context(|| format!("could not run {}", script.display()))?;
    let report = String::from_utf8_lossy(&out.stdout);
    let findings: Vec<&str> = report
        .lines()
        .filter(|l| l.contains("ERROR:") || l.contains("WARNING:"))
        .collect();
    if !findings.is_empty() {
        bail!(
            "checkpatch.pl finds kernel-style problems:\n{}",
            findings.join("\n")
        );
    }
    Ok(())
}
