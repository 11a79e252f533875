//! The book: build it with mdBook as a library, serve it, and resolve its
//! `{{#include}}`, `{{#snapshot}}`, `{{#diagram}}`, `{{#kernel}}` and
//! `{{#kfn}}` directives.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, anyhow, bail};
use mdbook_driver::MDBook;
use mdbook_driver::book::{Book, BookItem};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};

use crate::{citations, diagram, http, workspace};

/// Builds the book of the workspace at `root`; returns the HTML directory.
pub fn build(root: &Path) -> Result<PathBuf> {
    let book_dir = root.join("book");
    let mut book = MDBook::load(&book_dir)
        .map_err(|e| anyhow!("{e:#}"))
        .with_context(|| format!("loading the book at {}", book_dir.display()))?;
    book.with_preprocessor(SnapshotPreprocessor);
    book.build()
        .map_err(|e| anyhow!("{e:#}"))
        .context("building the book")?;
    Ok(book.build_dir_for("html"))
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 3000)]
    port: u16,
}

/// Builds, serves on 127.0.0.1 and rebuilds when anything the book shows
/// changes (its pages, the code and the snapshots it includes).
pub fn serve(args: &ServeArgs) -> Result<()> {
    let root = workspace::root();
    let html = build(&root)?;
    let watched: Vec<PathBuf> = [
        "book/src",
        "book/book.toml",
        "chapters",
        "kmod",
        "exercises",
        "solutions",
        "tests/snapshots",
    ]
    .iter()
    .map(|p| root.join(p))
    .collect();
    let watch_root = root.clone();
    // Bumped after each rebuild; open pages poll it and reload themselves.
    let generation = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let bump = generation.clone();
    std::thread::spawn(move || {
        let mut last = newest_mtime(&watched);
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let now = newest_mtime(&watched);
            if now > last {
                last = now;
                match build(&watch_root) {
                    Ok(_) => {
                        bump.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        println!("rebuilt: open pages reload themselves");
                    }
                    Err(err) => eprintln!("rebuild failed: {err:#}"),
                }
            }
        }
    });
    let served = generation.clone();
    let server = http::Server::start(args.port, move |url| {
        if url == "/__generation" {
            let n = served.load(std::sync::atomic::Ordering::SeqCst);
            return Some((n.to_string().into_bytes(), "text/plain"));
        }
        static_file(&html, url).map(|(bytes, mime)| match mime.starts_with("text/html") {
            true => (with_reload_script(bytes), mime),
            false => (bytes, mime),
        })
    })?;
    println!("serving the book at {}/ (Ctrl-C stops)", server.origin());
    server.wait();
    Ok(())
}

/// Served pages (never the built files) poll for a newer build.
fn with_reload_script(html: Vec<u8>) -> Vec<u8> {
    const SCRIPT: &str = "<script>(function(){var seen=null;setInterval(function(){\
fetch('/__generation').then(function(r){return r.text();}).then(function(g){\
if(seen!==null&&g!==seen){location.reload();}seen=g;}).catch(function(){});},1000);})();</script>";
    let text = String::from_utf8_lossy(&html);
    match text.rfind("</body>") {
        Some(at) => format!("{}{SCRIPT}{}", &text[..at], &text[at..]).into_bytes(),
        None => html,
    }
}

/// Reads the file an URL names inside `dir`; refuses paths that leave it.
pub(crate) fn static_file(dir: &Path, url: &str) -> Option<(Vec<u8>, &'static str)> {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    let mut file = dir.to_path_buf();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        if part == ".." || part.contains('\\') {
            return None;
        }
        file.push(percent_decode(part));
    }
    if file.is_dir() {
        file.push("index.html");
    }
    let bytes = std::fs::read(&file).ok()?;
    let mime = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        Some("js") => "application/javascript",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("ttf") => "font/ttf",
        _ => "application/octet-stream",
    };
    Some((bytes, mime))
}

pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn newest_mtime(paths: &[PathBuf]) -> SystemTime {
    fn walk(path: &Path, newest: &mut SystemTime) {
        if path.file_name().is_some_and(|n| n == "target") {
            return;
        }
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        if let Ok(m) = meta.modified() {
            *newest = (*newest).max(m);
        }
        if meta.is_dir()
            && let Ok(entries) = std::fs::read_dir(path)
        {
            for entry in entries.flatten() {
                walk(&entry.path(), newest);
            }
        }
    }
    let mut newest = SystemTime::UNIX_EPOCH;
    for p in paths {
        walk(p, &mut newest);
    }
    newest
}

/// A `{{#kind target}}` directive found in a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// `include`, `rustdoc_include`, `snapshot`, `exercise`, `solution`,
    /// `diagram`, `kernel` (a quoted kernel snippet) or `kfn` (a link to a
    /// kernel function).
    pub kind: String,
    /// The file, relative to the page's directory (for `exercise` and
    /// `solution` the exercise's name; for `kernel` and `kfn` the name of an
    /// entry of the citation index).
    pub path: PathBuf,
    /// `:anchor` or `:from:to` after the path, if any.
    pub selector: Option<String>,
    /// Byte range of the whole directive in the page.
    pub span: std::ops::Range<usize>,
}

/// Every directive in `text`, in order.
pub fn directives(text: &str) -> Vec<Directive> {
    let re = regex::Regex::new(
        r"\{\{#(include|rustdoc_include|snapshot|exercise|solution|diagram|kernel|kfn)\s+([^}\s]+)\s*\}\}",
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
            return diagram::render(&page_dir.join(&d.path))
                .map(|_| ())
                .with_context(|| format!("{{{{#diagram {}}}}}", d.path.display()));
        }
        "kernel" | "kfn" => {
            return citations::expand(&d.kind, &d.path.to_string_lossy()).map(|_| ());
        }
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
        snapshot_body(&text)
            .with_context(|| format!("{} is not an insta snapshot", file.display()))?;
    }
    Ok(())
}

/// The body of an insta `.snap` file: what follows its front matter.
pub fn snapshot_body(text: &str) -> Result<&str> {
    let rest = text.strip_prefix("---\n").context("no front matter")?;
    let end = rest.find("\n---\n").context("front matter not closed")?;
    Ok(&rest[end + 5..])
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

/// Output pasted into a page instead of shown from the snapshot that
/// verified it. A fenced block (no language, `text`, `console`, `sh`,
/// `shell` or `bash`) is output when a line of it
///
/// - carries a kernel log time stamp (`[    1.234567] ...`),
/// - is a prompt (`$ cmd`, `# cmd`) followed by a line that is not, or
/// - starts the way the book's programs report (`ch05-sa-monitor: ...`).
///
/// Commands to type are not output. A block whose info string says
/// `asserted` is allowed when a test under `chapters/*/tests` asserts its
/// text (for output a snapshot cannot hold, such as what differs by host).
pub fn pasted_output(root: &Path) -> Result<Vec<String>> {
    let mut pages = BTreeMap::new();
    collect_markdown(&root.join("book/src"), &mut pages)?;
    let tests = asserted_test_text(root)?;
    let mut problems = Vec::new();
    for (page, text) in &pages {
        for (line_no, info, body) in fenced_blocks(text) {
            let language = info.split(',').next().unwrap_or("").trim();
            if !matches!(language, "" | "text" | "console" | "sh" | "shell" | "bash") {
                continue;
            }
            let Some(why) = looks_like_output(&body) else {
                continue;
            };
            if info.split(',').any(|w| w.trim() == "asserted") {
                let missing = body
                    .iter()
                    .find(|l| !l.trim().is_empty() && !tests.contains(l.trim()));
                if let Some(line) = missing {
                    problems.push(format!(
                        "{}:{line_no}: marked `asserted`, but no test under chapters/*/tests asserts {line:?}",
                        page.display()
                    ));
                }
                continue;
            }
            problems.push(format!(
                "{}:{line_no}: a pasted output block ({why}): show the snapshot that verified it with {{{{#snapshot}}}}",
                page.display()
            ));
        }
    }
    Ok(problems)
}

/// Why `lines` look like a program's output, if they do.
pub fn looks_like_output(lines: &[&str]) -> Option<&'static str> {
    let dmesg = regex::Regex::new(r"^\s*\[\s*\d+\.\d+\]")
        .unwrap_or_else(|e| unreachable!("constant regex: {e}"));
    let program = regex::Regex::new(r"^ch\d\d-[a-z0-9-]+: ")
        .unwrap_or_else(|e| unreachable!("constant regex: {e}"));
    let is_prompt = |l: &str| l.starts_with("$ ") || l.starts_with("# ");
    if lines.iter().any(|l| dmesg.is_match(l)) {
        return Some("kernel log lines");
    }
    if lines.iter().any(|l| program.is_match(l)) {
        return Some("a program's message");
    }
    let prompt_then_output = lines
        .windows(2)
        .any(|w| is_prompt(w[0]) && !w[1].trim().is_empty() && !is_prompt(w[1]));
    prompt_then_output.then_some("a prompt followed by output")
}

