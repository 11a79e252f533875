//! What `{{#exercise NAME}}` and `{{#solution NAME}}` show: an exercise's
//! statement and code, or its solution's code, inlined into the page.

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::workspace;

/// The files an exercise page shows: for `exercise`, the statement, the
/// starter and what grades it; for `solution`, the solution's code.
pub(super) fn exercise_files(kind: &str, name: &str) -> Result<Vec<PathBuf>> {
    let root = workspace::root();
    let (base, wanted): (PathBuf, &[&str]) = match kind {
        "exercise" => (
            root.join("exercises").join(name),
            &["README.md", "src", "tests", "lab.toml", "c", "h"],
        ),
        _ => (root.join("solutions").join(name), &["src", "c", "h"]),
    };
    if !base.is_dir() {
        bail!("{{{{#{kind} {name}}}}}: no folder {}", base.display());
    }
    let mut files = Vec::new();
    for want in wanted {
        match *want {
            "src" | "tests" => {
                let dir = base.join(want);
                if dir.is_dir() {
                    let mut rs: Vec<PathBuf> = std::fs::read_dir(&dir)?
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
                        .collect();
                    rs.sort();
                    files.extend(rs);
                }
            }
            "c" | "h" => {
                let mut sources: Vec<PathBuf> = std::fs::read_dir(&base)?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == *want))
                    .collect();
                sources.sort();
                files.extend(sources);
            }
            file => {
                if base.join(file).is_file() {
                    files.push(base.join(file));
                }
            }
        }
    }
    if kind == "exercise" && !files.iter().any(|f| f.ends_with("README.md")) {
        bail!("exercises/{name} has no README.md statement");
    }
    Ok(files)
}

/// An exercise's (or solution's) files inlined: the statement as prose, each
/// code file in a block headed by its path.
pub(super) fn exercise_page(kind: &str, name: &str) -> Result<String> {
    let root = workspace::root();
    let mut page = String::new();
    for file in exercise_files(kind, name)? {
        let text = std::fs::read_to_string(&file)?;
        let shown = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        if file.ends_with("README.md") {
            // The page has its own title.
            let body = text
                .split_once('\n')
                .filter(|(first, _)| first.starts_with("# "))
                .map_or(text.as_str(), |(_, rest)| rest);
            page.push_str(body.trim());
            page.push_str("\n\n");
            continue;
        }
        let lang = match file.extension().and_then(|e| e.to_str()) {
            Some("rs") => "rust,noplayground",
            Some("c" | "h") => "c",
            Some("toml") => "toml",
            _ => "text",
        };
        page.push_str(&format!(
            "`{shown}`:\n\n```{lang}\n{}\n```\n\n",
            text.trim_end()
        ));
    }
    Ok(page)
}
