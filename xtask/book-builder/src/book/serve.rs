//! `cargo xtask serve`: the book on 127.0.0.1, rebuilt when its sources
//! change, and the one door to the files it may read.
//!
//! A request reads a file only if it names one inside the book's output
//! folder. [`book_url::request_path`] decides on the request's text alone
//! (decoded, normalized, no `..`); [`book_file`] then joins that to the
//! folder, resolves symlinks and requires the result to stay inside. Only
//! then is the file opened; anything else is a 404 with nothing read.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::Result;

use super::{BuildOptions, Edition, build_with};
use crate::{http, workspace};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// `course` leaves out the solutions and the instructors' appendix.
    #[arg(long, value_enum, default_value_t)]
    edition: Edition,
}

/// Builds, serves on 127.0.0.1 and rebuilds when anything the book shows
/// changes (its pages, the code and the snapshots it includes).
pub fn serve(args: &ServeArgs) -> Result<()> {
    let root = workspace::root();
    let edition = args.edition;
    let build = move |root: &Path| {
        build_with(
            root,
            &BuildOptions {
                edition,
                ..BuildOptions::default()
            },
        )
    };
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
    let generation = Arc::new(AtomicU64::new(0));
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
                        bump.fetch_add(1, Ordering::SeqCst);
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
            let n = served.load(Ordering::SeqCst);
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
    match text
        .rfind("</body>")
        .and_then(|at| text.split_at_checked(at))
    {
        Some((before, after)) => format!("{before}{SCRIPT}{after}").into_bytes(),
        None => html,
    }
}

/// The bytes and MIME type of the file `url` names inside `dir`, or `None`
/// (a 404) when it names none: see [`book_file`].
pub fn static_file(dir: &Path, url: &str) -> Option<(Vec<u8>, &'static str)> {
    let (file, named) = book_file(dir, url)?;
    let bytes = std::fs::read(&file).ok()?;
    Some((bytes, mime_type(&named)))
}

/// The file `url` names inside `dir`, decided before anything is opened:
/// its path with symlinks resolved, and the name it was asked by (whose
/// extension gives the MIME type). `None` when the request is refused
/// ([`book_url::request_path`]), names nothing, names something that is
/// not a regular file, or leads outside `dir` once symlinks are resolved.
/// A folder stands for its `index.html`, checked the same way.
fn book_file(dir: &Path, url: &str) -> Option<(PathBuf, PathBuf)> {
    let relative = book_url::request_path(url).ok()?.to_path_buf();
    let root = dir.canonicalize().ok()?;
    let mut named = root.join(relative);
    let mut file = inside(&root, &named)?;
    if file.is_dir() {
        named = file.join("index.html");
        file = inside(&root, &named)?;
    }
    file.is_file().then_some((file, named))
}

/// `path` with symlinks resolved, if it exists and stays under `root` (a
/// canonical path).
fn inside(root: &Path, path: &Path) -> Option<PathBuf> {
    let resolved = path.canonicalize().ok()?;
    resolved.starts_with(root).then_some(resolved)
}

fn mime_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()) {
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
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn served_pages_poll_for_rebuilds() {
        let page = with_reload_script(b"<html><body>x</body></html>".to_vec());
        let page = String::from_utf8(page).unwrap();
        assert!(page.contains("/__generation") && page.ends_with("</script></body></html>"));
        assert_eq!(with_reload_script(b"no body".to_vec()), b"no body");
    }

    /// A built book in `<tmp>/book`, beside a secret in `<tmp>/secret.txt`
    /// that symlinks inside the book point at.
    fn book_beside_a_secret() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let book = tmp.path().join("book");
        fs::create_dir_all(book.join("ch01")).unwrap();
        fs::create_dir_all(book.join("fonts")).unwrap();
        fs::write(book.join("index.html"), "<p>home</p>").unwrap();
        fs::write(book.join("ch01/index.html"), "<p>one</p>").unwrap();
        fs::write(book.join("ch01/page one.html"), "<p>spaced</p>").unwrap();
        fs::write(book.join("fonts/a.woff2"), "font").unwrap();
        fs::write(book.join("secret.txt.html"), "decoy").unwrap();
        fs::write(tmp.path().join("secret.txt"), "SECRET").unwrap();
        fs::create_dir_all(tmp.path().join("outside")).unwrap();
        fs::write(tmp.path().join("outside/index.html"), "SECRET").unwrap();
        // Out of the book: a file, a folder, and a folder's index.html.
        symlink(tmp.path().join("secret.txt"), book.join("leak.html")).unwrap();
        symlink(tmp.path().join("outside"), book.join("away")).unwrap();
        fs::create_dir_all(book.join("ch02")).unwrap();
        symlink(
            tmp.path().join("outside/index.html"),
            book.join("ch02/index.html"),
        )
        .unwrap();
        // Inside the book: followed.
        symlink(book.join("ch01/index.html"), book.join("alias.html")).unwrap();
        tmp
    }

    #[test]
    fn serves_the_book_and_nothing_outside_it() {
        let tmp = book_beside_a_secret();
        let book = tmp.path().join("book");
        let body = |url: &str| {
            static_file(&book, url).map(|(bytes, mime)| (String::from_utf8(bytes).unwrap(), mime))
        };
        let html = "text/html; charset=utf-8";
        let served = [
            ("/", "<p>home</p>", html),
            ("/index.html", "<p>home</p>", html),
            ("index.html", "<p>home</p>", html),
            ("/ch01/", "<p>one</p>", html),
            ("/ch01", "<p>one</p>", html),
            ("/ch01/index.html?q=1#top", "<p>one</p>", html),
            ("//ch01//./index.html", "<p>one</p>", html),
            ("/ch01/page%20one.html", "<p>spaced</p>", html),
            ("/fonts/a.woff2", "font", "font/woff2"),
            ("/alias.html", "<p>one</p>", html),
        ];
        for (url, want, mime) in served {
            assert_eq!(body(url), Some((want.to_owned(), mime)), "{url:?}");
        }
        let secret = tmp.path().join("secret.txt");
        let secret = secret.to_str().unwrap();
        let refused: &[&str] = &[
            "/../secret.txt",
            "/%2e%2e/secret.txt",
            "/..%2fsecret.txt",
            "/%2E%2E%2Fsecret.txt",
            "/.%2e/secret.txt",
            "/ch01/../../secret.txt",
            "/%c0%ae%c0%ae/secret.txt",
            "/..%5csecret.txt",
            "/..\\secret.txt",
            "/secret.txt%00.html",
            "/%",
            // The secret's absolute path, as a request: stays in the book.
            &format!("/{}", secret.replace('/', "%2F")),
            &format!("/{secret}"),
            &format!("//{secret}"),
            // Symlinks out of the book.
            "/leak.html",
            "/away/",
            "/away/index.html",
            "/ch02/",
            "/ch02/index.html",
            // Nothing there, or not a regular file.
            "/missing.html",
            "/fonts/",
        ];
        for url in refused {
            assert_eq!(body(url), None, "{url:?}");
        }
    }

    #[test]
    fn a_book_folder_that_is_a_symlink_still_serves() {
        let tmp = book_beside_a_secret();
        let link = tmp.path().join("book-link");
        symlink(tmp.path().join("book"), &link).unwrap();
        assert!(static_file(&link, "/ch01/").is_some());
        assert!(static_file(&link, "/leak.html").is_none());
        assert!(static_file(&tmp.path().join("no-book"), "/").is_none());
    }
}
