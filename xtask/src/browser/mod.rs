//! `cargo xtask browser`: the published book in a real browser.
//!
//! Both editions of the site (`cargo xtask site`) are served under a path of
//! their own, as a GitHub project site is, and Debian's Chromium, headless,
//! loads every page, driven over its DevTools pipe (`devtools`). The checks
//! are what a reader meets: errors in the console, failed or remote
//! requests (the book works offline), broken links and anchors, the 404
//! page, the search box, the diagrams, the print layout and the PDF's
//! pages (`pdf`); the course edition must not mention a solution. Full-page
//! screenshots of two key pages are kept.

mod devtools;
mod events;
mod links;
mod page;
mod pdf;
mod png;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::book::{self, Edition};
use crate::{http, provision, site, workspace};
use devtools::Chromium;
use events::read_events;
use links::{LinkTarget, broken_link, link_target, request_is_local};
use page::{PageDom, READ_PAGE_JS};
pub use pdf::print_book;

/// The fewest `figure.diagram` the book's pages must hold (print.html's
/// copies not counted).
pub const MIN_DIAGRAMS: usize = 8;
/// The editions checked, each served under a path of its own.
const SITES: &[(Edition, &str)] = &[
    (Edition::Full, "/netlink-book/"),
    (Edition::Course, "/netlink-course/"),
];
/// Pages kept as full-page PNGs in target/artifacts/browser/.
const SCREENSHOT_PAGES: &[&str] = &["ch04-nl-table.html", "ch06-enobufs.html"];
/// Smaller than this, a full-page screenshot of a chapter is blank or cut.
const MIN_SCREENSHOT_BYTES: usize = 20 * 1024;
/// A term typed into the search box and the page its results must link to.
const SEARCHES: &[(&str, &str)] = &[
    ("ENOBUFS", "ch06-enobufs.html"),
    ("nl_table", "ch04-nl-table.html"),
];
/// Longest wait for search results to appear.
const SEARCH_TIMEOUT: Duration = Duration::from_secs(10);
/// A page no site has: the host answers it with the site's 404 page.
const MISSING_PAGE: &str = "exercises/no-such-page.html";

/// `cargo xtask browser`.
pub fn run() -> Result<()> {
    let (passed, failed) = check(&workspace::root())?;
    if failed > 0 {
        bail!("{failed} browser check(s) failed, {passed} passed");
    }
    println!("browser: all {passed} checks passed");
    Ok(())
}

/// Builds both editions' sites, serves each under its path, loads every
/// page in Chromium, reads the PDFs, and returns the passed and failed
/// checks; each failure is printed with its page.
pub fn check(root: &Path) -> Result<(usize, usize)> {
    let started = Instant::now();
    provision::ensure_packages(&["chromium", "poppler-utils"])?;
    let mut checks = Checks::default();
    for &(edition, path) in SITES {
        let built = site::build(root, edition, path)?;
        println!("  the {edition:?} edition's site, served under {path}");
        check_site(root, &built, edition, path, &mut checks)?;
    }
    println!(
        "  browser checks: {} passed, {} failed in {:.1} s",
        checks.passed,
        checks.failures.len(),
        started.elapsed().as_secs_f64()
    );
    for failure in &checks.failures {
        println!("  FAILED {failure}");
    }
    Ok((checks.passed, checks.failures.len()))
}

