//! Which links of the book lead where, and whether they hold.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use crate::book;

/// Where a link of a page leads.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum LinkTarget {
    /// A file of the book (relative to its root) and the anchor, if any.
    Book {
        file: String,
        fragment: Option<String>,
    },
    /// Another site, `mailto:` and the like: not followed (offline).
    Elsewhere,
}

/// Classifies an absolute URL (as the browser resolved it) against the
/// book's origin (`http://127.0.0.1:PORT`).
pub(super) fn link_target(href: &str, origin: &str) -> LinkTarget {
    let Some(rest) = href
        .strip_prefix(origin)
        .filter(|r| r.is_empty() || r.starts_with(['/', '?', '#']))
    else {
        return LinkTarget::Elsewhere;
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((rest, fragment)) => (rest, Some(book::percent_decode(fragment))),
        None => (rest, None),
    };
    let path = rest.split('?').next().unwrap_or_default();
    let mut file = path
        .split('/')
        .filter(|p| !p.is_empty())
        .map(book::percent_decode)
        .collect::<Vec<_>>()
        .join("/");
    if path.is_empty() || path.ends_with('/') {
        if !file.is_empty() {
            file.push('/');
        }
        file.push_str("index.html");
    }
    LinkTarget::Book {
        file,
        fragment: fragment.filter(|f| !f.is_empty()),
    }
}

/// Whether a request stays on this machine: the book's server, or data the
/// page holds already (`data:`, `blob:`, `about:`).
pub(super) fn request_is_local(url: &str, origin: &str) -> bool {
    ["data:", "blob:", "about:"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
        || matches!(link_target(url, origin), LinkTarget::Book { .. })
}

/// What is wrong with a link to `file#fragment`, if anything: the file must
/// exist, and a page must hold an element with the fragment as its id.
pub(super) fn broken_link(
    html: &Path,
    ids: &HashMap<&str, BTreeSet<&str>>,
    file: &str,
    fragment: Option<&str>,
) -> Option<String> {
    match ids.get(file) {
        Some(page_ids) => match fragment {
            Some(id) if !page_ids.contains(id) => {
                Some(format!("no element with id {id:?} on {file}"))
            }
            _ => None,
        },
        None if book::static_file(html, file).is_some() => None,
        None => Some(format!("{file} is not in the book")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "http://127.0.0.1:4321";

    fn in_book(file: &str, fragment: Option<&str>) -> LinkTarget {
        LinkTarget::Book {
            file: file.into(),
            fragment: fragment.map(String::from),
        }
    }

    #[test]
    fn links_split_into_book_file_and_anchor() {
        let link = |href: &str| link_target(href, ORIGIN);
        assert_eq!(
            link("http://127.0.0.1:4321/ch04-nl-table.html"),
            in_book("ch04-nl-table.html", None)
        );
        assert_eq!(
            link("http://127.0.0.1:4321/ch06-enobufs.html?highlight=x#the-lost%20message"),
            in_book("ch06-enobufs.html", Some("the-lost message"))
        );
        assert_eq!(link("http://127.0.0.1:4321/"), in_book("index.html", None));
        assert_eq!(link("http://127.0.0.1:4321"), in_book("index.html", None));
        assert_eq!(
            link("http://127.0.0.1:4321/exercises/"),
            in_book("exercises/index.html", None)
        );
        assert_eq!(
            link("http://127.0.0.1:4321/print.html#"),
            in_book("print.html", None)
        );
        assert_eq!(
            link("http://127.0.0.1:4321/a%20b/c.html#x"),
            in_book("a b/c.html", Some("x"))
        );
    }

    #[test]
    fn other_origins_are_elsewhere() {
        for href in [
            "https://docs.kernel.org/networking/netlink_spec/index.html",
            "http://127.0.0.1:43210/ch01.html",
            "http://127.0.0.1:4321.evil.example/ch01.html",
            "http://localhost:4321/ch01.html",
            "mailto:someone@example.org",
            "javascript:void(0)",
        ] {
            assert_eq!(link_target(href, ORIGIN), LinkTarget::Elsewhere, "{href}");
        }
    }

    #[test]
    fn only_the_books_server_and_inline_data_are_local() {
        for url in [
            "http://127.0.0.1:4321/fonts/OpenSans.woff2",
            "data:image/svg+xml;base64,PHN2Zy8+",
            "blob:http://127.0.0.1:4321/1f2e",
            "about:blank",
        ] {
            assert!(request_is_local(url, ORIGIN), "{url}");
        }
        for url in [
            "https://fonts.googleapis.com/css?family=Open+Sans",
            "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.1/MathJax.js",
            "https://play.rust-lang.org/meta/crates",
            "http://127.0.0.1:80/",
            "file:///etc/passwd",
        ] {
            assert!(!request_is_local(url, ORIGIN), "{url}");
        }
    }

    #[test]
    fn links_need_their_page_and_anchor() {
        let scratch = tempfile::tempdir().unwrap();
        let html = scratch.path();
        std::fs::write(html.join("figure.svg"), "<svg/>").unwrap();
        let ids: HashMap<&str, BTreeSet<&str>> = HashMap::from([(
            "ch04-nl-table.html",
            BTreeSet::from(["nl_table", "hashing"]),
        )]);
        let broken = |file, fragment| broken_link(html, &ids, file, fragment);
        assert_eq!(broken("ch04-nl-table.html", None), None);
        assert_eq!(broken("ch04-nl-table.html", Some("hashing")), None);
        assert_eq!(
            broken("ch04-nl-table.html", Some("hash")).as_deref(),
            Some("no element with id \"hash\" on ch04-nl-table.html")
        );
        assert_eq!(broken("figure.svg", None), None);
        assert_eq!(
            broken("ch99.html", None).as_deref(),
            Some("ch99.html is not in the book")
        );
    }
}