/// Each fenced block of a page: its first line's number, its info string
/// and its lines.
fn fenced_blocks(text: &str) -> Vec<(usize, String, Vec<&str>)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String, Vec<&str>)> = None;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match open.as_mut() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some((n + 1, info.trim().to_string(), Vec::new()));
                }
            }
            Some((_, _, body)) => {
                if trimmed.starts_with("```") {
                    blocks.extend(open.take());
                } else {
                    body.push(line);
                }
            }
        }
    }
    blocks
}

/// The text of the chapters' tests, with Rust's `\` line continuations
/// joined, so an asserted string can be looked up line by line.
fn asserted_test_text(root: &Path) -> Result<String> {
    let mut text = String::new();
    for chapter in std::fs::read_dir(root.join("chapters"))? {
        let tests = chapter?.path().join("tests");
        let Ok(entries) = std::fs::read_dir(&tests) else {
            continue;
        };
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "rs") {
                text.push_str(&std::fs::read_to_string(&path)?);
            }
        }
    }
    let continuation =
        regex::Regex::new(r"\\\n\s*").unwrap_or_else(|e| unreachable!("constant regex: {e}"));
    Ok(continuation.replace_all(&text, "").into_owned())
}

fn is_code(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "rs" | "c" | "h" | "toml" | "sh" | "config"))
}

/// Whether byte `at` of a page lies inside a fenced code block.
fn inside_fence(text: &str, at: usize) -> bool {
    text[..at]
        .lines()
        .filter(|l| l.trim_start().starts_with("```"))
        .count()
        % 2
        == 1
}

fn collect_markdown(dir: &Path, pages: &mut BTreeMap<PathBuf, String>) -> Result<()> {
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

/// Replaces `{{#snapshot path}}` with the snapshot's body as a terminal block,
/// so a page shows exactly the output the tests verified.
struct SnapshotPreprocessor;

impl Preprocessor for SnapshotPreprocessor {
    fn name(&self) -> &str {
        "snapshot"
    }

    fn run(
        &self,
        ctx: &PreprocessorContext,
        mut book: Book,
    ) -> mdbook_preprocessor::errors::Result<Book> {
        let src = ctx.root.join(&ctx.config.book.src);
        let mut failure = None;
        book.for_each_mut(|item| {
            let BookItem::Chapter(chapter) = item else {
                return;
            };
            let Some(source) = &chapter.source_path else {
                return;
            };
            let dir = src
                .join(source)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| src.clone());
            match expand_snapshots(&dir, &chapter.content) {
                Ok(text) => chapter.content = text,
                Err(e) => failure = Some(e.context(format!("in {}", source.display()))),
            }
        });
        match failure {
            Some(e) => Err(e),
            None => Ok(book),
        }
    }
}

