//! Provisioning: the Debian packages the workbook needs, installed once.
//!
//! As root the tool installs them with apt; otherwise it prints the exact
//! command to run and stops, so nothing is half set up.

use std::process::Command;

use anyhow::{Result, bail};

use crate::process;

/// Debian packages and why each is needed.
pub const PACKAGES: &[(&str, &str)] = &[
    ("qemu-system-x86", "boots the pinned kernels of the VM lab"),
    (
        "busybox-static",
        "the shell and tools inside the lab's initramfs",
    ),
    (
        "gcc-12",
        "Debian's kernel headers build modules with gcc-12",
    ),
    ("make", "Kbuild"),
    ("flex", "building the debug kernel"),
    ("bison", "building the debug kernel"),
    ("bc", "building the debug kernel"),
    ("libelf-dev", "objtool, for the debug kernel"),
    ("xz-utils", "unpacking Debian's kernel source tarball"),
    (
        "dwarves",
        "pahole: BTF for modules built against 6.12 headers",
    ),
    (
        "strace",
        "counts the system calls of chapter 13's benchmark",
    ),
    (
        "chromium",
        "headless, loads every page of the built book (cargo xtask browser) and prints its PDF (cargo xtask site)",
    ),
    (
        "slurm-wlm",
        "a single-node Slurm: the grader's array job is checked on a real cluster",
    ),
    (
        "munge",
        "Slurm's authentication, started for the Slurm check with a key of its own",
    ),
    (
        "poppler-utils",
        "pdfinfo, pdftotext and pdftoppm: the browser check reads the printed PDF's pages",
    ),
];

/// Packages of `PACKAGES` that are not installed.
pub fn missing(packages: &[&str]) -> Vec<String> {
    packages
        .iter()
        .filter(|pkg| {
            let out = Command::new("dpkg-query")
                .args(["-W", "-f=${db:Status-Status}", pkg])
                .output();
            !matches!(out, Ok(o) if o.status.success() && o.stdout == b"installed")
        })
        .map(|p| p.to_string())
        .collect()
}

/// Installs what is missing (as root) or says how to.
pub fn ensure_packages(packages: &[&str]) -> Result<()> {
    let missing = missing(packages);
    if missing.is_empty() {
        return Ok(());
    }
    let command = format!(
        "apt-get update && apt-get install -y --no-install-recommends {}",
        missing.join(" ")
    );
    if !process::is_root() {
        bail!(
            "these Debian packages are needed: {}\nrun as root:\n  {command}\nthen run this command again",
            missing.join(" ")
        );
    }
    eprintln!("==> installing Debian packages: {}", missing.join(" "));
    process::run(Command::new("apt-get").args(["update", "-q"]))?;
    process::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing),
    )?;
    Ok(())
}

/// Makes sure `cargo fmt` and `cargo clippy` exist (rustup components).
pub fn ensure_rust_components() -> Result<()> {
    let have = |sub: &str| {
        Command::new("cargo")
            .args([sub, "--version"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if have("fmt") && have("clippy") {
        return Ok(());
    }
    eprintln!("==> adding rustup components rustfmt and clippy");
    process::run(Command::new("rustup").args(["component", "add", "rustfmt", "clippy"]))
}

/// Everything: `cargo xtask setup`.
pub fn ensure_all() -> Result<()> {
    let names: Vec<&str> = PACKAGES.iter().map(|(p, _)| *p).collect();
    ensure_packages(&names)?;
    ensure_rust_components()?;
    println!("all set: {} Debian packages present", names.len());
    for (pkg, why) in PACKAGES {
        println!("  {pkg:<16} {why}");
    }
    Ok(())
}
