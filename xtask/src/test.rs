//! `cargo xtask test`: the whole suite, as CI runs it.

use std::process::Command;

use anyhow::{Result, bail};

use crate::{lab, process, provision, workspace};

#[derive(clap::Args)]
pub struct TestArgs {
    /// Only the host lane (format, lints, cargo test).
    #[arg(long, conflicts_with = "lab_only")]
    host_only: bool,
    /// Only the VM lane.
    #[arg(long)]
    lab_only: bool,
}

pub fn run(args: &TestArgs) -> Result<()> {
    let root = workspace::root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let started = std::time::Instant::now();
    let mut failed_steps = Vec::new();
    if !args.lab_only {
        provision::ensure_rust_components()?;
        let steps: [(&str, Vec<&str>); 3] = [
            ("format", vec!["fmt", "--all", "--check"]),
            (
                "lints",
                vec![
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--quiet",
                    "--",
                    "-D",
                    "warnings",
                ],
            ),
            ("host tests", vec!["test", "--workspace", "--quiet"]),
        ];
        for (name, cargo_args) in steps {
            eprintln!("==> {name}: cargo {}", cargo_args.join(" "));
            let mut cmd = Command::new(&cargo);
            cmd.current_dir(&root).args(&cargo_args);
            if name == "host tests" {
                cmd = with_network_namespace_rights(cmd)?;
            }
            if let Err(e) = process::run(&mut cmd) {
                eprintln!("{name} failed: {e:#}");
                failed_steps.push(name);
            }
        }
    }
    let mut lab_summary = None;
    if !args.host_only {
        eprintln!("==> VM lab: every chapter, every kernel");
        match lab::run(&lab::LabArgs::default()) {
            Ok(summary) => lab_summary = Some(summary),
            Err(e) => {
                eprintln!("VM lab failed: {e:#}");
                failed_steps.push("VM lab");
            }
        }
    }
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    let (lab_passed, lab_failed) = lab_summary
        .as_ref()
        .map_or((0, 0), |s| (s.passed(), s.failed()));
    let steps_run = if args.lab_only { 0 } else { 3 };
    let steps_failed = failed_steps.iter().filter(|s| **s != "VM lab").count();
    println!("\ntest suite finished in {minutes:.1} min");
    println!(
        "steps: {} passed, {} failed{}",
        steps_run - steps_failed,
        steps_failed,
        if failed_steps.is_empty() {
            String::new()
        } else {
            format!(" ({})", failed_steps.join(", "))
        }
    );
    println!("lab: {lab_passed} passed, {lab_failed} failed",);
    if !failed_steps.is_empty() || lab_failed > 0 {
        bail!("the test suite failed");
    }
    Ok(())
}

/// Host tests create network namespaces (CAP_SYS_ADMIN). As a plain user the
/// suite re-runs itself in a user namespace where it has that right.
fn with_network_namespace_rights(cmd: Command) -> Result<Command> {
    if has_cap_sys_admin() {
        return Ok(cmd);
    }
    let probe = Command::new("unshare").args(["-Urn", "true"]).status();
    if !probe.is_ok_and(|s| s.success()) {
        bail!(
            "the host tests need CAP_SYS_ADMIN to create network namespaces; this user cannot get it \
             with `unshare -Urn` (unprivileged user namespaces disabled?). Run as root, or enable them: \
             sysctl kernel.unprivileged_userns_clone=1"
        );
    }
    eprintln!("    (not root: running the host tests under `unshare -Urn`)");
    let mut wrapped = Command::new("unshare");
    wrapped
        .arg("-Urn")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    Ok(wrapped)
}

fn has_cap_sys_admin() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << CAP_SYS_ADMIN) != 0)
}