/// Every check of one edition's site, served under `site_path`.
fn check_site(
    root: &Path,
    built: &Path,
    edition: Edition,
    site_path: &str,
    checks: &mut Checks,
) -> Result<()> {
    let target = root.join("target");
    let scratch = target.join("tmp");
    // The pages are checked in a copy: a rebuild meanwhile (`cargo xtask
    // serve` rebuilds on every change) cannot pull files from under them.
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let copy = tempfile::Builder::new()
        .prefix("browser-site-")
        .tempdir_in(&scratch)
        .with_context(|| format!("making a folder in {}", scratch.display()))?;
    copy_dir(built, copy.path())?;
    let html = copy.path();
    let pages = html_pages(html)?;
    if pages.is_empty() {
        bail!("the site at {} has no .html page", built.display());
    }
    let artifacts = target.join("artifacts/browser");
    std::fs::create_dir_all(&artifacts)
        .with_context(|| format!("creating {}", artifacts.display()))?;
    // As a static host serves a project site: the files under the site's
    // path, its 404 page for everything else.
    let dir = html.to_path_buf();
    let prefix = site_path.trim_end_matches('/').to_string();
    let not_found = std::fs::read(html.join("404.html")).context("the site has no 404.html")?;
    let server = http::Server::start_with_not_found(
        0,
        move |url| {
            url.strip_prefix(&prefix)
                .filter(|rest| rest.starts_with('/'))
                .and_then(|rest| book::static_file(&dir, rest))
        },
        Some((not_found, "text/html; charset=utf-8")),
    )?;
    let host = server.origin();
    let origin = format!("{host}{}", site_path.trim_end_matches('/'));
    let profile = scratch.join(format!("chromium-profile-{}", std::process::id()));
    let mut browser = Chromium::launch(&profile, &artifacts.join("chromium.log"))?;
    eprintln!("    Chromium loads {} pages from {origin}/", pages.len());

    // Every page: load it, then read its links, ids and diagrams.
    let mut doms = BTreeMap::new();
    let mut requests = 0;
    let mut mentions = BTreeSet::new();
    for page in &pages {
        let url = format!("{origin}/{page}");
        let visit = browser.open(&url)?;
        checks.expect(visit.problems.is_empty(), || {
            format!("{page}: {}", visit.problems.join("; "))
        });
        requests += visit.requests.len();
        // The browser's own icon probe goes to the host's root, whatever
        // path the site is served under.
        let own_probe = format!("{host}/favicon.ico");
        let remote: Vec<&String> = visit
            .requests
            .iter()
            .filter(|r| !request_is_local(r, &origin) && **r != own_probe)
            .collect();
        checks.expect(remote.is_empty(), || {
            format!(
                "{page}: requests outside the site's {site_path} (the book must work offline and under any path): {}",
                join(&remote)
            )
        });
        let dom: PageDom = browser
            .evaluate(READ_PAGE_JS)
            .with_context(|| format!("reading the links and diagrams of {page}"))?;
        if edition == Edition::Course {
            let text: String = browser.evaluate("document.body.innerText")?;
            if text.to_lowercase().contains("solution") {
                mentions.insert(page.clone());
            }
        }
        doms.insert(page.clone(), dom);
    }
    println!(
        "  pages: {} loaded, {requests} requests, all answered under {site_path} unless listed below",
        pages.len()
    );
    if edition == Edition::Course {
        checks.expect(mentions.is_empty(), || {
            format!(
                "pages of the course edition that mention a solution: {}",
                join(&mentions)
            )
        });
        println!("  course edition: no page mentions a solution unless listed below");
    }

    // Links: the target page exists and holds the anchor.
    let ids: HashMap<&str, BTreeSet<&str>> = doms
        .iter()
        .map(|(page, dom)| (page.as_str(), dom.ids.iter().map(String::as_str).collect()))
        .collect();
    let (mut internal, mut targets) = (0, BTreeSet::new());
    for (page, dom) in &doms {
        let mut broken = BTreeSet::new();
        for href in &dom.links {
            let LinkTarget::Book { file, fragment } = link_target(href, &origin) else {
                if href.starts_with(&host) {
                    broken.insert(format!("{href}: leads out of the site's {site_path}"));
                }
                continue;
            };
            internal += 1;
            targets.insert((file.clone(), fragment.clone()));
            if edition == Edition::Course && file.ends_with("-solution.html") {
                broken.insert(format!("{href}: a solution, in the course edition"));
            }
            if let Some(problem) = broken_link(html, &ids, &file, fragment.as_deref()) {
                broken.insert(format!("{href}: {problem}"));
            }
        }
        checks.expect(broken.is_empty(), || {
            format!("{page}: broken links: {}", join(&broken))
        });
    }
    println!(
        "  links: {internal} internal links ({} distinct targets) checked on {} pages",
        targets.len(),
        doms.len()
    );

    // A page the site does not have, deep in it: the host answers with the
    // 404 page, whose styles and scripts must still load (its <base href>).
    let missing = format!("{origin}/{MISSING_PAGE}");
    let visit = browser.open(&missing)?;
    let problems: Vec<&String> = visit
        .problems
        .iter()
        .filter(|p| **p != format!("HTTP 404 for {missing}"))
        .collect();
    let styled: bool = browser.evaluate(
        "[...document.styleSheets].some(s => s.href && s.cssRules.length > 0) && !!document.getElementById('mdbook-sidebar')",
    )?;
    checks.expect(problems.is_empty() && styled, || {
        format!(
            "{MISSING_PAGE}: the 404 page {}: {}",
            if styled {
                "loads"
            } else {
                "shows without its styles or sidebar"
            },
            join(&problems)
        )
    });
    println!("  404: {MISSING_PAGE} shows the site's 404 page with its styles");

    // Diagrams: each drawn, non-empty; the book holds enough of them.
    let mut diagrams = 0;
    for (page, dom) in &doms {
        for (index, diagram) in dom.diagrams.iter().enumerate() {
            if page != "print.html" {
                diagrams += 1;
            }
            checks.expect(diagram.problem().is_none(), || {
                format!(
                    "{page}: diagram {} {:?}: {}",
                    index + 1,
                    diagram.caption,
                    diagram.problem().unwrap_or_default()
                )
            });
        }
    }
    checks.expect(diagrams >= MIN_DIAGRAMS, || {
        format!(
            "the book's pages hold {diagrams} figure.diagram, fewer than the {MIN_DIAGRAMS} required"
        )
    });
    println!("  diagrams: {diagrams} on the pages (at least {MIN_DIAGRAMS} required)");

    // Search, typed into the search box as a reader would.
    for (term, expected) in SEARCHES {
        let results = search(&mut browser, &format!("{origin}/index.html"), term)
            .with_context(|| format!("searching for {term:?}"))?;
        let hit = results.iter().any(|href| {
            matches!(link_target(href, &origin), LinkTarget::Book { file, .. } if file == *expected)
        });
        checks.expect(hit, || {
            format!(
                "search for {term:?}: {} results, none on {expected}: {}",
                results.len(),
                join(&results)
            )
        });
        println!(
            "  search: {term:?} gives {} results (expected {expected} among them)",
            results.len()
        );
    }

    // Full-page screenshots of the key pages.
    for page in SCREENSHOT_PAGES.iter().filter(|_| edition == Edition::Full) {
        if !pages.iter().any(|p| p == page) {
            checks.expect(false, || format!("{page}: no such page to screenshot"));
            continue;
        }
        let png = artifacts.join(page.replace(".html", ".png"));
        let shot = browser
            .open(&format!("{origin}/{page}"))
            .and_then(|_| browser.screenshot(&png, MIN_SCREENSHOT_BYTES));
        match shot {
            Ok((width, height, bytes)) => {
                checks.expect(true, String::new);
                println!(
                    "  screenshot: {} ({width}x{height}, {} KiB)",
                    png.display(),
                    bytes / 1024
                );
            }
            Err(e) => checks.expect(false, || format!("screenshot of {page}: {e:#}")),
        }
    }

    // On paper: nothing wider than the page, and the PDF shows every
    // page with ink, every title, code block and diagram's words.
    browser.open(&format!("{origin}/print.html"))?;
    pdf::emulate_paper(&mut browser)?;
    let layout: pdf::PrintLayout = browser.evaluate(pdf::PRINT_LAYOUT_JS)?;
    checks.expect(layout.overflowing.is_empty(), || {
        format!(
            "print.html at the paper's width ({} px): {} elements wider than the page: {}",
            pdf::PRINT_WIDTH_PX,
            layout.overflowing.len(),
            join(layout.overflowing.iter().take(5))
        )
    });
    let pdf_file = html.join(site::PDF);
    let (pdf_pages, problems) = pdf::pdf_problems(
        &pdf_file,
        &layout,
        &scratch.join(format!("pdf-pages-{}", std::process::id())),
    )?;
    let enough = pdf_pages >= layout.titles.len();
    checks.expect(problems.is_empty() && enough, || {
        format!(
            "{} ({pdf_pages} pages for {} chapters): {}",
            site::PDF,
            layout.titles.len(),
            join(&problems)
        )
    });
    println!(
        "  pdf: {} has {pdf_pages} pages, none blank; its text holds {} titles, {} lines of code and {} diagram words",
        site::PDF,
        layout.titles.len(),
        layout.code.len(),
        layout.diagram_words.len()
    );
    drop(browser);
    drop(server);
    Ok(())
}

