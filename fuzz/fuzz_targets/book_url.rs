//! The book server's request-path mapping (`book_url::request_path`): which
//! path inside the book's folder a request names, decided before any file
//! is looked at. The server's half that resolves symlinks is tested in
//! `xtask/src/book/serve.rs`.
#![no_main]

use std::path::{Component, Path};

use book_url::{Refusal, request_path};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The server reads its request line as UTF-8 text; the bytes a request
    // means arrive percent-encoded inside it.
    let Ok(target) = std::str::from_utf8(data) else {
        return;
    };
    let _ = book_url::percent_decode(target);
    let path = match request_path(target) {
        Ok(path) => path,
        Err(Refusal::BadEscape) => {
            assert!(target.contains('%'), "{target:?}: a bad escape without a %");
            return;
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    for segment in path.segments() {
        assert!(!segment.is_empty(), "{target:?}: an empty segment");
        assert!(segment != "." && segment != "..", "{target:?}: {segment:?}");
        assert!(
            !segment.contains(['/', '\\', '\0']),
            "{target:?}: {segment:?} holds a separator or NUL"
        );
        assert!(!segment.chars().any(char::is_control), "{target:?}");
    }
    let relative = path.to_path_buf();
    assert!(relative.is_relative() && !relative.has_root(), "{target:?}");
    assert!(
        relative
            .components()
            .all(|c| matches!(c, Component::Normal(_))),
        "{target:?}: {relative:?} is not made of names only"
    );
    assert_eq!(relative.components().count(), path.segments().len());
    let root = Path::new("/srv/book");
    let joined = root.join(&relative);
    assert!(
        joined.starts_with(root),
        "{target:?}: {joined:?} left the root"
    );
    assert_eq!(
        joined.components().count(),
        root.components().count() + path.segments().len()
    );
    // Encoding the path and mapping it again gives the same path.
    assert_eq!(
        request_path(&path.to_url()).as_ref(),
        Ok(&path),
        "{target:?}"
    );
});
