//! A module build that must fail: chapter 10 shows what a 2.6-era module's
//! compiler says on today's kernels. No boot; the build runs against the
//! same pinned kernels as the lab, and its diagnostics are normalized so
//! that a snapshot of them is the same on every machine.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::guest::{Kbuild, kbuild, sync_dir};
use super::kernels::Kernel;

/// Builds the modules of `dir` against `kernel` in a fresh copy under
/// `cache`, expecting the build to fail, and returns the compiler's
/// diagnostics normalized by [`diagnostics`], with the sources shown as
/// `shown_as` (their path in the repository). A build that succeeds is an
/// error: the point is that it cannot.
pub fn expect_failure(dir: &Path, shown_as: &str, kernel: &Kernel, cache: &Path) -> Result<String> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .context("module dir name")?;
    let work = cache.join("lab/build-only").join(&kernel.name).join(name);
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    sync_dir(dir, &work)?;
    let Kbuild { ok, log } = kbuild(kernel, &work)?;
    if ok {
        bail!(
            "{shown_as} built against kernel {} ({}): it was expected to fail",
            kernel.name,
            kernel.release
        );
    }
    let found = diagnostics(&log, &work, shown_as);
    if !found.lines().any(|l| l.contains(": error: ")) {
        bail!(
            "building {shown_as} against kernel {} failed without a compiler error (missing tools or headers?):\n{log}",
            kernel.name
        );
    }
    Ok(found)
}

/// The compiler's diagnostics in a Kbuild log, made the same on every
/// machine: the build folder becomes `shown_as`; a kernel header becomes
/// `<kernel>/include/...` without line and column (they move with every
/// kernel update, and the header is not in the repository); typographic
/// quotes become plain ones. Dropped: make's and Kbuild's own lines, source
/// excerpts under each diagnostic, and include chains.
pub fn diagnostics(log: &str, build_dir: &Path, shown_as: &str) -> String {
    let build = format!("{}/", build_dir.display());
    let shown = format!("{}/", shown_as.trim_end_matches('/'));
    let mut out = Vec::new();
    for line in log.lines() {
        let line = line.replace(['\u{2018}', '\u{2019}'], "'");
        let trimmed = line.trim_start();
        let is_excerpt = trimmed.starts_with('|')
            || trimmed
                .split_once(" |")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if line.is_empty()
            || is_excerpt
            || line.starts_with("make")
            || line.starts_with("In file included from")
            || trimmed.starts_with("from ")
            || (line.starts_with(' ') && !line.contains(": "))
        {
            continue;
        }
        if let Some(rest) = line.strip_prefix(&build) {
            out.push(format!("{shown}{rest}"));
        } else if line.starts_with('/') {
            out.push(kernel_header_line(&line));
        } else if line.contains(": ") {
            // cc1's summary, e.g. "cc1: some warnings being treated as errors".
            out.push(line);
        }
    }
    out.join("\n") + "\n"
}

/// `/any/where/include/linux/netlink.h:59:1: note: declared here` ->
/// `<kernel>/include/linux/netlink.h: note: declared here`.
fn kernel_header_line(line: &str) -> String {
    let Some((path, rest)) = line.split_once(": ") else {
        return line.to_string();
    };
    let file = path.split(':').next().unwrap_or(path).trim_end_matches(',');
    let in_tree = ["/include/", "/arch/"]
        .iter()
        .filter_map(|dir| file.find(dir))
        .min()
        .map_or(file, |at| &file[at + 1..]);
    format!("<kernel>/{in_tree}: {rest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
make: Entering directory '/k/linux-headers-6.12-amd64'
  CC [M]  /cache/b/legacy/x.c.o
/cache/b/legacy/x.c:41:30: error: \u{2018}SPIN_LOCK_UNLOCKED\u{2019} undeclared here (not in a function)
   41 | static spinlock_t req_lock = SPIN_LOCK_UNLOCKED;
      |                              ^~~~~~~~~~~~~~~~~~
/cache/b/legacy/x.c: In function 'nl_init':
In file included from /k/common/include/linux/sched/signal.h:10,
                 from /cache/b/legacy/x.c:16:
/k/common/include/linux/netlink.h:59:1: note: declared here
cc1: some warnings being treated as errors
make[2]: *** [/k/common/scripts/Makefile.build:234: /cache/b/legacy/x.o] Error 1
";

    #[test]
    fn keeps_diagnostics_with_repository_paths_only() {
        let got = diagnostics(LOG, Path::new("/cache/b/legacy"), "kmod/ch/legacy");
        assert_eq!(
            got,
            "kmod/ch/legacy/x.c:41:30: error: 'SPIN_LOCK_UNLOCKED' undeclared here (not in a function)\n\
             kmod/ch/legacy/x.c: In function 'nl_init':\n\
             <kernel>/include/linux/netlink.h: note: declared here\n\
             cc1: some warnings being treated as errors\n"
        );
    }

    #[test]
    fn kernel_paths_lose_their_prefix_and_position() {
        assert_eq!(
            kernel_header_line("/a/b-common/arch/x86/include/asm/elf.h:10:3: note: here"),
            "<kernel>/arch/x86/include/asm/elf.h: note: here"
        );
    }

    /// A stand-in kernel whose `make modules` runs `recipe`.
    fn fake_kernel(dir: &Path, recipe: &str) -> Kernel {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("Makefile"), format!("modules:\n\t{recipe}\n")).unwrap();
        Kernel {
            name: "fake".into(),
            release: "0.0".into(),
            vmlinux: dir.join("vmlinux"),
            kdir: dir.to_path_buf(),
            modules_dir: None,
        }
    }

    #[test]
    fn a_build_that_succeeds_or_fails_without_an_error_is_refused() {
        let scratch = tempfile::tempdir().unwrap();
        let tmp = scratch.path();
        let sources = tmp.join("legacy");
        std::fs::create_dir_all(&sources).unwrap();
        std::fs::write(sources.join("x.c"), "int x;\n").unwrap();
        let cache = tmp.join("cache");

        let builds = fake_kernel(&tmp.join("ok"), "@true");
        let err = expect_failure(&sources, "kmod/legacy", &builds, &cache).unwrap_err();
        assert!(format!("{err}").contains("expected to fail"), "{err}");

        let no_compiler = fake_kernel(
            &tmp.join("broken"),
            "@echo 'make: gcc: No such file'; exit 2",
        );
        assert!(expect_failure(&sources, "kmod/legacy", &no_compiler, &cache).is_err());

        let work = cache.join("lab/build-only/fake/legacy");
        let fails = fake_kernel(
            &tmp.join("fails"),
            &format!(
                "@test $(M) = {} && echo '$(M)/x.c:1:5: error: nope' >&2; exit 2",
                work.display()
            ),
        );
        assert_eq!(
            expect_failure(&sources, "kmod/legacy", &fails, &cache).unwrap(),
            "kmod/legacy/x.c:1:5: error: nope\n"
        );
        assert!(
            work.join("x.c").is_file(),
            "the sources were copied to the build folder"
        );
    }
}
