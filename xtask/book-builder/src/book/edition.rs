//! The book's two editions. The full edition is the whole book. The course
//! edition, for a class, leaves out the exercises' solutions, the
//! instructors' appendix and every sentence that points at them; a page
//! marks such a sentence by putting it between a [`BEGIN`] line and an
//! [`END`] line.

use std::path::Path;

use anyhow::{Result, bail};
use mdbook_driver::book::BookItem;

/// Which book is built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Edition {
    /// The whole book, solutions included.
    #[default]
    Full,
    /// For a class: no solution, no page for instructors.
    Course,
}

impl Edition {
    /// The folder under `target/` that `cargo xtask book` writes it to.
    pub fn build_dir_name(self) -> &'static str {
        match self {
            Edition::Full => "book",
            Edition::Course => "book-course",
        }
    }
}

/// The line that starts text the course edition leaves out.
pub const BEGIN: &str = "<!-- not in the course edition -->";
/// The line that ends it.
pub const END: &str = "<!-- end: not in the course edition -->";

/// Whether the course edition leaves out the page at `path`, relative to
/// `book/src/`: a solution, or the instructors' appendix.
pub fn left_out_of_course(path: &Path) -> bool {
    let path = path.to_string_lossy();
    path.ends_with("-solution.md") || path == "appendix-b-instructors.md"
}

/// `page` as the course edition shows it: every marked passage removed,
/// with its marker lines. Fails on markers that do not pair up.
pub fn course_text(page: &str) -> Result<String> {
    let mut out = String::with_capacity(page.len());
    let mut inside = None;
    for (number, line) in page.split_inclusive('\n').enumerate() {
        match (line.trim(), inside) {
            (BEGIN, None) => inside = Some(number + 1),
            (BEGIN, Some(open)) => {
                bail!(
                    "line {}: `{BEGIN}` again before the `{END}` of line {open}",
                    number + 1
                )
            }
            (END, Some(_)) => inside = None,
            (END, None) => bail!("line {}: `{END}` without a `{BEGIN}` before it", number + 1),
            (_, Some(_)) => {}
            (_, None) => out.push_str(line),
        }
    }
    if let Some(open) = inside {
        bail!("line {open}: `{BEGIN}` is never closed by `{END}`");
    }
    Ok(out)
}

/// `SUMMARY.md` of the course edition: without the lines that link a page
/// it leaves out.
pub fn course_summary(summary: &str) -> String {
    summary
        .split_inclusive('\n')
        .filter(|line| {
            let target = line
                .split_once("](")
                .and_then(|(_, rest)| rest.split_once(')'))
                .map(|(target, _)| target);
            !target.is_some_and(|t| left_out_of_course(Path::new(t)))
        })
        .collect()
}

/// Removes the pages the course edition leaves out from a loaded book.
pub fn leave_out_of_course(items: &mut Vec<BookItem>) {
    items.retain(|item| match item {
        BookItem::Chapter(chapter) => !chapter.path.as_deref().is_some_and(left_out_of_course),
        _ => true,
    });
    for item in items {
        if let BookItem::Chapter(chapter) = item {
            leave_out_of_course(&mut chapter.sub_items);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_passages_leave_the_course_edition() {
        let page = format!("keep\n{BEGIN}\nThe solution.\n{END}\nkeep too\n");
        assert_eq!(course_text(&page).unwrap(), "keep\nkeep too\n");
        assert!(course_text(&format!("{BEGIN}\nx\n")).is_err());
        assert!(course_text(&format!("x\n{END}\n")).is_err());
        assert!(course_text(&format!("{BEGIN}\n{BEGIN}\n{END}\n")).is_err());
    }

    #[test]
    fn the_course_summary_links_no_left_out_page() {
        let summary = "- [ch01](exercises/ch01-x.md)\n  - [Solution](exercises/ch01-x-solution.md)\n\
- [For instructors](appendix-b-instructors.md)\n- [The VM lab](appendix-a-vm-lab.md)\n";
        assert_eq!(
            course_summary(summary),
            "- [ch01](exercises/ch01-x.md)\n- [The VM lab](appendix-a-vm-lab.md)\n"
        );
    }
}
