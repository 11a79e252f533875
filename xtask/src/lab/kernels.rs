//! The pinned kernels: Debian's 6.1 and 6.12 images and headers, fetched by
//! the exact pins of `xtask/lab/kernels.toml` without installing them, and a
//! debug kernel built from the pinned `linux-source-6.1`. Each is prepared
//! once and cached under `target/lab/kernels`, keyed by its pins.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use book_builder::kernel_pins::{PINS, PackagePin, Pins};

use super::archive;
use crate::process;

/// The package the debug kernel is built from, and the citations checked
/// against: Debian's `linux-source-6.1`, as pinned.
const SOURCE_PACKAGE: &str = "linux-source-6.1";

/// A kernel ready for the lab.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// Name in the matrix: `6.1`, `6.12`, `debug`.
    pub name: String,
    /// `uname -r` inside the guest.
    pub release: String,
    /// Uncompressed kernel for QEMU's PVH direct boot.
    pub vmlinux: PathBuf,
    /// Directory to pass to `make -C` when building modules.
    pub kdir: PathBuf,
    /// The kernel's own modules (`lib/modules/<release>` of Debian's
    /// image); `None` for the debug kernel, which has what the chapters
    /// need built in.
    pub modules_dir: Option<PathBuf>,
}

const DEBUG_CONFIG: &str = include_str!("../../lab/debug-kernel.config");

/// Prepares (or finds in the cache) the kernel called `name`.
///
/// One preparation at a time per work tree: the test command prepares
/// kernels from several processes at once (the lab, chapter 10's build
/// test), which would otherwise fetch into the same folders and refresh
/// apt's lists under each other.
pub fn prepare(name: &str, cache: &Path) -> Result<Kernel> {
    let _one_at_a_time = preparation_lock(cache)?;
    let dir = cache.join("lab/kernels").join(name);
    match name {
        "debug" => debug(&dir, cache),
        _ => debian(name, &dir, cache),
    }
}

/// The lock every preparation of a kernel or of its source holds.
fn preparation_lock(cache: &Path) -> Result<std::fs::File> {
    let kernels = cache.join("lab/kernels");
    std::fs::create_dir_all(&kernels).with_context(|| format!("creating {}", kernels.display()))?;
    process::exclusive_lock(&kernels.join("prepare.lock"), "kernel preparation")
}

/// What a prepared kernel directory records: `release` and `kdir` lines.
fn read_ready(name: &str, dir: &Path) -> Option<Kernel> {
    let text = std::fs::read_to_string(dir.join("ready")).ok()?;
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_string)
    };
    let release = field("release")?;
    let modules_dir = dir.join("root/lib/modules").join(&release);
    let kernel = Kernel {
        name: name.to_string(),
        vmlinux: dir.join(field("vmlinux")?),
        kdir: dir.join(field("kdir")?),
        modules_dir: modules_dir.is_dir().then_some(modules_dir),
        release,
    };
    (kernel.vmlinux.is_file() && kernel.kdir.is_dir()).then_some(kernel)
}

fn write_ready(dir: &Path, release: &str, vmlinux: &str, kdir: &str, key: &str) -> Result<()> {
    std::fs::write(
        dir.join("ready"),
        format!("release={release}\nvmlinux={vmlinux}\nkdir={kdir}\nkey={key}\n"),
    )?;
    Ok(())
}

