//! Kernel citations as pages show them: links to the definitions of kernel
//! functions and short quotes of kernel code, for one pinned kernel version.
//!
//! Pages say `{{#kfn netlink_bind}}` (a link) or `{{#kernel name}}` (a quoted
//! snippet with a link to where it starts). Both expand from a committed
//! index, `book/src/kernel/citations.toml`, so building the book needs no
//! kernel source; `cargo xtask citations` checks the index against the
//! real tree.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::workspace;

/// Where the index of the default tree lives, from the workspace's root.
pub const INDEX: &str = "book/src/kernel/citations.toml";

/// Every cited tree, by the name a page adds after `@`, and its index. The
/// first is the default: `{{#kfn name}}` cites 6.1, `{{#kfn name@6.12}}`
/// cites 6.12. Both trees are Debian's `linux-source-*` as pinned.
pub const TREES: &[(&str, &str)] = &[
    (DEFAULT_TREE, INDEX),
    ("6.12", "book/src/kernel/citations-6.12.toml"),
];

/// The tree a citation without `@` names.
pub const DEFAULT_TREE: &str = "6.1";

/// The index file of `tree`.
pub fn index_file(tree: &str) -> Result<&'static str> {
    TREES
        .iter()
        .find(|(name, _)| *name == tree)
        .map(|(_, file)| *file)
        .with_context(|| {
            format!(
                "no cited kernel tree `{tree}` (known: {})",
                TREES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            )
        })
}

/// The citation index.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// The kernel version every entry is true of, e.g. `6.1.192`.
    pub version: String,
    /// Kernel functions (and function-like macros) by name.
    #[serde(rename = "fn", default)]
    pub functions: BTreeMap<String, Location>,
    /// Quoted code by a name of its own.
    #[serde(rename = "snippet", default)]
    pub snippets: BTreeMap<String, Snippet>,
}

/// Where a function is defined.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// Path in the kernel tree.
    pub path: String,
    /// Line of the definition (1-based).
    pub line: usize,
}

/// A short quote of kernel code.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snippet {
    pub path: String,
    /// Line of the quote's first line (1-based).
    pub line: usize,
    /// The quoted lines, exactly as in the source; a line holding only `...`
    /// stands for lines left out.
    pub code: String,
}

impl Index {
    pub fn parse(text: &str) -> Result<Self> {
        toml::from_str(text).context("the kernel citation index is not valid")
    }

    /// The index of the default tree.
    pub fn load() -> Result<Self> {
        Self::load_tree(DEFAULT_TREE)
    }

    /// The index of `tree` (a name of [`TREES`]).
    pub fn load_tree(tree: &str) -> Result<Self> {
        let file = workspace::root().join(index_file(tree)?);
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        Self::parse(&text).with_context(|| file.display().to_string())
    }

    /// Elixir's page for `path` at `line`, for the pinned version.
    pub fn url(&self, path: &str, line: usize) -> String {
        format!(
            "https://elixir.bootlin.com/linux/v{}/source/{path}#L{line}",
            self.version
        )
    }
}

/// What `{{#kfn name}}` or `{{#kernel name}}` becomes in a page; a name
/// ending in `@6.12` cites that tree instead of the default.
pub fn expand(kind: &str, target: &str) -> Result<String> {
    let (name, tree) = target.split_once('@').unwrap_or((target, DEFAULT_TREE));
    let index = Index::load_tree(tree)?;
    expand_with(&index, kind, name)
        .with_context(|| format!("in {}", index_file(tree).unwrap_or(INDEX)))
}

pub fn expand_with(index: &Index, kind: &str, name: &str) -> Result<String> {
    match kind {
        "kfn" => {
            let at = index.functions.get(name).with_context(|| {
                format!(
                    "{{{{#kfn {name}}}}}: no function `{name}` in the index (add it under [fn])"
                )
            })?;
            Ok(format!("[`{name}()`]({})", index.url(&at.path, at.line)))
        }
        "kernel" => {
            let snippet = index.snippets.get(name).with_context(|| {
                format!("{{{{#kernel {name}}}}}: no snippet `{name}` in the index")
            })?;
            Ok(format!(
                "```c\n{}\n```\n<p class=\"kernel-source\"><a href=\"{}\">{}, line {}</a> (Linux {})</p>",
                snippet.code.trim_end_matches('\n'),
                index.url(&snippet.path, snippet.line),
                snippet.path,
                snippet.line,
                index.version
            ))
        }
        other => bail!("`{other}` is not a kernel citation"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_links_and_quotes() {
        let index = Index::parse(
            "version = \"6.1.9\"\n[fn]\nf = { path = \"net/a.c\", line = 3 }\n[snippet.s]\npath = \"net/a.c\"\nline = 4\ncode = '''\nx;\n'''\n",
        )
        .unwrap();
        assert_eq!(
            expand_with(&index, "kfn", "f").unwrap(),
            "[`f()`](https://elixir.bootlin.com/linux/v6.1.9/source/net/a.c#L3)"
        );
        let quote = expand_with(&index, "kernel", "s").unwrap();
        assert!(quote.starts_with("```c\nx;\n```\n") && quote.contains("net/a.c#L4"));
        assert!(expand_with(&index, "kfn", "g").is_err());
    }

    #[test]
    fn a_name_after_at_picks_the_tree() {
        let on_612 = expand("kfn", "do_sched_yield@6.12").unwrap();
        assert!(on_612.contains("/v6.12."), "{on_612}");
        let on_61 = expand("kfn", "do_sched_yield").unwrap();
        assert!(on_61.contains("/v6.1."), "{on_61}");
        let unknown = expand("kfn", "do_sched_yield@5.4").unwrap_err();
        assert!(
            format!("{unknown:#}").contains("known: 6.1, 6.12"),
            "{unknown:#}"
        );
    }
}