/// Passed checks and what failed.
#[derive(Default)]
struct Checks {
    passed: usize,
    failures: Vec<String>,
}

impl Checks {
    fn expect(&mut self, ok: bool, failure: impl FnOnce() -> String) {
        if ok {
            self.passed += 1;
        } else {
            self.failures.push(failure());
        }
    }
}

fn join(items: impl IntoIterator<Item = impl std::fmt::Display>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Copies the tree `from` to `to`, replacing whatever `to` held.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let path = entry?.path();
        let Some(name) = path.file_name() else {
            continue;
        };
        if path.is_dir() {
            copy_dir(&path, &to.join(name))?;
        } else {
            std::fs::copy(&path, to.join(name))
                .with_context(|| format!("copying {}", path.display()))?;
        }
    }
    Ok(())
}

/// Every .html file under `dir`, relative and with `/`, sorted.
fn html_pages(dir: &Path) -> Result<Vec<String>> {
    fn walk(dir: &Path, base: &Path, pages: &mut Vec<String>) -> Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, base, pages)?;
            } else if path.extension().is_some_and(|e| e == "html")
                && let Ok(relative) = path.strip_prefix(base)
            {
                pages.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
        Ok(())
    }
    let mut pages = Vec::new();
    walk(dir, dir, &mut pages)?;
    pages.sort();
    Ok(pages)
}