fn debian(name: &str, dir: &Path, cache: &Path) -> Result<Kernel> {
    let pin = Pins::load()?.get(name)?.clone();
    let key = pin.key();
    if let Some(k) = read_ready(name, dir).filter(|_| ready_key(dir).as_deref() == Some(&key)) {
        return Ok(k);
    }
    let abi = pin
        .release
        .clone()
        .with_context(|| format!("{PINS}: kernel {name} has no `release`"))?;
    eprintln!(
        "==> kernel {name} ({abi}): fetching its pinned packages (once; cached in {})",
        dir.display()
    );
    let downloads = cache.join("lab/downloads");
    let root = dir.join("root");
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    std::fs::create_dir_all(&root)?;
    for package in &pin.packages {
        let deb = archive::fetch(package, &downloads)?;
        eprintln!(
            "  unpacking {}",
            deb.file_name().unwrap_or_default().to_string_lossy()
        );
        process::run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
        // Unpacked is all we keep.
        std::fs::remove_file(&deb)?;
    }
    // The headers' Makefile includes the `-common` one by absolute path;
    // point it at the unpacked copy instead.
    let kdir_rel = format!("root/usr/src/linux-headers-{abi}");
    let makefile = dir.join(&kdir_rel).join("Makefile");
    let text = std::fs::read_to_string(&makefile)
        .with_context(|| format!("reading {}", makefile.display()))?;
    std::fs::write(&makefile, text.replace("include /usr/src/", "include ../"))?;
    let vmlinuz = root.join(format!("boot/vmlinuz-{abi}"));
    eprintln!("  decompressing {} for direct boot", vmlinuz.display());
    let image =
        std::fs::read(&vmlinuz).with_context(|| format!("reading {}", vmlinuz.display()))?;
    std::fs::write(dir.join("vmlinux"), extract_vmlinux(&image)?)?;
    write_ready(dir, &abi, "vmlinux", &kdir_rel, &key)?;
    read_ready(name, dir).context("kernel directory incomplete after preparing it")
}

/// The `key` a prepared kernel directory was made for.
fn ready_key(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join("ready"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("key=").map(str::to_string))
}

/// The uncompressed ELF `vmlinux` inside a bzImage: Debian 6.1 uses xz,
/// 6.12 uses zstd. Booting it directly saves seconds of in-guest decompression.
pub fn extract_vmlinux(image: &[u8]) -> Result<Vec<u8>> {
    const XZ: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];
    const ZSTD: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
    // The image from the magic on, if it holds it.
    let from = |magic: &[u8]| {
        let at = image.windows(magic.len()).position(|w| w == magic)?;
        image.get(at..)
    };
    let out = if let Some(payload) = from(XZ) {
        decompress(payload, Compression::Xz).context("decompressing the xz payload")?
    } else if let Some(payload) = from(ZSTD) {
        decompress(payload, Compression::Zstd).context("decompressing the zstd payload")?
    } else {
        bail!("no xz or zstd payload found in the kernel image");
    };
    if !out.starts_with(b"\x7fELF") {
        bail!("the decompressed kernel is not an ELF file");
    }
    Ok(out)
}

/// The debug kernel's options without the comments around them: what the
/// cache key covers, so that editing an explanation rebuilds nothing.
fn debug_options() -> String {
    DEBUG_CONFIG
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("CONFIG_"))
        .fold(String::new(), |acc, l| acc + l + "\n")
}

fn debug(dir: &Path, cache: &Path) -> Result<Kernel> {
    let pin = Pins::load()?.get("debug")?.clone();
    let key = format!("{:016x}-{}", fnv1a(debug_options().as_bytes()), pin.key());
    if let Some(k) = read_ready("debug", dir)
        && std::fs::read_to_string(dir.join("ready"))
            .is_ok_and(|t| t.contains(&format!("key={key}")))
    {
        return Ok(k);
    }
    crate::provision::ensure_packages(&[
        "flex",
        "bison",
        "bc",
        "libelf-dev",
        "xz-utils",
        "gcc-12",
        "make",
    ])?;
    let tree = fetch_linux_source(dir, cache)?;
    eprintln!("==> debug kernel: configuring (tinyconfig + xtask/lab/debug-kernel.config)");
    let make = |args: &[&str]| {
        let mut c = Command::new("make");
        c.current_dir(&tree).arg("-s").args(args);
        c
    };
    process::output(&mut make(&["tinyconfig"]))?;
    let config_path = tree.join(".config");
    let mut config = std::fs::read_to_string(&config_path)?;
    config.push_str(DEBUG_CONFIG);
    std::fs::write(&config_path, config)?;
    process::output(&mut make(&["olddefconfig"]))?;
    let final_config = std::fs::read_to_string(&config_path)?;
    let lost: Vec<&str> = DEBUG_CONFIG
        .lines()
        .filter(|l| l.starts_with("CONFIG_") && !final_config.lines().any(|f| f == *l))
        .collect();
    if !lost.is_empty() {
        bail!(
            "kconfig dropped options of the debug kernel (missing dependencies?): {}",
            lost.join(" ")
        );
    }
    let jobs = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .to_string();
    eprintln!(
        "==> debug kernel: building with {jobs} jobs (3-5 minutes on 2 cores, once per machine)"
    );
    process::run_with_progress(
        Command::new("make")
            .current_dir(&tree)
            .args(["-j", &jobs, "vmlinux", "modules"]),
        "debug kernel",
        &dir.join("build.log"),
    )?;
    let release = process::output(&mut make(&["kernelrelease"]))?
        .trim()
        .to_string();
    write_ready(dir, &release, "linux/vmlinux", "linux", &key)?;
    read_ready("debug", dir).context("debug kernel incomplete after building it")
}

