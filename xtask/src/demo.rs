//! `cargo xtask demo`: run a chapter's Rust demo on this machine.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{process, workspace};

#[derive(clap::Args)]
pub struct DemoArgs {
    /// The chapter, e.g. `ch01-hello-netlink` or `ch01`. Without it, lists the demos.
    chapter: Option<String>,
    /// Which demo of the chapter (a binary name); lists them when omitted.
    demo: Option<String>,
    /// Arguments for the demo.
    #[arg(last = true)]
    args: Vec<String>,
}

pub fn run(args: &DemoArgs) -> Result<()> {
    let chapters = workspace::root().join("chapters");
    let mut dirs: Vec<_> = std::fs::read_dir(&chapters)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("src/bin").is_dir())
        .collect();
    dirs.sort();
    let Some(chapter) = &args.chapter else {
        for dir in &dirs {
            println!("{}: {}", name_of(dir), demos_of(dir)?.join(", "));
        }
        println!(
            "\nrun one with `cargo xtask demo <chapter> <demo>`; modules run in `cargo xtask lab`"
        );
        return Ok(());
    };
    let dir = dirs
        .iter()
        .find(|d| name_of(d) == *chapter || name_of(d).starts_with(&format!("{chapter}-")))
        .with_context(|| format!("no chapter `{chapter}` with demos (try `cargo xtask demo`)"))?;
    let demos = demos_of(dir)?;
    let Some(demo) = &args.demo else {
        println!("demos of {}: {}", name_of(dir), demos.join(", "));
        return Ok(());
    };
    if !demos.contains(demo) {
        bail!(
            "{} has no demo `{demo}`; it has: {}",
            name_of(dir),
            demos.join(", ")
        );
    }
    let cargo = crate::process::cargo();
    process::run(
        Command::new(cargo)
            .current_dir(workspace::root())
            .args(["run", "--quiet", "-p", &name_of(dir), "--bin", demo, "--"])
            .args(&args.args),
    )
}

fn name_of(dir: &std::path::Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn demos_of(dir: &std::path::Path) -> Result<Vec<String>> {
    let mut bins: Vec<String> = std::fs::read_dir(dir.join("src/bin"))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.path()
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .collect();
    bins.sort();
    Ok(bins)
}