/// Expands every directive mdBook does not know itself: `{{#snapshot}}`,
/// `{{#exercise}}`, `{{#solution}}`, `{{#diagram}}`, `{{#kernel}}`, `{{#kfn}}`.
pub fn expand_snapshots(page_dir: &Path, content: &str) -> Result<String> {
    let mut out = String::with_capacity(content.len());
    let mut last = 0;
    for d in directives(content)
        .into_iter()
        .filter(|d| !matches!(d.kind.as_str(), "include" | "rustdoc_include"))
    {
        check_directive(page_dir, &d)?;
        out.push_str(&content[last..d.span.start]);
        let expanded_from = out.len();
        match d.kind.as_str() {
            "snapshot" => {
                let text = std::fs::read_to_string(page_dir.join(&d.path))?;
                out.push_str("```text\n");
                out.push_str(snapshot_body(&text)?.trim_end());
                out.push_str("\n```");
            }
            "diagram" => {
                out.push_str(&diagram::figure_html(&diagram::render(
                    &page_dir.join(&d.path),
                )?));
            }
            "kernel" | "kfn" => {
                out.push_str(&citations::expand(&d.kind, &d.path.to_string_lossy())?);
            }
            _ => out.push_str(&exercise_page(&d.kind, &d.path.to_string_lossy())?),
        }
        // A directive indented inside a list item keeps every line it
        // expands to in that item.
        let line_start = content[..d.span.start].rfind('\n').map_or(0, |at| at + 1);
        let indent = &content[line_start..d.span.start];
        if !indent.is_empty() && indent.trim().is_empty() {
            let expansion = out.split_off(expanded_from);
            out.push_str(&expansion.replace('\n', &format!("\n{indent}")));
        }
        last = d.span.end;
    }
    out.push_str(&content[last..]);
    Ok(out)
}

/// The files an exercise page shows: for `exercise`, the statement, the
/// starter and what grades it; for `solution`, the solution's code.
fn exercise_files(kind: &str, name: &str) -> Result<Vec<PathBuf>> {
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
fn exercise_page(kind: &str, name: &str) -> Result<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_directives_with_anchors_and_ranges() {
        let c_file = "/* ANCHOR: input */\nint x;\n/* ANCHOR_END: input */\n";
        let dir = std::env::temp_dir().join(format!("nlbook-anchor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("m.c"), c_file).unwrap();
        assert!(check_directive(&dir, &directives("{{#include m.c:input}}")[0]).is_ok());
        assert!(check_directive(&dir, &directives("{{#include m.c:inp}}")[0]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
        let page = "a {{#include ../x.rs:main}} b {{#snapshot s/y.snap}} {{#include z.c:3:9}}";
        let found = directives(page);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].path, PathBuf::from("../x.rs"));
        assert_eq!(found[0].selector.as_deref(), Some("main"));
        assert_eq!(found[1].kind, "snapshot");
        assert_eq!(found[2].selector.as_deref(), Some("3:9"));
    }

    #[test]
    fn an_indented_directive_stays_in_its_list_item() {
        let page = "- an item:\n\n  {{#kernel MAX_LINKS}}\n";
        let out = expand_snapshots(Path::new("."), page).unwrap();
        assert!(out.contains("\n  ```c\n  #define MAX_LINKS"), "{out}");
        assert!(out.contains("\n  <p class=\"kernel-source\">"), "{out}");
    }

    #[test]
    fn knows_when_an_include_is_fenced() {
        let page = "text\n```rust\n{{#include a.rs}}\n```\n{{#include b.rs}}\n";
        let found = directives(page);
        assert!(inside_fence(page, found[0].span.start));
        assert!(!inside_fence(page, found[1].span.start));
    }

    #[test]
    fn snapshot_body_skips_front_matter() {
        let snap = "---\nsource: x\nexpression: y\n---\nline 1\nline 2\n";
        assert_eq!(snapshot_body(snap).unwrap(), "line 1\nline 2\n");
        assert!(snapshot_body("no front matter").is_err());
    }

    #[test]
    fn served_pages_poll_for_rebuilds() {
        let page = with_reload_script(b"<html><body>x</body></html>".to_vec());
        let page = String::from_utf8(page).unwrap();
        assert!(page.contains("/__generation") && page.ends_with("</script></body></html>"));
        assert_eq!(with_reload_script(b"no body".to_vec()), b"no body");
    }

    #[test]
    fn static_files_never_leave_the_book() {
        let dir = std::env::temp_dir();
        assert!(static_file(&dir, "/../etc/passwd").is_none());
        assert_eq!(percent_decode("a%20b"), "a b");
    }
}