/// The source tree of Debian's linux-source-6.1, the one the debug kernel is
/// built from (and the book's kernel citations are checked against):
/// fetched and unpacked once, under the cache.
pub fn linux_source_tree(cache: &Path) -> Result<PathBuf> {
    crate::provision::ensure_packages(&["xz-utils"])?;
    let _one_at_a_time = preparation_lock(cache)?;
    let dir = cache.join("lab/kernels/debug");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    fetch_linux_source(&dir, cache)
}

/// The source tree a citation names after `@` (`6.12`): the debug kernel's
/// for `6.1`, otherwise a pinned `[source]` of `xtask/lab/kernels.toml`.
pub fn cited_source_tree(name: &str, cache: &Path) -> Result<PathBuf> {
    if name == "6.1" {
        return linux_source_tree(cache);
    }
    crate::provision::ensure_packages(&["xz-utils"])?;
    let pins = Pins::load()?;
    let pin = pins.source(name)?;
    let package = pin
        .packages
        .first()
        .with_context(|| format!("{PINS}: source {name} has no package"))?;
    let _one_at_a_time = preparation_lock(cache)?;
    let dir = cache.join("lab/sources").join(name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    unpack_source(package, &dir, cache)
}

fn fetch_linux_source(dir: &Path, cache: &Path) -> Result<PathBuf> {
    let pins = Pins::load()?;
    unpack_source(pins.get("debug")?.package(SOURCE_PACKAGE)?, dir, cache)
}

/// A pinned `linux-source-*` package unpacked into `dir/linux`, once per pin.
fn unpack_source(source: &PackagePin, dir: &Path, cache: &Path) -> Result<PathBuf> {
    let tree = dir.join("linux");
    // Which pinned package the tree was unpacked from: a moved pin unpacks anew.
    let marker = dir.join("source-sha256");
    let unpacked = std::fs::read_to_string(&marker).is_ok_and(|m| m.trim() == source.sha256);
    if unpacked && tree.join("Makefile").is_file() {
        return Ok(tree);
    }
    eprintln!(
        "==> fetching Debian's {} {} (once)",
        source.name, source.version
    );
    let _ = std::fs::remove_file(&marker);
    for stale in [&tree, &dir.join("unpack")] {
        if stale.exists() {
            std::fs::remove_dir_all(stale)?;
        }
    }
    let deb = archive::fetch(source, &cache.join("lab/downloads"))?;
    let unpack = dir.join("unpack");
    std::fs::create_dir_all(&unpack)?;
    process::run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpack))?;
    std::fs::remove_file(&deb)?;
    eprintln!("  unpacking the kernel source tarball");
    process::run(
        Command::new("tar")
            .arg("-xJf")
            .arg(unpack.join(format!("usr/src/{}.tar.xz", source.name)))
            .arg("-C")
            .arg(dir),
    )?;
    std::fs::rename(dir.join(&source.name), &tree)?;
    std::fs::remove_dir_all(&unpack)?;
    std::fs::write(&marker, &source.sha256)?;
    Ok(tree)
}

