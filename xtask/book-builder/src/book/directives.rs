//! The book's `{{#kind target}}` directives: finding them in a page and
//! checking that what each names exists.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::exercise_pages::exercise_files;
use crate::{citations, diagram, kernel_pins};

/// A `{{#kind target}}` directive found in a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// `include`, `rustdoc_include`, `snapshot`, `exercise`, `solution`,
    /// `diagram`, `kernel` (a quoted kernel snippet), `kfn` (a link to a
    /// kernel function) or `pinned` (a pinned kernel's version).
    pub kind: String,
    /// The file, relative to the page's directory (for `exercise` and
    /// `solution` the exercise's name; for `kernel` and `kfn` the name of an
    /// entry of the citation index; for `pinned` a kernel of the lab).
    pub path: PathBuf,
    /// `:anchor` or `:from:to` after the path, if any.
    pub selector: Option<String>,
    /// Byte range of the whole directive in the page.
    pub span: std::ops::Range<usize>,
}

/// Every directive in `text`, in order.
pub fn directives(text: &str) -> Vec<Directive> {
    let re = regex::Regex::new(
        r"\{\{#(include|rustdoc_include|snapshot|exercise|solution|diagram|kernel|kfn|pinned)\s+([^}\s]+)\s*\}\}",
    )
    .unwrap_or_else(|e| unreachable!("constant regex: {e}"));
    re.captures_iter(text)
        .filter_map(|c| {
            let whole = c.get(0)?;
            let kind = c.get(1)?.as_str().to_string();
            let target = c.get(2)?.as_str();
            let (path, selector) = match target.split_once(':') {
                Some((p, sel)) => (p, Some(sel.to_string())),
                None => (target, None),
            };
            Some(Directive {
                kind,
                path: PathBuf::from(path),
                selector,
                span: whole.range(),
            })
        })
        .collect()
}

/// Checks that a directive's file exists and, for a named anchor, that the
/// file defines `ANCHOR: name` and `ANCHOR_END: name`.
pub fn check_directive(page_dir: &Path, d: &Directive) -> Result<()> {
    match d.kind.as_str() {
        "exercise" | "solution" => {
            return exercise_files(&d.kind, &d.path.to_string_lossy()).map(|_| ());
        }
        "diagram" => {
            return diagram::load(&page_dir.join(&d.path))
                .map(|_| ())
                .with_context(|| format!("{{{{#diagram {}}}}}", d.path.display()));
        }
        "kernel" | "kfn" => {
            return citations::expand(&d.kind, &d.path.to_string_lossy()).map(|_| ());
        }
        "pinned" => return kernel_pins::expand(&d.path.to_string_lossy()).map(|_| ()),
        _ => {}
    }
    let file = page_dir.join(&d.path);
    let text = std::fs::read_to_string(&file).with_context(|| {
        format!(
            "{{{{#{} {}}}}}: cannot read {}",
            d.kind,
            d.path.display(),
            file.display()
        )
    })?;
    if let Some(sel) = &d.selector {
        let is_range = sel
            .split(':')
            .all(|p| p.is_empty() || p.parse::<usize>().is_ok());
        if !is_range {
            // As mdBook reads anchors: anywhere in a line, in any comment style.
            let has = |marker: &str| {
                text.lines().any(|l| {
                    l.split(marker).nth(1).and_then(|rest| {
                        rest.trim_start()
                            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
                            .next()
                    }) == Some(sel.as_str())
                })
            };
            if !has("ANCHOR:") || !has("ANCHOR_END:") {
                bail!(
                    "{}: anchor `{sel}` not found (need `ANCHOR: {sel}` and `ANCHOR_END: {sel}`)",
                    file.display()
                );
            }
        }
    }
    if d.kind == "snapshot" {
        let body = snapshot_body(&text)
            .with_context(|| format!("{} is not an insta snapshot", file.display()))?;
        if let Some(sel) = &d.selector {
            snapshot_lines(body, sel).with_context(|| file.display().to_string())?;
        }
    }
    Ok(())
}

/// Lines `FROM:TO` (from 1, both included) of a snapshot's body, for a
/// page that shows part of an output: `{{#snapshot file.snap:7:9}}`.
/// Counting in the body, not the file, keeps the numbers those of the
/// output as the reader sees it.
pub fn snapshot_lines<'a>(body: &'a str, selector: &str) -> Result<Vec<&'a str>> {
    let (from, to) = selector
        .split_once(':')
        .and_then(|(f, t)| Some((f.parse::<usize>().ok()?, t.parse::<usize>().ok()?)))
        .with_context(|| format!("`:{selector}`: a snapshot takes lines as `:FROM:TO`"))?;
    let lines: Vec<&str> = body.lines().collect();
    match lines.get(from.saturating_sub(1)..to) {
        Some(part) if from > 0 && !part.is_empty() => Ok(part.to_vec()),
        _ => bail!(
            "lines {from} to {to} of a snapshot output of {} lines",
            lines.len()
        ),
    }
}

