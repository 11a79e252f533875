//! Checking the kernel citations (`book/src/kernel/citations.toml`) against
//! the real tree (Debian's linux-source-6.1, the debug kernel's source), and
//! `--update`, which rewrites their line numbers after a version bump. How
//! pages show them is the book builder's part
//! ([`book_builder::citations`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::workspace;

pub use book_builder::citations::{DEFAULT_TREE, INDEX, Index, Location, Snippet, TREES, expand};

/// A snippet longer than this is no longer a short quote.
const MAX_SNIPPET_LINES: usize = 30;

/// Whether line `at` (0-based) of `lines` starts the definition of `name`:
/// a function (its return type may sit on the line before) or a
/// function-like macro, not a declaration.
fn defines(lines: &[&str], at: usize, name: &str) -> bool {
    let Some(line) = lines.get(at) else {
        return false;
    };
    if line.starts_with(char::is_whitespace)
        || line.starts_with("/*")
        || line.starts_with('*')
        || line.starts_with("//")
        || line.starts_with("EXPORT_SYMBOL")
    {
        return false;
    }
    if let Some(rest) = line.strip_prefix("#define") {
        return rest.trim_start().starts_with(&format!("{name}("));
    }
    let Some(pos) = line.find(&format!("{name}(")) else {
        return false;
    };
    let before = &line[..pos];
    let starts_a_word = before
        .chars()
        .last()
        .is_none_or(|c| c.is_whitespace() || c == '*');
    if !starts_a_word || before.contains(['(', '=', ';']) {
        return false;
    }
    // A definition reaches `{` before any `;`.
    let rest: String = lines
        .get(at..)
        .unwrap_or_default()
        .iter()
        .take(40)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    match (rest.find('{'), rest.find(';')) {
        (Some(brace), Some(semicolon)) => brace < semicolon,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The first definition of `name` in a source file (1-based line).
fn find_definition(source: &str, name: &str) -> Option<usize> {
    let lines: Vec<&str> = source.lines().collect();
    (0..lines.len())
        .find(|&at| defines(&lines, at, name))
        .map(|at| at + 1)
}

/// The snippet's parts between its `...` lines.
fn segments(code: &str) -> Vec<Vec<&str>> {
    let mut parts = vec![Vec::new()];
    for line in code.trim_end_matches('\n').lines() {
        if line.trim() == "..." {
            parts.push(Vec::new());
        } else if let Some(last) = parts.last_mut() {
            last.push(line);
        }
    }
    parts.retain(|p| !p.is_empty());
    parts
}

/// Checks that the snippet's first part is the source from `line` on and
/// each further part follows, in order.
fn check_snippet(source: &str, snippet: &Snippet) -> Result<()> {
    let lines: Vec<&str> = source.lines().collect();
    let parts = segments(&snippet.code);
    let shown = snippet.code.lines().count();
    if parts.is_empty() {
        bail!("the snippet quotes nothing");
    }
    if shown > MAX_SNIPPET_LINES {
        bail!("{shown} lines: quote at most {MAX_SNIPPET_LINES} (leave lines out with `...`)");
    }
    let matches_at = |part: &[&str], at: usize| {
        lines
            .get(at..at + part.len())
            .is_some_and(|window| window == part)
    };
    let mut next = snippet.line.saturating_sub(1);
    for (n, part) in parts.iter().enumerate() {
        if n == 0 {
            if !matches_at(part, next) {
                let actual = lines.get(next).copied().unwrap_or("(past the end)");
                bail!(
                    "line {} is {actual:?}, the snippet starts {:?}",
                    snippet.line,
                    part.first().copied().unwrap_or_default()
                );
            }
        } else {
            next = (next..lines.len())
                .find(|&at| matches_at(part, at))
                .with_context(|| {
                    format!(
                        "part {} (from {:?}) is not in the source after line {}",
                        n + 1,
                        part.first().copied().unwrap_or_default(),
                        next
                    )
                })?;
        }
        next += part.len();
    }
    Ok(())
}

/// Where the snippet's first part starts in the source (1-based), if it is
/// there exactly once.
fn locate_snippet(source: &str, snippet: &Snippet) -> Result<usize> {
    let lines: Vec<&str> = source.lines().collect();
    let parts = segments(&snippet.code);
    let first = parts.first().context("the snippet quotes nothing")?;
    let found: Vec<usize> = (0..lines.len())
        .filter(|&at| lines.get(at..at + first.len()) == Some(first.as_slice()))
        .collect();
    match found.as_slice() {
        [one] => Ok(one + 1),
        [] => bail!("its first lines are not in the source"),
        _ => {
            // Several places: keep the recorded one if it is among them.
            if found.contains(&(snippet.line.saturating_sub(1))) {
                Ok(snippet.line)
            } else {
                bail!(
                    "its first lines occur {} times; quote more of them",
                    found.len()
                )
            }
        }
    }
}

/// The version a kernel tree's Makefile names, e.g. `6.1.192`.
pub fn tree_version(tree: &Path) -> Result<String> {
    let makefile = std::fs::read_to_string(tree.join("Makefile"))
        .with_context(|| format!("{} is not a kernel tree", tree.display()))?;
    let field = |name: &str| {
        makefile
            .lines()
            .find_map(|l| {
                l.strip_prefix(name)?
                    .trim()
                    .strip_prefix('=')
                    .map(str::trim)
            })
            .with_context(|| format!("no {name} in the kernel's Makefile"))
    };
    Ok(format!(
        "{}.{}.{}",
        field("VERSION")?,
        field("PATCHLEVEL")?,
        field("SUBLEVEL")?
    ))
}

/// Every disagreement between the index and the tree; empty when it is true.
pub fn verify(index: &Index, tree: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let version = tree_version(tree)?;
    if version != index.version {
        problems.push(format!(
            "the index is for {}, the tree is {version}",
            index.version
        ));
    }
    let mut sources = Sources::new(tree);
    for (name, at) in &index.functions {
        let source = sources.get(&at.path)?;
        let lines: Vec<&str> = source.lines().collect();
        if !defines(&lines, at.line - 1, name) {
            let actual = find_definition(source, name)
                .map_or("is not defined there".to_string(), |l| {
                    format!("is defined at line {l}")
                });
            problems.push(format!(
                "[fn] {name}: {}:{} is not its definition; it {actual}",
                at.path, at.line
            ));
        }
    }
    for (name, snippet) in &index.snippets {
        let source = sources.get(&snippet.path)?;
        if let Err(e) = check_snippet(source, snippet) {
            problems.push(format!("[snippet.{name}] {}: {e:#}", snippet.path));
        }
    }
    Ok(problems)
}

/// The index's text with every line number recomputed from the tree (and
/// the version the tree's); fails on what cannot be found.
pub fn update(text: &str, tree: &Path) -> Result<String> {
    let index = Index::parse(text)?;
    let mut sources = Sources::new(tree);
    let mut lines_of = BTreeMap::new();
    for (name, at) in &index.functions {
        let line = find_definition(sources.get(&at.path)?, name)
            .with_context(|| format!("[fn] {name}: no definition in {}", at.path))?;
        lines_of.insert(format!("fn.{name}"), line);
    }
    for (name, snippet) in &index.snippets {
        let line = locate_snippet(sources.get(&snippet.path)?, snippet)
            .with_context(|| format!("[snippet.{name}] in {}", snippet.path))?;
        lines_of.insert(format!("snippet.{name}"), line);
    }
    let fn_line = regex::Regex::new(r#"^([A-Za-z0-9_]+) = \{ path = "([^"]+)", line = \d+ \}$"#)
        .unwrap_or_else(|e| unreachable!("constant regex: {e}"));
    let mut section = String::new();
    let mut in_code = false;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut replaced = line.to_string();
        // Quoted code is never rewritten: a `'''` opens or closes it.
        let toggles = line.matches("'''").count() % 2 == 1;
        if !in_code && !toggles {
            if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = header.to_string();
            } else if section == "fn"
                && let Some(c) = fn_line.captures(line)
                && let Some(n) = lines_of.get(&format!("fn.{}", &c[1]))
            {
                replaced = format!("{} = {{ path = \"{}\", line = {n} }}", &c[1], &c[2]);
            } else if line.starts_with("line = ")
                && let Some(n) = lines_of.get(&section)
            {
                replaced = format!("line = {n}");
            } else if line.starts_with("version = ") && section.is_empty() {
                replaced = format!("version = \"{}\"", tree_version(tree)?);
            }
        }
        if toggles {
            in_code = !in_code;
        }
        out.push_str(&replaced);
        out.push('\n');
    }
    Index::parse(&out).context("the updated index does not parse")?;
    Ok(out)
}

/// Kernel source files, read once each.
struct Sources<'a> {
    tree: &'a Path,
    read: BTreeMap<String, String>,
}