/// How Debian compresses kernels and modules.
#[derive(Clone, Copy)]
enum Compression {
    Xz,
    Zstd,
}

/// One xz or zstd stream from the start of `data`; what follows it (a
/// bzImage's trailer) is ignored.
fn decompress(data: &[u8], compression: Compression) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    match compression {
        Compression::Xz => {
            liblzma::read::XzDecoder::new(data).read_to_end(&mut out)?;
        }
        Compression::Zstd => {
            let mut source = data;
            ruzstd::decoding::StreamingDecoder::new(&mut source)
                .map_err(|e| anyhow::anyhow!("zstd: {e}"))?
                .read_to_end(&mut out)?;
        }
    }
    Ok(out)
}

/// The kernel's own module `name` and the modules it depends on, in load
/// order, decompressed: `(name, .ko bytes)`. Empty when the kernel has it
/// built in (or, for the debug kernel, configured in).
pub fn in_tree_module(kernel: &Kernel, name: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let Some(dir) = &kernel.modules_dir else {
        return Ok(Vec::new());
    };
    let mut order = Vec::new();
    resolve_module(dir, name, &mut order, 0)
        .with_context(|| format!("kernel {}: module {name}", kernel.name))?;
    Ok(order)
}

fn resolve_module(
    dir: &Path,
    name: &str,
    order: &mut Vec<(String, Vec<u8>)>,
    depth: usize,
) -> Result<()> {
    let canonical = name.replace('-', "_");
    if depth > 16 || order.iter().any(|(n, _)| *n == canonical) {
        return Ok(());
    }
    let builtin = std::fs::read_to_string(dir.join("modules.builtin")).unwrap_or_default();
    let is_named = |path: &str| {
        let file = path.rsplit('/').next().unwrap_or(path);
        let stem = file.split(".ko").next().unwrap_or(file);
        stem.replace('-', "_") == canonical
    };
    if builtin.lines().any(is_named) {
        return Ok(());
    }
    let file = find_file(&dir.join("kernel"), &is_named)?.with_context(|| {
        format!(
            "neither built in nor shipped as a module in {}",
            dir.display()
        )
    })?;
    let raw = std::fs::read(&file)?;
    let bytes = match file.extension().and_then(|e| e.to_str()) {
        Some("xz") => decompress(&raw, Compression::Xz)?,
        Some("zst") => decompress(&raw, Compression::Zstd)?,
        _ => raw,
    };
    // .modinfo holds "depends=a,b": load those first.
    const DEPENDS: &[u8] = b"depends=";
    let depends = bytes
        .windows(DEPENDS.len())
        .position(|w| w == DEPENDS)
        .and_then(|at| bytes.get(at + DEPENDS.len()..))
        .map(|rest| {
            let value = rest.split(|b| *b == 0).next().unwrap_or_default();
            String::from_utf8_lossy(value).into_owned()
        })
        .unwrap_or_default();
    for dep in depends.split(',').filter(|d| !d.is_empty()) {
        resolve_module(dir, dep, order, depth + 1)?;
    }
    order.push((canonical, bytes));
    Ok(())
}

fn find_file(dir: &Path, wanted: &dyn Fn(&str) -> bool) -> Result<Option<PathBuf>> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, wanted)? {
                return Ok(Some(found));
            }
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains(".ko") && wanted(n))
        {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

/// A stable hash for cache keys (FNV-1a, 64 bit).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_images_without_a_payload() {
        assert!(extract_vmlinux(b"MZ not a kernel").is_err());
    }

    #[test]
    fn debug_config_lines_are_well_formed() {
        for line in DEBUG_CONFIG
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            assert!(
                line.starts_with("CONFIG_") && line.ends_with("=y"),
                "{line}"
            );
        }
    }

    #[test]
    fn the_debug_kernel_key_ignores_comments() {
        let options = debug_options();
        assert!(!options.contains('#'));
        assert_eq!(
            options.lines().count(),
            DEBUG_CONFIG
                .lines()
                .filter(|l| l.starts_with("CONFIG_"))
                .count()
        );
    }

    #[test]
    fn fnv1a_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
    }
}