/// The body of an insta `.snap` file: what follows its front matter.
pub fn snapshot_body(text: &str) -> Result<&str> {
    let rest = text.strip_prefix("---\n").context("no front matter")?;
    let (_, body) = rest
        .split_once("\n---\n")
        .context("front matter not closed")?;
    Ok(body)
}

/// Every page of the book with the problems of its directives.
pub fn check_all_directives(root: &Path) -> Result<usize> {
    let src = root.join("book/src");
    let mut pages = BTreeMap::new();
    collect_markdown(&src, &mut pages)?;
    let mut problems = Vec::new();
    let mut count = 0;
    for (page, text) in &pages {
        let dir = page.parent().unwrap_or(&src);
        for d in directives(text) {
            count += 1;
            if let Err(e) = check_directive(dir, &d) {
                problems.push(format!("{}: {e:#}", page.display()));
            }
            let expands_to_a_block_or_link =
                matches!(d.kind.as_str(), "diagram" | "kernel" | "kfn");
            if expands_to_a_block_or_link && inside_fence(text, d.span.start) {
                problems.push(format!(
                    "{}: {{{{#{} {}}}}} inside a ``` block would show as code, not as its expansion",
                    page.display(),
                    d.kind,
                    d.path.display()
                ));
            }
            if d.kind != "snapshot" && is_code(&d.path) && !inside_fence(text, d.span.start) {
                problems.push(format!(
                    "{}: {{{{#{} {}}}}} includes code outside a ``` block: it would render as prose",
                    page.display(),
                    d.kind,
                    d.path.display()
                ));
            }
        }
    }
    if !problems.is_empty() {
        bail!(
            "{} broken directive(s):\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
    Ok(count)
}

fn is_code(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "rs" | "c" | "h" | "toml" | "sh" | "config"))
}

/// Whether byte `at` of a page lies inside a fenced code block.
fn inside_fence(text: &str, at: usize) -> bool {
    text.get(..at)
        .unwrap_or(text)
        .lines()
        .filter(|l| l.trim_start().starts_with("```"))
        .count()
        % 2
        == 1
}

/// Every Markdown page under `dir`, with its text.
pub fn collect_markdown(dir: &Path, pages: &mut BTreeMap<PathBuf, String>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_markdown(&path, pages)?;
        } else if path.extension().is_some_and(|e| e == "md") {
            let text = std::fs::read_to_string(&path)?;
            pages.insert(path, text);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_directives_with_anchors_and_ranges() {
        let c_file = "/* ANCHOR: input */\nint x;\n/* ANCHOR_END: input */\n";
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.c"), c_file).unwrap();
        assert!(check_directive(dir.path(), &directives("{{#include m.c:input}}")[0]).is_ok());
        assert!(check_directive(dir.path(), &directives("{{#include m.c:inp}}")[0]).is_err());
        let page = "a {{#include ../x.rs:main}} b {{#snapshot s/y.snap}} {{#include z.c:3:9}}";
        let found = directives(page);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].path, PathBuf::from("../x.rs"));
        assert_eq!(found[0].selector.as_deref(), Some("main"));
        assert_eq!(found[1].kind, "snapshot");
        assert_eq!(found[2].selector.as_deref(), Some("3:9"));
    }

    #[test]
    fn knows_when_an_include_is_fenced() {
        let page = "text\n```rust\n{{#include a.rs}}\n```\n{{#include b.rs}}\n";
        let found = directives(page);
        assert!(inside_fence(page, found[0].span.start));
        assert!(!inside_fence(page, found[1].span.start));
    }

    #[test]
    fn snapshot_lines_count_in_the_output() {
        let body = "$ prog\none\ntwo\nthree\n";
        assert_eq!(snapshot_lines(body, "2:3").unwrap(), ["one", "two"]);
        assert!(snapshot_lines(body, "0:2").is_err());
        assert!(snapshot_lines(body, "3:2").is_err());
        assert!(snapshot_lines(body, "2:9").is_err());
        assert!(snapshot_lines(body, "tick").is_err());
    }

    #[test]
    fn snapshot_body_skips_front_matter() {
        let snap = "---\nsource: x\nexpression: y\n---\nline 1\nline 2\n";
        assert_eq!(snapshot_body(snap).unwrap(), "line 1\nline 2\n");
        assert!(snapshot_body("no front matter").is_err());
        assert!(snapshot_body("---\nsource: x\n").is_err());
    }
}