/// Clicks the search button of `page`, types `term` key by key and
/// returns the links of the results.
fn search(browser: &mut Chromium, page: &str, term: &str) -> Result<Vec<String>> {
    let visit = browser.open(page)?;
    if !visit.problems.is_empty() {
        bail!("{page}: {}", visit.problems.join("; "));
    }
    let [x, y]: [f64; 2] = browser.evaluate(
        "(() => { const r = document.getElementById('mdbook-search-toggle').getBoundingClientRect();\
         return [r.x + r.width / 2, r.y + r.height / 2]; })()",
    ).context("finding the search button (#mdbook-search-toggle)")?;
    for kind in ["mousePressed", "mouseReleased"] {
        browser.call(
            "Input.dispatchMouseEvent",
            json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
        )?;
    }
    for key in term.chars().map(String::from) {
        browser.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyDown", "key": key, "text": key}),
        )?;
        browser.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyUp", "key": key}),
        )?;
    }
    let deadline = Instant::now() + SEARCH_TIMEOUT;
    loop {
        let results: Vec<String> = browser.evaluate(
            "[...document.querySelectorAll('#mdbook-searchresults a')].map(a => a.href)",
        )?;
        if !results.is_empty() {
            return Ok(results);
        }
        if Instant::now() >= deadline {
            let typed: String =
                browser.evaluate("document.getElementById('mdbook-searchbar').value")?;
            let problems = read_events(&browser.take_pending_events()).problems;
            bail!(
                "no results within {} s (the search box holds {typed:?}){}",
                SEARCH_TIMEOUT.as_secs(),
                if problems.is_empty() {
                    String::new()
                } else {
                    format!("; the page reported: {}", problems.join("; "))
                }
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
