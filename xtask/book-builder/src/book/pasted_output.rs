//! Output pasted into a page instead of shown from the snapshot that
//! verified it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use super::directives::collect_markdown;

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
    let prompt_then_output = lines.windows(2).any(|w| match w {
        [line, next] => is_prompt(line) && !next.trim().is_empty() && !is_prompt(next),
        _ => false,
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_fenced_blocks_with_their_info_and_first_line() {
        let page = "prose\n```text,asserted\n$ ls\nfile\n```\n\n```\nx\n```\n";
        let blocks = fenced_blocks(page);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0], (2, "text,asserted".into(), vec!["$ ls", "file"]));
        assert_eq!(blocks[1], (7, String::new(), vec!["x"]));
        assert_eq!(
            looks_like_output(&blocks[0].2),
            Some("a prompt followed by output")
        );
        assert_eq!(looks_like_output(&blocks[1].2), None);
    }
}