impl<'a> Sources<'a> {
    fn new(tree: &'a Path) -> Self {
        Self {
            tree,
            read: BTreeMap::new(),
        }
    }

    fn get(&mut self, path: &str) -> Result<&str> {
        if !self.read.contains_key(path) {
            let file: PathBuf = self.tree.join(path);
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {} in the kernel tree", file.display()))?;
            self.read.insert(path.to_string(), text);
        }
        Ok(self.read.get(path).map(String::as_str).unwrap_or_default())
    }
}

#[derive(clap::Args)]
pub struct CitationsArgs {
    /// Rewrite the index's line numbers (and version) from the tree instead
    /// of checking them.
    #[arg(long)]
    update: bool,
    /// A kernel tree to use instead of the lab's linux-source-6.1 (then only
    /// the 6.1 citations are checked).
    #[arg(long)]
    tree: Option<PathBuf>,
}

/// `cargo xtask citations`: checks (or updates) the index against the tree.
pub fn run(args: &CitationsArgs) -> Result<()> {
    let (checked, problems) = check_or_update(args.tree.as_deref(), args.update)?;
    if !problems.is_empty() {
        bail!(
            "{} kernel citation(s) disagree with the source:\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
    println!("{checked} kernel citations match the source");
    Ok(())
}

/// Returns how many entries were checked and what disagrees, over every
/// cited tree (only the default one when `tree` names a tree to use).
pub fn check_or_update(tree: Option<&Path>, update_first: bool) -> Result<(usize, Vec<String>)> {
    let mut checked = 0;
    let mut problems = Vec::new();
    for (name, index_file) in TREES {
        let source = match tree {
            Some(t) if *name == DEFAULT_TREE => t.to_path_buf(),
            Some(_) => continue,
            None => crate::lab::kernels::cited_source_tree(name, &crate::cache_dir())?,
        };
        let file = workspace::root().join(index_file);
        if update_first {
            let text = std::fs::read_to_string(&file)?;
            std::fs::write(&file, update(&text, &source)?)?;
            println!("updated {}", file.display());
        }
        let index = Index::load_tree(name)?;
        checked += index.functions.len() + index.snippets.len();
        problems.extend(
            verify(&index, &source)?
                .into_iter()
                .map(|p| format!("{index_file}: {p}")),
        );
    }
    Ok((checked, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "\
static void
netlink_update_subscriptions(struct sock *sk, unsigned int subscriptions)
{
\tstruct netlink_sock *nlk = nlk_sk(sk);

\tif (nlk->subscriptions && !subscriptions)
\t\t__sk_del_bind_node(sk);
\tnlk->subscriptions = subscriptions;
}

int netlink_has_listeners(struct sock *sk, unsigned int group);
int netlink_has_listeners(struct sock *sk, unsigned int group)
{
\treturn 0;
}
EXPORT_SYMBOL_GPL(netlink_has_listeners);
#define nlk_sk(sk) container_of(sk, struct netlink_sock, sk)
";

    fn tree() -> tempfile::TempDir {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path();
        std::fs::create_dir_all(dir.join("net")).unwrap();
        std::fs::write(dir.join("net/a.c"), SOURCE).unwrap();
        std::fs::write(
            dir.join("Makefile"),
            "VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 9\nEXTRAVERSION =\n",
        )
        .unwrap();
        scratch
    }

    #[test]
    fn finds_definitions_not_declarations() {
        assert_eq!(
            find_definition(SOURCE, "netlink_update_subscriptions"),
            Some(2)
        );
        assert_eq!(find_definition(SOURCE, "netlink_has_listeners"), Some(12));
        assert_eq!(find_definition(SOURCE, "nlk_sk"), Some(17));
        assert_eq!(find_definition(SOURCE, "__sk_del_bind_node"), None);
    }

    #[test]
    fn checks_lines_and_snippets_against_the_source() {
        let scratch = tree();
        let dir = scratch.path();
        let good = "version = \"6.1.9\"\n[fn]\nnetlink_has_listeners = { path = \"net/a.c\", line = 12 }\n\
[snippet.subs]\npath = \"net/a.c\"\nline = 4\ncode = '''\n\tstruct netlink_sock *nlk = nlk_sk(sk);\n\t...\n\tnlk->subscriptions = subscriptions;\n'''\n";
        let index = Index::parse(good).unwrap();
        assert_eq!(verify(&index, dir).unwrap(), Vec::<String>::new());
        // A wrong line, a changed quote, a wrong version: each is reported.
        let wrong = good
            .replace("line = 12", "line = 11")
            .replace("line = 4\n", "line = 5\n")
            .replace("subscriptions = subscriptions", "subscriptions = 0")
            .replace("6.1.9", "6.1.8");
        let problems = verify(&Index::parse(&wrong).unwrap(), dir).unwrap();
        assert_eq!(problems.len(), 3, "{problems:#?}");
        // --update repairs the line numbers and the version, not the quote.
        let repaired = update(
            &good
                .replace("line = 12", "line = 1")
                .replace("line = 4\n", "line = 2\n")
                .replace("6.1.9", "6.1.0"),
            dir,
        )
        .unwrap();
        assert_eq!(repaired, good);
    }
}
