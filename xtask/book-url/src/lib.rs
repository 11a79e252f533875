//! Which file of the built book a request names, decided on the request's
//! text alone: no file is looked at here. The book server
//! (`xtask/src/book/serve.rs`) then joins the answer to the book's folder
//! and checks, with symlinks resolved, that it stays inside; the fuzz target
//! `book_url` checks this half's promises.
//!
//! The order is decode first, then decide:
//!
//! 1. the query (`?...`) and fragment (`#...`) are cut off;
//! 2. the whole rest is percent-decoded as bytes, once (`%252e` is the
//!    three characters `%2e`, a plain name); a `%` without two hexadecimal
//!    digits after it is refused;
//! 3. the bytes must be UTF-8: invalid sequences are refused, overlong ones
//!    such as `%c0%ae` (a disguised `.`) among them;
//! 4. a control character (NUL among them) or a backslash is refused;
//! 5. the text is split on `/` (an encoded `%2f` separates like a plain
//!    `/`, since decoding came first); empty and `.` segments are dropped,
//!    so `//` and a leading `/` never make the path absolute;
//! 6. a `..` segment is refused outright, even one that would stay inside
//!    (`/a/../b`): browsers remove dot segments before they send a request,
//!    so only a hand-made request holds one, and refusing it leaves nothing
//!    to resolve.
//!
//! What remains is a [`BookPath`]: names that are each one normal path
//! component, relative to the book's folder (none: the folder itself).

use std::fmt;
use std::path::PathBuf;

/// Why a request names no file of the book (the server answers 404).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A `%` not followed by two hexadecimal digits.
    BadEscape,
    /// The decoded bytes are not UTF-8 (overlong forms included).
    NotUtf8,
    /// A control character, NUL among them.
    ControlCharacter,
    /// A backslash, a separator on other systems.
    Backslash,
    /// A `..` segment.
    ParentSegment,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::BadEscape => "a `%` without two hexadecimal digits",
            Refusal::NotUtf8 => "not UTF-8 once decoded",
            Refusal::ControlCharacter => "a control character",
            Refusal::Backslash => "a backslash",
            Refusal::ParentSegment => "a `..` segment",
        })
    }
}

impl std::error::Error for Refusal {}

/// A path inside the book: decoded names, each a normal path component
/// (not empty, not `.` or `..`, no `/`, `\` or control character).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookPath {
    segments: Vec<String>,
}

impl BookPath {
    /// The names, outermost first; none for the book's folder itself.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The path relative to the book's folder (empty for the folder).
    pub fn to_path_buf(&self) -> PathBuf {
        self.segments.iter().collect()
    }

    /// The path as a request would name it: `/`, then each name with every
    /// byte but letters, digits and `-._~` percent-encoded.
    pub fn to_url(&self) -> String {
        let mut url = String::from("/");
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                url.push('/');
            }
            for b in segment.bytes() {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                    url.push(char::from(b));
                } else {
                    url.push_str(&format!("%{b:02X}"));
                }
            }
        }
        url
    }
}

/// The path inside the book that `target` (a request's target, such as
/// `/ch01/index.html?x#top`, or a path without its leading `/`) names; see
/// the crate's documentation for the steps and what each refuses.
pub fn request_path(target: &str) -> Result<BookPath, Refusal> {
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let bytes = decode(path, Malformed::Refuse)?;
    let text = String::from_utf8(bytes).map_err(|_| Refusal::NotUtf8)?;
    if text.chars().any(char::is_control) {
        return Err(Refusal::ControlCharacter);
    }
    if text.contains('\\') {
        return Err(Refusal::Backslash);
    }
    let mut segments = Vec::new();
    for segment in text.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Err(Refusal::ParentSegment),
            name => segments.push(name.to_owned()),
        }
    }
    Ok(BookPath { segments })
}

/// `s` percent-decoded for showing or comparing (a link's fragment, say):
/// a `%` without two hexadecimal digits stays as it is, and bytes that are
/// not UTF-8 become U+FFFD. Never use this to find a file: see
/// [`request_path`].
pub fn percent_decode(s: &str) -> String {
    match decode(s, Malformed::Keep) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        // Unreachable: keeping malformed escapes refuses nothing.
        Err(_) => s.to_owned(),
    }
}

/// What to do with a `%` that has no two hexadecimal digits after it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Malformed {
    Refuse,
    Keep,
}

