//! `cargo xtask crate-weight`: what each netlink crate set of the book
//! costs a program that depends on it, measured, for chapter 13's "Choosing
//! a crate". Each set is an empty program of its own under
//! `target/crate-weight/<set>/`, depending on the set's crates at the
//! versions the workspace's lock file pins (the lock is copied in, and
//! cargo works offline). For each set: the crates in its dependency tree
//! (`cargo tree`, normal and build dependencies, the program itself not
//! counted) and the time a release build of that tree takes from an empty
//! target directory, on this machine's cores.
//!
//! A run writes `book/src/perf/crate-weight.json` and the chapter's table,
//! `crate-weight.md`. The crate counts depend only on the lock file, and a
//! test checks them against it; the build times are a measurement, like the
//! benchmark's rates.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::{process, workspace};

/// One set of crates a program would depend on for one job.
pub struct CrateSet {
    /// The folder name, and the key in the JSON.
    pub name: &'static str,
    /// What a program uses it for, as the table says it.
    pub job: &'static str,
    /// The dependencies: a name, and `[workspace.dependencies]`'s entry for
    /// it is copied (version and features).
    pub crates: &'static [&'static str],
}

/// The sets the book's programs use.
pub const SETS: [CrateSet; 6] = [
    CrateSet {
        name: "libc",
        job: "raw system calls (every chapter's raw programs)",
        crates: &["libc"],
    },
    CrateSet {
        name: "neli",
        job: "neli: socket, route and generic netlink types",
        crates: &["neli"],
    },
    CrateSet {
        name: "rust-netlink-route",
        job: "netlink-sys + netlink-packet-route (chapters 1, 6, 13)",
        crates: &["netlink-sys", "netlink-packet-core", "netlink-packet-route"],
    },
    CrateSet {
        name: "rust-netlink-xfrm",
        job: "netlink-sys + netlink-packet-xfrm (chapter 5)",
        crates: &["netlink-sys", "netlink-packet-core", "netlink-packet-xfrm"],
    },
    CrateSet {
        name: "rust-netlink-generic",
        job: "netlink-sys + netlink-packet-generic (chapter 11)",
        crates: &[
            "netlink-sys",
            "netlink-packet-core",
            "netlink-packet-generic",
        ],
    },
    CrateSet {
        name: "genetlink-tokio",
        job: "genetlink on a tokio runtime (chapter 11 looks up its family)",
        crates: &[
            "genetlink",
            "netlink-packet-core",
            "netlink-packet-generic",
            "tokio",
        ],
    },
];

/// One set, measured.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SetWeight {
    pub name: String,
    pub job: String,
    /// The set's crates, with the versions the lock file pins.
    pub crates: Vec<String>,
    /// Crates in the dependency tree, the set's own included.
    pub crates_in_tree: usize,
    /// Seconds for `cargo build --release` of the tree, from empty.
    pub release_build_s: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Weights {
    pub date: String,
    pub rustc: String,
    pub cpu: String,
    pub cpus: usize,
    pub sets: Vec<SetWeight>,
}

fn output_dir() -> PathBuf {
    workspace::root().join("book/src/perf")
}

/// A program that depends on `set`, under `dir`, with the workspace's lock.
pub fn write_program(set: &CrateSet, dir: &Path) -> Result<()> {
    let root = workspace::root();
    let manifest: toml::Table = toml::from_str(
        &std::fs::read_to_string(root.join("Cargo.toml")).context("reading Cargo.toml")?,
    )?;
    let dependencies = manifest
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(|d| d.as_table())
        .context("Cargo.toml has no [workspace.dependencies]")?;
    let mut deps = toml::Table::new();
    for name in set.crates {
        let entry = dependencies
            .get(*name)
            .with_context(|| format!("{name} is not a workspace dependency"))?;
        deps.insert((*name).to_owned(), entry.clone());
    }
    let mut cargo_toml = format!(
        "[package]\nname = \"weight-{}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         # Not a member of the book's workspace.\n[workspace]\n\n[dependencies]\n",
        set.name
    );
    cargo_toml.push_str(&toml::to_string(&deps)?);
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(dir.join("Cargo.toml"), cargo_toml)?;
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n")?;
    // The workspace's lock: the same versions. Cargo drops what the set
    // does not use.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).context("copying Cargo.lock")?;
    Ok(())
}

