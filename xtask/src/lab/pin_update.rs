//! `cargo xtask kernels`: the pinned kernels, and moving the pins to what
//! Debian's archive holds today, with the lab's snapshots re-recorded so the
//! change can be reviewed as one diff.

use std::collections::BTreeMap;
use std::process::Command;

use anyhow::{Context, Result, bail};
use book_builder::kernel_pins::{KernelPin, PINS, Pins};

use super::archive;
use crate::{process, workspace};

#[derive(clap::Args, Debug)]
pub struct KernelsArgs {
    #[command(subcommand)]
    pub action: Option<KernelsAction>,
}

#[derive(clap::Subcommand, Debug)]
pub enum KernelsAction {
    /// Every pinned kernel and its packages (the default).
    List,
    /// Move every pin to what the package it follows names today, fetch the
    /// new packages, re-record the lab's snapshots and show the diff.
    Update {
        /// Only rewrite the pins file; run no lab.
        #[arg(long)]
        pins_only: bool,
    },
}

pub fn run(args: &KernelsArgs) -> Result<()> {
    match args.action {
        None | Some(KernelsAction::List) => list(),
        Some(KernelsAction::Update { pins_only }) => update(pins_only),
    }
}

fn list() -> Result<()> {
    let pins = Pins::load()?;
    for (name, kernel) in pins.kernel.iter().chain(&pins.source) {
        println!(
            "{name:<8} Linux {} ({}), follows {}",
            kernel.version,
            kernel.release.as_deref().unwrap_or("built from source"),
            kernel.follows
        );
        for p in &kernel.packages {
            println!(
                "       {} {}  {}/{}  sha256 {}",
                p.name, p.version, p.archive, p.path, p.sha256
            );
        }
    }
    Ok(())
}

/// The header of the pins file, which `update` writes whole.
const HEADER: &str = "\
# The lab's kernels, pinned exactly: every Debian package each kernel is made
# of, by name, version, place in Debian's archive and SHA-256. The lab fetches
# these bytes and no others, whatever apt's lists say; the book names the
# versions through {{#pinned NAME}}. Written by `cargo xtask kernels update`,
# which moves each pin to what the package it follows names today and
# re-records the lab's snapshots for review.

";

fn update(pins_only: bool) -> Result<()> {
    let root = workspace::root();
    let old = Pins::load()?;
    refresh_apt_lists()?;
    let mut kernel = BTreeMap::new();
    for (name, pin) in &old.kernel {
        kernel.insert(name.clone(), resolve(&pin.follows)?);
    }
    let mut source = BTreeMap::new();
    for (name, pin) in &old.source {
        source.insert(name.clone(), resolve(&pin.follows)?);
    }
    let new = Pins { kernel, source };
    let text = format!(
        "{HEADER}{}",
        toml::to_string(&new).context("writing the pins")?
    );
    std::fs::write(root.join(PINS), text)?;
    if new == old {
        println!("the pins already name what Debian's archive holds today: nothing to do");
        return Ok(());
    }
    for (name, pin) in new.kernel.iter().chain(&new.source) {
        let was = old
            .kernel
            .get(name)
            .or_else(|| old.source.get(name))
            .map_or("none", |k| k.version.as_str());
        println!("{name}: {was} -> {} ({})", pin.version, pin.key());
    }
    if pins_only {
        println!(
            "wrote {PINS}; run `cargo xtask kernels update` without --pins-only to re-record the snapshots"
        );
        return Ok(());
    }
    let summary = super::run(&super::LabArgs {
        accept: true,
        ..Default::default()
    })?;
    process::run(Command::new("git").arg("-C").arg(&root).args([
        "diff",
        "--stat",
        "--",
        PINS,
        "tests/snapshots/lab",
    ]))?;
    println!(
        "Review the change with `git diff -- {PINS} tests/snapshots/lab`, then check the \
         citations against the new source with `cargo xtask citations` (`--update` moves \
         their line numbers)."
    );
    match summary.failed() {
        0 => Ok(()),
        n => bail!("{n} lab test(s) failed on the new kernels"),
    }
}

/// The pin of what `follows` names today: the ABI a meta-package depends on
/// (image, headers, their `-common` and `kbuild`), or the package itself.
fn resolve(follows: &str) -> Result<KernelPin> {
    let headers = depends(follows)?
        .into_iter()
        .find(|d| d.starts_with("linux-headers-"));
    let Some(headers) = headers else {
        let package = archive::pin_of(follows)?;
        return Ok(KernelPin {
            version: upstream(&package.version),
            release: None,
            follows: follows.to_string(),
            packages: vec![package],
        });
    };
    let abi = headers.trim_start_matches("linux-headers-").to_string();
    let mut names = vec![format!("linux-image-{abi}"), headers.clone()];
    names.extend(
        depends(&headers)?
            .into_iter()
            // `-common`, or `-common-rt` for the real-time flavour.
            .filter(|d| {
                (d.starts_with("linux-headers-") && d.contains("-common"))
                    || d.starts_with("linux-kbuild-")
            }),
    );
    let packages = names
        .iter()
        .map(|n| archive::pin_of(n))
        .collect::<Result<Vec<_>>>()?;
    Ok(KernelPin {
        version: upstream(&packages.first().context("no image")?.version),
        release: Some(abi),
        follows: follows.to_string(),
        packages,
    })
}

/// `6.12.118-1~deb12u1` -> `6.12.118`.
fn upstream(debian_version: &str) -> String {
    debian_version
        .split_once('-')
        .map_or(debian_version, |(v, _)| v)
        .to_string()
}

/// `Depends:` of a Debian package, as apt-cache lists them.
fn depends(package: &str) -> Result<Vec<String>> {
    let out = process::output(Command::new("apt-cache").args(["depends", package]))?;
    Ok(out
        .lines()
        .filter_map(|l| l.trim().trim_start_matches('|').strip_prefix("Depends: "))
        .map(str::to_string)
        .collect())
}

/// Moving the pins reads what apt's lists name today: refreshed first.
fn refresh_apt_lists() -> Result<()> {
    if !process::is_root() {
        bail!(
            "moving the pins reads apt's lists as they are today: run this as root (it runs `apt-get update` first)"
        );
    }
    process::run(Command::new("apt-get").args(["update", "-q"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_versions_drop_debian_revisions() {
        assert_eq!(upstream("6.12.118-1~deb12u1"), "6.12.118");
        assert_eq!(upstream("6.1.192-3"), "6.1.192");
        assert_eq!(upstream("5.10.237"), "5.10.237");
    }

    #[test]
    fn the_pins_file_is_what_update_writes() {
        let text = std::fs::read_to_string(workspace::root().join(PINS)).unwrap();
        let pins = Pins::parse(&text).unwrap();
        assert_eq!(text, format!("{HEADER}{}", toml::to_string(&pins).unwrap()));
        let mut names: Vec<&str> = pins.kernel.keys().map(String::as_str).collect();
        let mut matrix = super::super::plan::KERNELS.to_vec();
        names.sort_unstable();
        matrix.sort_unstable();
        assert_eq!(
            names, matrix,
            "the pins and the lab's matrix name the same kernels"
        );
        // Appendix A includes lines 8-43: the 6.1 kernel, whole.
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[7], "[kernel.\"6.1\"]");
        assert!(lines[42].starts_with("sha256 = "));
        assert_eq!((lines[43], lines[44]), ("", "[kernel.\"6.12\"]"));
    }
}