fn decode(s: &str, malformed: Malformed) -> Result<Vec<u8>, Refusal> {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            if let [high, low, after @ ..] = tail
                && let (Some(high), Some(low)) = (hex_digit(*high), hex_digit(*low))
            {
                out.push(high << 4 | low);
                rest = after;
                continue;
            }
            if malformed == Malformed::Refuse {
                return Err(Refusal::BadEscape);
            }
        }
        out.push(b);
        rest = tail;
    }
    Ok(out)
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Component, Path};

    /// Accepted: the path inside the book, names joined by `/`.
    fn ok(path: &str) -> Result<String, Refusal> {
        Ok(path.to_owned())
    }

    fn mapped(target: &str) -> Result<String, Refusal> {
        request_path(target).map(|p| p.segments().join("/"))
    }

    #[test]
    fn maps_each_request_as_the_table_says() {
        use Refusal::*;
        let table: &[(&str, Result<String, Refusal>)] = &[
            // Ordinary requests.
            ("/", ok("")),
            ("", ok("")),
            ("/index.html", ok("index.html")),
            ("index.html", ok("index.html")),
            ("/ch01/index.html", ok("ch01/index.html")),
            ("/ch01/", ok("ch01")),
            ("/ch01/index.html?x=1#top", ok("ch01/index.html")),
            ("/caf%C3%A9.html", ok("café.html")),
            ("/a+b%20c", ok("a+b c")),
            ("/a%3Fb", ok("a?b")),
            ("/...", ok("...")),
            ("/..a/b..", ok("..a/b..")),
            // Decoded once: an encoded `%` stays a character of a name.
            ("/%252e%252e/etc", ok("%2e%2e/etc")),
            // Query and fragment are cut before decoding.
            ("/?/../../etc/passwd", ok("")),
            ("/#/../../etc/passwd", ok("")),
            // `//`, leading slashes and `.` segments never reach the root.
            ("//etc/hostname", ok("etc/hostname")),
            ("///ch01//x.html", ok("ch01/x.html")),
            ("/%2Fetc%2Fhostname", ok("etc/hostname")),
            ("/%2f%2fetc/hostname", ok("etc/hostname")),
            ("/./a/./b/.", ok("a/b")),
            ("/%2e/a/%2E/b", ok("a/b")),
            ("http://elsewhere/x", ok("http:/elsewhere/x")),
            // Parent segments, plain and disguised.
            ("/..", Err(ParentSegment)),
            ("/../etc/passwd", Err(ParentSegment)),
            ("..", Err(ParentSegment)),
            ("/a/../b", Err(ParentSegment)),
            ("/a/..", Err(ParentSegment)),
            (
                "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/hostname",
                Err(ParentSegment),
            ),
            ("/..%2f..%2fetc/hostname", Err(ParentSegment)),
            ("/%2e%2e%2F%2E%2E%2Fetc", Err(ParentSegment)),
            ("/a%2F..%2Fb", Err(ParentSegment)),
            ("/a%3F/../b", Err(ParentSegment)),
            // Backslashes, plain and encoded.
            ("/..\\..\\etc\\hostname", Err(Backslash)),
            ("/%5c..%5cetc", Err(Backslash)),
            ("/a%5Cb", Err(Backslash)),
            ("/C:%5Cwindows", Err(Backslash)),
            // NUL and other control characters.
            ("/index.html%00", Err(ControlCharacter)),
            ("/index.html%00.png", Err(ControlCharacter)),
            ("/%00/../etc", Err(ControlCharacter)),
            ("/a%0Ab", Err(ControlCharacter)),
            ("/a%7fb", Err(ControlCharacter)),
            ("/a%C2%85b", Err(ControlCharacter)),
            // Overlong and otherwise invalid UTF-8.
            ("/%c0%ae%c0%ae/etc/hostname", Err(NotUtf8)),
            ("/%c0%af", Err(NotUtf8)),
            ("/%c1%9c", Err(NotUtf8)),
            ("/%e0%80%ae", Err(NotUtf8)),
            ("/%f0%80%80%ae", Err(NotUtf8)),
            ("/%ff", Err(NotUtf8)),
            ("/%80", Err(NotUtf8)),
            ("/%C3", Err(NotUtf8)),
            ("/%ed%a0%80", Err(NotUtf8)),
            // Malformed escapes.
            ("/%", Err(BadEscape)),
            ("/a%2", Err(BadEscape)),
            ("/%zz", Err(BadEscape)),
            ("/%%32%65", Err(BadEscape)),
            ("/%+1", Err(BadEscape)),
        ];
        for (target, want) in table {
            assert_eq!(&mapped(target), want, "{target:?}");
        }
    }

    #[test]
    fn refuses_every_spelling_of_a_parent_segment() {
        let dots = [".", "%2e", "%2E"];
        let slashes = ["/", "%2f", "%2F"];
        let mut tried = 0;
        for first in dots {
            for second in dots {
                for slash in slashes {
                    for at_end in [false, true] {
                        let up = format!("{first}{second}");
                        let target = match at_end {
                            false => format!("/book{slash}{up}{slash}etc/hostname"),
                            true => format!("/book{slash}{up}"),
                        };
                        assert_eq!(
                            request_path(&target),
                            Err(Refusal::ParentSegment),
                            "{target:?}"
                        );
                        tried += 1;
                    }
                }
            }
        }
        assert_eq!(tried, 54);
    }

    #[test]
    fn accepted_paths_are_relative_and_normal() {
        for target in ["/", "/a/b.html", "//x//y/", "/%2Fetc%2Fpasswd", "/%2e/q"] {
            let path = request_path(target).unwrap().to_path_buf();
            assert!(path.is_relative(), "{target:?}");
            assert!(
                path.components().all(|c| matches!(c, Component::Normal(_))),
                "{target:?}"
            );
            assert!(Path::new("/srv/book").join(&path).starts_with("/srv/book"));
        }
    }

    #[test]
    fn a_path_survives_encoding_and_mapping_again() {
        let path = request_path("/ch01/caf%C3%A9%20%3F%23%25.html").unwrap();
        assert_eq!(path.to_url(), "/ch01/caf%C3%A9%20%3F%23%25.html");
        assert_eq!(request_path(&path.to_url()), Ok(path));
        assert_eq!(BookPath::default().to_url(), "/");
    }

    #[test]
    fn decodes_leniently_for_display() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
    }
}