/// The crates of the program's tree (`name vX.Y.Z`), sorted, itself not
/// included; and the set's own crates with their versions.
pub fn tree(set: &CrateSet, dir: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let text = process::output(
        Command::new(process::cargo())
            .current_dir(dir)
            .args([
                "tree",
                "--offline",
                "-e",
                "normal,build",
                "--prefix",
                "none",
            ])
            .args(["--format", "{p}"]),
    )?;
    let mut crates: Vec<String> = text
        .lines()
        .map(|l| {
            // "name v1.2.3 (proc-macro) (*)": the package is the first two words.
            l.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
        })
        .filter(|p| !p.is_empty() && !p.starts_with("weight-"))
        .collect();
    crates.sort();
    crates.dedup();
    let own = set
        .crates
        .iter()
        .map(|name| {
            crates
                .iter()
                .find(|p| p.split_whitespace().next() == Some(*name))
                .cloned()
                .with_context(|| format!("{name} is not in the tree of {}", set.name))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((crates, own))
}

fn measure(set: &CrateSet) -> Result<SetWeight> {
    let dir = crate::cache_dir().join("crate-weight").join(set.name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    write_program(set, &dir)?;
    let (crates, own) = tree(set, &dir)?;
    eprintln!(
        "==> {}: {} crates; release build from empty",
        set.name,
        crates.len()
    );
    let started = Instant::now();
    process::run(
        Command::new(process::cargo())
            .current_dir(&dir)
            .args(["build", "--release", "--offline", "--quiet"])
            .env("CARGO_TARGET_DIR", dir.join("target")),
    )?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("    {seconds:.1} s");
    Ok(SetWeight {
        name: set.name.to_owned(),
        job: set.job.to_owned(),
        crates: own,
        crates_in_tree: crates.len(),
        release_build_s: (seconds * 10.0).round() / 10.0,
    })
}

pub fn run() -> Result<()> {
    // Every crate downloaded once, so that the builds measure compiling.
    process::run(
        Command::new(process::cargo())
            .current_dir(workspace::root())
            .args(["fetch", "--locked"]),
    )?;
    let sets = SETS.iter().map(measure).collect::<Result<Vec<_>>>()?;
    let weights = Weights {
        date: process::output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))?
            .trim()
            .to_owned(),
        rustc: process::output(Command::new("rustc").arg("--version"))?
            .trim()
            .to_owned(),
        cpu: crate::bench::cpu_model(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        sets,
    };
    let dir = output_dir();
    let json = dir.join("crate-weight.json");
    let mut text = serde_json::to_string_pretty(&weights)?;
    text.push('\n');
    std::fs::write(&json, text).with_context(|| format!("writing {}", json.display()))?;
    let table = dir.join("crate-weight.md");
    std::fs::write(&table, markdown_table(&weights))
        .with_context(|| format!("writing {}", table.display()))?;
    println!(
        "{}\nresults: {}\ntable:   {}",
        markdown_table(&weights),
        json.display(),
        table.display()
    );
    Ok(())
}

/// The committed measurement.
pub fn committed() -> Result<Weights> {
    let path = output_dir().join("crate-weight.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The chapter's table.
pub fn markdown_table(weights: &Weights) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Measured {} with {}, {} ({} CPUs): `cargo xtask crate-weight`.\n",
        weights.date, weights.rustc, weights.cpu, weights.cpus
    );
    s.push_str("| crates | for | crates in the tree | release build from empty |\n");
    s.push_str("| --- | --- | ---: | ---: |\n");
    for set in &weights.sets {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.1} s |",
            set.crates
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", "),
            set.job,
            set.crates_in_tree,
            set.release_build_s
        );
    }
    s
}

/// The committed crate counts and versions against the lock file as it is:
/// each set's program is written again under `target/crate-weight-check`
/// and its tree counted. Returns one line per difference.
pub fn check_against_lock() -> Result<Vec<String>> {
    let weights = committed()?;
    let mut problems = Vec::new();
    if weights.sets.len() != SETS.len() {
        bail!(
            "crate-weight.json has {} sets, the tool {}: run `cargo xtask crate-weight`",
            weights.sets.len(),
            SETS.len()
        );
    }
    for (set, measured) in SETS.iter().zip(&weights.sets) {
        let dir = crate::cache_dir().join("crate-weight-check").join(set.name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        write_program(set, &dir)?;
        let (crates, own) = tree(set, &dir)?;
        if measured.name != set.name
            || measured.crates != own
            || measured.crates_in_tree != crates.len()
        {
            problems.push(format!(
                "{}: committed {:?} with {} crates, the lock file gives {:?} with {}",
                set.name,
                measured.crates,
                measured.crates_in_tree,
                own,
                crates.len()
            ));
        }
    }
    Ok(problems)
}
