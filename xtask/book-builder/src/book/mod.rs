//! The book: build it with mdBook as a library, serve it, and resolve its
//! `{{#include}}`, `{{#snapshot}}`, `{{#diagram}}`, `{{#kernel}}` and
//! `{{#kfn}}` directives.
//!
//! - this file: the build, and the preprocessor that expands the
//!   directives mdBook does not know itself;
//! - [`serve`](mod@serve): `cargo xtask serve`, and which file a request
//!   may read;
//! - [`directives`](mod@directives): finding and checking directives;
//! - [`pasted_output`](mod@pasted_output): output pasted into a page
//!   instead of shown from a snapshot;
//! - [`exercise_pages`]: what `{{#exercise}}` and `{{#solution}}` show;
//! - [`edition`](mod@edition): the full and the course edition.

mod directives;
pub mod edition;
mod exercise_pages;
mod pasted_output;
mod serve;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use mdbook_driver::MDBook;
use mdbook_driver::book::{Book, BookItem};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};

use crate::{citations, diagram, kernel_pins};

pub use directives::{
    Directive, check_all_directives, check_directive, collect_markdown, directives, snapshot_body,
    snapshot_lines,
};
pub use edition::Edition;
pub use pasted_output::{looks_like_output, pasted_output};
pub use serve::static_file;
pub use serve::{ServeArgs, serve};

/// Percent-decodes for display and comparison (a link's fragment); finding
/// a file goes through [`static_file`] instead.
pub use book_url::percent_decode;

/// `cargo xtask book`'s switches.
#[derive(Debug, clap::Args)]
pub struct BookArgs {
    /// `course` leaves out the solutions and the instructors' appendix
    /// (into target/book-course).
    #[arg(long, value_enum, default_value_t)]
    pub edition: Edition,
}

/// `cargo xtask book`.
pub fn build_book(args: &BookArgs) -> Result<()> {
    let options = BuildOptions {
        edition: args.edition,
        ..BuildOptions::default()
    };
    let dir = build_with(&crate::workspace::root(), &options)?;
    println!("book built: {}", dir.join("index.html").display());
    Ok(())
}

/// Builds the full edition of the book of the workspace at `root` into
/// `target/book`; returns the HTML directory.
pub fn build(root: &Path) -> Result<PathBuf> {
    build_with(root, &BuildOptions::default())
}

/// What to build and where.
#[derive(Debug, Default)]
pub struct BuildOptions {
    pub edition: Edition,
    /// The HTML directory; by default `target/book` or `target/book-course`.
    pub into: Option<PathBuf>,
    /// The path the site is served under (`/` or `/<repo>/`): only the 404
    /// page needs it, every other page links relatively.
    pub site_path: Option<String>,
}

/// Builds the book as `options` say; returns the HTML directory.
pub fn build_with(root: &Path, options: &BuildOptions) -> Result<PathBuf> {
    let book_dir = root.join("book");
    let mut book = MDBook::load(&book_dir)
        .map_err(|e| anyhow!("{e:#}"))
        .with_context(|| format!("loading the book at {}", book_dir.display()))?;
    let into = options
        .into
        .clone()
        .unwrap_or_else(|| root.join("target").join(options.edition.build_dir_name()));
    // mdBook writes each renderer's output into a folder of the build dir
    // when it has several; with HTML alone, into the build dir itself.
    book.config.build.build_dir = into;
    if let Some(path) = &options.site_path {
        book.config
            .set("output.html.site-url", path)
            .map_err(|e| anyhow!("{e:#}"))?;
    }
    if options.edition == Edition::Course {
        edition::leave_out_of_course(&mut book.book.items);
    }
    book.with_preprocessor(SnapshotPreprocessor {
        edition: options.edition,
    });
    book.build()
        .map_err(|e| anyhow!("{e:#}"))
        .context("building the book")?;
    Ok(book.build_dir_for("html"))
}

/// Replaces `{{#snapshot path}}` with the snapshot's body as a terminal block,
/// so a page shows exactly the output the tests verified, and expands the
/// other directives mdBook does not know; in the course edition, drops the
/// passages it leaves out first.
struct SnapshotPreprocessor {
    edition: Edition,
}

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
            let content = match self.edition {
                Edition::Full => Ok(chapter.content.clone()),
                Edition::Course => edition::course_text(&chapter.content),
            };
            match content.and_then(|content| expand_snapshots(&dir, &content)) {
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
/// `{{#exercise}}`, `{{#solution}}`, `{{#diagram}}`, `{{#kernel}}`, `{{#kfn}}`,
/// `{{#pinned}}`.
pub fn expand_snapshots(page_dir: &Path, content: &str) -> Result<String> {
    // The spans come from `directives(content)`, so every slice below is
    // inside `content` and on character boundaries.
    let slice = |range: std::ops::Range<usize>| content.get(range).unwrap_or_default();
    let mut out = String::with_capacity(content.len());
    let mut last = 0;
    for d in directives(content)
        .into_iter()
        .filter(|d| !matches!(d.kind.as_str(), "include" | "rustdoc_include"))
    {
        check_directive(page_dir, &d)?;
        out.push_str(slice(last..d.span.start));
        let expanded_from = out.len();
        match d.kind.as_str() {
            "snapshot" => {
                let text = std::fs::read_to_string(page_dir.join(&d.path))?;
                let body = snapshot_body(&text)?;
                out.push_str("```text\n");
                match &d.selector {
                    Some(sel) => out.push_str(&snapshot_lines(body, sel)?.join("\n")),
                    None => out.push_str(body.trim_end()),
                }
                out.push_str("\n```");
            }
            "diagram" => {
                out.push_str(&diagram::figure_html(&diagram::load(
                    &page_dir.join(&d.path),
                )?));
            }
            "kernel" | "kfn" => {
                out.push_str(&citations::expand(&d.kind, &d.path.to_string_lossy())?);
            }
            "pinned" => out.push_str(&kernel_pins::expand(&d.path.to_string_lossy())?),
            _ => out.push_str(&exercise_pages::exercise_page(
                &d.kind,
                &d.path.to_string_lossy(),
            )?),
        }
        // A directive indented inside a list item keeps every line it
        // expands to in that item.
        let line_start = slice(0..d.span.start).rfind('\n').map_or(0, |at| at + 1);
        let indent = slice(line_start..d.span.start);
        if !indent.is_empty() && indent.trim().is_empty() {
            let expansion = out.split_off(expanded_from);
            out.push_str(&expansion.replace('\n', &format!("\n{indent}")));
        }
        last = d.span.end;
    }
    out.push_str(slice(last..content.len()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_indented_directive_stays_in_its_list_item() {
        let page = "- an item:\n\n  {{#kernel MAX_LINKS}}\n";
        let out = expand_snapshots(Path::new("."), page).unwrap();
        assert!(out.contains("\n  ```c\n  #define MAX_LINKS"), "{out}");
        assert!(out.contains("\n  <p class=\"kernel-source\">"), "{out}");
    }

    #[test]
    fn text_around_directives_is_kept() {
        let page = "before {{#kfn netlink_bind}} after";
        let out = expand_snapshots(Path::new("."), page).unwrap();
        assert!(
            out.starts_with("before ") && out.ends_with(" after"),
            "{out}"
        );
    }
}
