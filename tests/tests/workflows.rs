//! The GitHub Pages workflow cannot run here, so this reads it: every
//! command it runs exists, its `cargo xtask` command is the tool's own and
//! the one the README documents, and it publishes the folder that command
//! writes.

// Test support: a failure here is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use std::process::Command;

use clap::Parser;
use xtask::book::Edition;
use xtask::cli::{Cli, Command as Subcommand};

const WORKFLOW: &str = ".github/workflows/pages.yml";

fn workflow() -> String {
    let path = xtask::workspace::root().join(WORKFLOW);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The shell lines of every `run:` of a workflow, in order: `run: cmd`, or
/// the lines of a `run: |` block (indented deeper than the key).
fn run_lines(yaml: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut block_indent = None;
    for line in yaml.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(key_indent) = block_indent {
            if line.trim().is_empty() || indent > key_indent {
                if !line.trim().is_empty() {
                    lines.push(line.trim().to_string());
                }
                continue;
            }
            block_indent = None;
        }
        let key = line.trim_start().trim_start_matches("- ");
        if let Some(command) = key.strip_prefix("run:") {
            match command.trim() {
                "|" => block_indent = Some(indent),
                one => lines.push(one.to_string()),
            }
        }
    }
    lines
}

/// The value of `name:` under an `env:` of the workflow.
fn env_value<'a>(yaml: &'a str, name: &str) -> &'a str {
    yaml.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{name}:")))
        .map(str::trim)
        .unwrap_or_else(|| panic!("{WORKFLOW} sets no {name}"))
}

#[test]
fn reads_run_lines_of_both_forms() {
    let yaml =
        "steps:\n  - run: |\n      a\n      b c\n  - name: x\n    run: d \"$E\"\n  - uses: y\n";
    assert_eq!(run_lines(yaml), ["a", "b c", "d \"$E\""]);
}

#[test]
fn the_pages_workflow_builds_the_site_as_the_readme_says() {
    let yaml = workflow();
    let lines = run_lines(&yaml);
    let xtask_lines: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("cargo xtask"))
        .collect();
    assert_eq!(xtask_lines.len(), 1, "one cargo xtask command: {lines:#?}");
    let line = xtask_lines[0];

    // The README shows the same line, with what SITE_PATH is.
    let readme = std::fs::read_to_string(xtask::workspace::root().join("README.md")).unwrap();
    assert!(
        readme.lines().any(|l| l.trim() == line),
        "the README does not document `{line}`, the command {WORKFLOW} runs"
    );

    // It parses as the tool's own `site` command, for a project site's path
    // and for a user site's root, the two values SITE_PATH takes.
    let site_path = env_value(&yaml, "SITE_PATH");
    assert!(
        site_path.contains("format('/{0}/', github.event.repository.name)")
            && site_path.contains("'.github.io') && '/'"),
        "SITE_PATH: {site_path}"
    );
    for path in ["/netlink-book/", "/"] {
        let words: Vec<String> = line
            .replace("\"$SITE_PATH\"", path)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let cli = Cli::try_parse_from(
            std::iter::once("cargo xtask".to_string()).chain(words.into_iter().skip(2)),
        )
        .unwrap_or_else(|e| panic!("`{line}` is not a command of the tool: {e}"));
        match cli.command {
            Subcommand::Site(args) => {
                assert_eq!(args.site_path, path);
                assert_eq!(args.edition, Edition::Full, "readers get the full edition");
            }
            _ => panic!("`{line}` is not `cargo xtask site`"),
        }
    }

    // What it uploads is what that command writes.
    let uploaded = yaml
        .split("actions/upload-pages-artifact@")
        .nth(1)
        .and_then(|rest| rest.lines().find_map(|l| l.trim().strip_prefix("path:")))
        .map(str::trim)
        .expect("the workflow uploads a Pages artifact with a path");
    let root = xtask::workspace::root();
    assert_eq!(
        root.join(uploaded),
        xtask::site::site_dir(&root, Edition::Full),
        "{WORKFLOW} uploads {uploaded}, not the folder `cargo xtask site` writes"
    );
    for action in [
        "actions/checkout@",
        "actions/upload-pages-artifact@",
        "actions/deploy-pages@",
    ] {
        assert!(yaml.contains(action), "{WORKFLOW} does not use {action}");
    }
}

#[test]
fn every_other_command_of_the_pages_workflow_exists() {
    let yaml = workflow();
    // The first step installs these itself, into the job's Debian 12.
    let installed = ["curl", "git"];
    for line in run_lines(&yaml)
        .iter()
        .filter(|l| !l.starts_with("cargo xtask"))
    {
        for command in line
            .split('|')
            .filter_map(|part| part.split_whitespace().next())
        {
            if installed.contains(&command) {
                continue;
            }
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {command}")])
                .output()
                .is_ok_and(|o| o.status.success());
            assert!(
                found,
                "{WORKFLOW} runs `{command}`, which Debian 12 does not have: {line}"
            );
        }
    }
}
