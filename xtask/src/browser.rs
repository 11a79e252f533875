//! `cargo xtask browser`: the built book in a real browser.
//!
//! Debian's Chromium, headless, loads every page of the book from a local
//! server and is driven over the DevTools protocol through a pipe (its
//! `--remote-debugging-pipe`: NUL-separated JSON on descriptors 3 and 4), so
//! no port, websocket or async runtime is involved. It checks what a reader
//! meets: errors in the console, failed or remote requests (the book works
//! offline), broken links and anchors, the search box, the diagrams; and it
//! keeps full-page screenshots of two key pages.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{book, http, provision, workspace};

/// The fewest `figure.diagram` the book's pages must hold (print.html's
/// copies not counted).
pub const MIN_DIAGRAMS: usize = 8;
/// Pages kept as full-page PNGs in target/artifacts/browser/.
const SCREENSHOT_PAGES: &[&str] = &["ch04-nl-table.html", "ch06-enobufs.html"];
/// Smaller than this, a full-page screenshot of a chapter is blank or cut.
const MIN_SCREENSHOT_BYTES: usize = 20 * 1024;
/// A term typed into the search box and the page its results must link to.
const SEARCHES: &[(&str, &str)] = &[
    ("ENOBUFS", "ch06-enobufs.html"),
    ("nl_table", "ch04-nl-table.html"),
];
/// Without the networking switches Chromium reaches for Google's services,
/// which this machine's closed network refuses.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
];
/// Longest wait for the answer to one DevTools command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait for a page to load and its requests to finish.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);
/// A loaded page is settled once nothing happened for this long.
const QUIET: Duration = Duration::from_millis(300);
/// Longest wait for search results to appear.
const SEARCH_TIMEOUT: Duration = Duration::from_secs(10);

/// `cargo xtask browser`.
pub fn run() -> Result<()> {
    let (passed, failed) = check(&workspace::root())?;
    if failed > 0 {
        bail!("{failed} browser check(s) failed, {passed} passed");
    }
    println!("browser: all {passed} checks passed");
    Ok(())
}

/// Builds the book, serves it, loads every page in Chromium and returns the
/// passed and failed checks; each failure is printed with its page.
pub fn check(root: &Path) -> Result<(usize, usize)> {
    let started = Instant::now();
    provision::ensure_packages(&["chromium"])?;
    let built = book::build(root)?;
    let target = root.join("target");
    let scratch = target.join("tmp");
    // The pages are checked in a copy: a rebuild meanwhile (`cargo xtask
    // serve` rebuilds on every change) cannot pull files from under them.
    let copy = crate::RemovedOnDrop(scratch.join(format!("browser-book-{}", std::process::id())));
    copy_dir(&built, &copy.0)?;
    let html = copy.0.as_path();
    let pages = html_pages(html)?;
    if pages.is_empty() {
        bail!("the built book at {} has no .html page", built.display());
    }
    let artifacts = target.join("artifacts/browser");
    std::fs::create_dir_all(&artifacts)
        .with_context(|| format!("creating {}", artifacts.display()))?;
    let dir = html.to_path_buf();
    let server = http::Server::start(0, move |url| book::static_file(&dir, url))?;
    let profile = scratch.join(format!("chromium-profile-{}", std::process::id()));
    let mut browser = Chromium::launch(&profile, &artifacts.join("chromium.log"))?;
    eprintln!(
        "    Chromium loads {} pages from {}",
        pages.len(),
        server.origin()
    );
    let mut checks = Checks::default();
    let origin = server.origin();

    // Every page: load it, then read its links, ids and diagrams.
    let mut doms = BTreeMap::new();
    let mut requests = 0;
    for page in &pages {
        let url = format!("{origin}/{page}");
        let visit = browser.open(&url)?;
        checks.expect(visit.problems.is_empty(), || {
            format!("{page}: {}", visit.problems.join("; "))
        });
        requests += visit.requests.len();
        let remote: Vec<&String> = visit
            .requests
            .iter()
            .filter(|r| !request_is_local(r, &origin))
            .collect();
        checks.expect(remote.is_empty(), || {
            format!(
                "{page}: requests outside the book's server (the book must work offline): {}",
                join(&remote)
            )
        });
        let dom: PageDom = browser
            .evaluate(READ_PAGE_JS)
            .with_context(|| format!("reading the links and diagrams of {page}"))?;
        doms.insert(page.clone(), dom);
    }
    println!(
        "  pages: {} loaded, {requests} requests, all answered by 127.0.0.1 unless listed below",
        pages.len()
    );

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
                continue;
            };
            internal += 1;
            targets.insert((file.clone(), fragment.clone()));
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
        let results = browser
            .search(&format!("{origin}/index.html"), term)
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
    for page in SCREENSHOT_PAGES {
        if !pages.iter().any(|p| p == page) {
            checks.expect(false, || format!("{page}: no such page to screenshot"));
            continue;
        }
        let png = artifacts.join(page.replace(".html", ".png"));
        let shot = browser
            .open(&format!("{origin}/{page}"))
            .and_then(|_| browser.screenshot(&png));
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

    drop(browser);
    drop(server);
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

/// Where a link of a page leads.
#[derive(Debug, PartialEq, Eq)]
enum LinkTarget {
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
fn link_target(href: &str, origin: &str) -> LinkTarget {
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
fn request_is_local(url: &str, origin: &str) -> bool {
    ["data:", "blob:", "about:"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
        || matches!(link_target(url, origin), LinkTarget::Book { .. })
}

/// What is wrong with a link to `file#fragment`, if anything: the file must
/// exist, and a page must hold an element with the fragment as its id.
fn broken_link(
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

/// What a page shows, read by `READ_PAGE_JS`.
#[derive(Deserialize)]
struct PageDom {
    /// Every `a[href]`, resolved by the browser.
    links: Vec<String>,
    /// Every element id (and `a[name]`).
    ids: Vec<String>,
    diagrams: Vec<Diagram>,
}

/// A `figure.diagram` as rendered.
#[derive(Deserialize)]
struct Diagram {
    /// `svg`, `img` or `nothing` (neither inside the figure).
    kind: String,
    width: f64,
    height: f64,
    /// Shapes drawn inside a non-empty SVG; 1 for a decoded image.
    shapes: u64,
    caption: String,
}

impl Diagram {
    fn problem(&self) -> Option<String> {
        if self.kind == "nothing" {
            return Some("no <svg> or <img> inside the figure".into());
        }
        if self.width <= 0.0 || self.height <= 0.0 {
            return Some(format!(
                "its <{}> renders as {}x{} px",
                self.kind, self.width, self.height
            ));
        }
        if self.shapes == 0 {
            return Some(format!("its <{}> draws nothing", self.kind));
        }
        None
    }
}

const READ_PAGE_JS: &str = r##"(() => {
  // "#id" means this page, also where <base href> points elsewhere (404.html).
  const url = a => {
    const raw = a.getAttribute('href') ?? '';
    if (raw.startsWith('#')) return location.href.split('#')[0] + raw;
    return typeof a.href === 'string' ? a.href : new URL(a.href.baseVal, document.baseURI).href;
  };
  const diagrams = [...document.querySelectorAll('figure.diagram')].map(figure => {
    const graphic = figure.querySelector('svg, img');
    const caption = (figure.querySelector('figcaption')?.textContent ?? '').trim().slice(0, 60);
    if (!graphic) return {kind: 'nothing', width: 0, height: 0, shapes: 0, caption};
    const kind = graphic.tagName.toLowerCase();
    const box = graphic.getBoundingClientRect();
    let shapes = 0;
    if (kind === 'img') {
      shapes = graphic.complete && graphic.naturalWidth > 0 ? 1 : 0;
    } else {
      const content = graphic.getBBox();
      if (content.width > 0 && content.height > 0) {
        shapes = graphic.querySelectorAll(
          'path, rect, circle, ellipse, line, polyline, polygon, text, image, use').length;
      }
    }
    return {kind, width: box.width, height: box.height, shapes, caption};
  });
  return {
    links: [...document.querySelectorAll('a[href]')].map(url),
    ids: [...document.querySelectorAll('[id], a[name]')]
      .map(e => e.id || e.getAttribute('name')).filter(id => id),
    diagrams,
  };
})()"##;

/// mdBook's page icons (`favicon-<hash>.png`, `.svg`) and the browser's
/// own `/favicon.ico` probe.
fn is_icon(url: &str) -> bool {
    url.rsplit('/')
        .next()
        .is_some_and(|file| file.starts_with("favicon"))
}

/// What loading a page produced.
#[derive(Debug, Default, PartialEq)]
struct PageVisit {
    /// Console errors, uncaught exceptions, failed or refused requests.
    problems: Vec<String>,
    /// Every URL the page requested, itself first.
    requests: Vec<String>,
}

/// Reads a page's DevTools events into what went wrong and what it fetched.
fn read_events(events: &[Value]) -> PageVisit {
    let mut visit = PageVisit::default();
    let mut urls: HashMap<&str, &str> = HashMap::new();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    for event in events {
        let params = &event["params"];
        match event["method"].as_str().unwrap_or_default() {
            "Network.requestWillBeSent" => {
                let url = params["request"]["url"].as_str().unwrap_or_default();
                if let Some(id) = params["requestId"].as_str() {
                    urls.insert(id, url);
                }
                visit.requests.push(url.to_string());
            }
            "Network.responseReceived" => {
                let status = params["response"]["status"].as_f64().unwrap_or(0.0);
                let url = params["response"]["url"].as_str().unwrap_or_default();
                // The browser's own probe on a page that names no icon
                // (toc.html, the sidebar framed for readers without JavaScript).
                let icon_probe = url.ends_with("/favicon.ico") && status == 404.0;
                if status >= 400.0 && !icon_probe {
                    visit.problems.push(format!("HTTP {status} for {url}"));
                }
            }
            "Network.loadingFailed" => {
                let id = params["requestId"].as_str().unwrap_or_default();
                let mut why = text(&params["errorText"]);
                if let Some(reason) = params["blockedReason"].as_str() {
                    why.push_str(&format!(" (blocked: {reason})"));
                }
                visit.problems.push(format!(
                    "could not load {}: {why}",
                    urls.get(id).copied().unwrap_or(id)
                ));
            }
            "Runtime.exceptionThrown" => {
                let details = &params["exceptionDetails"];
                let what = details["exception"]["description"]
                    .as_str()
                    .or(details["text"].as_str())
                    .unwrap_or("an exception");
                visit.problems.push(format!(
                    "uncaught exception at {}:{}: {what}",
                    text(&details["url"]),
                    details["lineNumber"].as_u64().map_or(0, |l| l + 1)
                ));
            }
            "Runtime.consoleAPICalled"
                if matches!(params["type"].as_str(), Some("error" | "assert")) =>
            {
                let args: Vec<String> = params["args"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(|a| match &a["value"] {
                        Value::String(s) => s.clone(),
                        Value::Null => text(&a["description"]),
                        other => other.to_string(),
                    })
                    .collect();
                visit.problems.push(format!(
                    "console.{}: {}",
                    text(&params["type"]),
                    args.join(" ")
                ));
            }
            // Failed requests are reported by their Network events above.
            "Log.entryAdded"
                if params["entry"]["level"] == "error"
                    && params["entry"]["source"] != "network" =>
            {
                let entry = &params["entry"];
                visit.problems.push(format!(
                    "{} error: {} ({})",
                    text(&entry["source"]),
                    text(&entry["text"]),
                    text(&entry["url"])
                ));
            }
            _ => {}
        }
    }
    visit
}

/// A headless Chromium with one page, spoken to over its DevTools pipe.
/// Dropping it ends Chromium and all its processes and removes its profile.
struct Chromium {
    child: Child,
    profile: PathBuf,
    log: PathBuf,
    to_browser: File,
    from_browser: Receiver<Result<Value, String>>,
    next_id: u64,
    /// The page's session; empty until attached.
    session: String,
    /// The page's events that arrived while waiting for an answer.
    pending: VecDeque<Value>,
}

impl Chromium {
    fn launch(profile: &Path, log: &Path) -> Result<Self> {
        // A fresh, empty profile each time: nothing remembered between runs.
        let _ = std::fs::remove_dir_all(profile);
        std::fs::create_dir_all(profile)
            .with_context(|| format!("creating {}", profile.display()))?;
        let log_file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let (child_reads, to_browser) = pipe()?;
        let (from_browser, child_writes) = pipe()?;
        // Chromium reads commands on descriptor 3 and answers on 4; moved
        // above 10 first, so that neither dup2 below overwrites the other.
        let child_reads = descriptor_above_10(&child_reads)?;
        let child_writes = descriptor_above_10(&child_writes)?;
        let (reads, writes) = (child_reads.as_raw_fd(), child_writes.as_raw_fd());
        let mut command = Command::new("chromium");
        command
            .args(CHROMIUM_FLAGS)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            // Its own group, so that all its processes are ended together.
            .process_group(0);
        // Its profile is --user-data-dir, but Chromium and GTK's dconf still
        // write under $HOME and the XDG folders: those go under target/ too.
        crate::process::home_under_target(&mut command, "chromium")?;
        // SAFETY: between fork and exec only async-signal-safe calls (dup2,
        // prctl) on descriptors this process owns.
        unsafe {
            command.pre_exec(move || {
                // Ends with this process, even if it is killed before Drop.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0
                    || libc::dup2(reads, 3) < 0
                    || libc::dup2(writes, 4) < 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .with_context(|| format!("could not start `{}`", crate::process::display(&command)))?;
        drop((child_reads, child_writes));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(File::from(from_browser));
            let mut message = Vec::new();
            loop {
                message.clear();
                match reader.read_until(0, &mut message) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                if message.last() == Some(&0) {
                    message.pop();
                }
                let parsed = serde_json::from_slice::<Value>(&message).map_err(|e| {
                    format!(
                        "unreadable DevTools message ({e}): {}",
                        String::from_utf8_lossy(&message)
                    )
                });
                if tx.send(parsed).is_err() {
                    break;
                }
            }
        });
        let mut browser = Self {
            child,
            profile: profile.to_path_buf(),
            log: log.to_path_buf(),
            to_browser: File::from(to_browser),
            from_browser: rx,
            next_id: 0,
            session: String::new(),
            pending: VecDeque::new(),
        };
        browser.attach().with_context(|| {
            format!(
                "driving Chromium over its DevTools pipe (its log: {})",
                browser.log.display()
            )
        })?;
        Ok(browser)
    }

    /// Opens a page of its own and follows its console, errors and network.
    fn attach(&mut self) -> Result<()> {
        let target = self.command("Target.createTarget", json!({"url": "about:blank"}), false)?;
        let target_id = target["targetId"]
            .as_str()
            .context("Target.createTarget gave no targetId")?;
        let attached = self.command(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
            false,
        )?;
        self.session = attached["sessionId"]
            .as_str()
            .context("Target.attachToTarget gave no sessionId")?
            .to_string();
        for domain in ["Page", "Runtime", "Log", "Network"] {
            self.call(&format!("{domain}.enable"), json!({}))?;
        }
        // A fixed window: screenshots and layouts the same on every run.
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false}),
        )?;
        Ok(())
    }

    /// A command to the page.
    fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        self.command(method, params, true)
    }

    /// Sends a command (to the page, or to the browser) and waits for its
    /// answer, keeping the page's events that arrive meanwhile.
    fn command(&mut self, method: &str, params: Value, to_page: bool) -> Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if to_page {
            message["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&message)?;
        bytes.push(0);
        self.to_browser.write_all(&bytes).with_context(|| {
            format!(
                "sending {method} to Chromium (its log: {})",
                self.log.display()
            )
        })?;
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let Some(mut message) = self.receive(deadline)? else {
                bail!(
                    "Chromium did not answer {method} within {} s (its log: {})",
                    COMMAND_TIMEOUT.as_secs(),
                    self.log.display()
                );
            };
            if message["id"].as_u64() == Some(id) {
                if let Some(error) = message.get("error") {
                    bail!("{method} failed: {error}");
                }
                return Ok(message["result"].take());
            }
            if message["sessionId"].as_str() == Some(&self.session) {
                self.pending.push_back(message);
            }
        }
    }

    /// The next message from Chromium, or None at the deadline.
    fn receive(&mut self, deadline: Instant) -> Result<Option<Value>> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.from_browser.recv_timeout(left) {
            Ok(Ok(message)) => Ok(Some(message)),
            Ok(Err(unreadable)) => bail!("{unreadable}"),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => bail!(
                "Chromium closed its DevTools pipe (did it exit? its log: {})",
                self.log.display()
            ),
        }
    }

    /// The page's next event, or None at the deadline.
    fn next_event(&mut self, deadline: Instant) -> Result<Option<Value>> {
        if let Some(event) = self.pending.pop_front() {
            return Ok(Some(event));
        }
        loop {
            match self.receive(deadline)? {
                Some(message) if message["sessionId"].as_str() == Some(&self.session) => {
                    return Ok(Some(message));
                }
                Some(_) => continue,
                None => return Ok(None),
            }
        }
    }

    /// Loads `url` and returns what happened until it settled.
    fn open(&mut self, url: &str) -> Result<PageVisit> {
        // A blank page in between keeps the late events of one page off the next.
        self.navigate("about:blank")?;
        let events = self.navigate(url)?;
        Ok(read_events(&events))
    }

    /// Navigates, waits for the load event, then for the page's requests to
    /// finish and a quiet moment; returns the page's events.
    fn navigate(&mut self, url: &str) -> Result<Vec<Value>> {
        self.pending.clear();
        let answer = self.call("Page.navigate", json!({"url": url}))?;
        if let Some(error) = answer["errorText"].as_str() {
            bail!("{url}: navigation failed: {error}");
        }
        let deadline = Instant::now() + PAGE_TIMEOUT;
        let (mut events, mut loaded) = (Vec::new(), false);
        // Requests sent and not yet answered: their id and URL.
        let mut in_flight = BTreeMap::new();
        loop {
            let wait = if loaded {
                (Instant::now() + QUIET).min(deadline)
            } else {
                deadline
            };
            let Some(event) = self.next_event(wait)? else {
                let unanswered = || join(in_flight.values().map(|url: &String| url.as_str()));
                if !loaded {
                    bail!(
                        "{url}: not loaded within {} s ({} events; requests unanswered: [{}])",
                        PAGE_TIMEOUT.as_secs(),
                        events.len(),
                        unanswered()
                    );
                }
                if in_flight.is_empty() {
                    return Ok(events);
                }
                if Instant::now() >= deadline {
                    bail!(
                        "{url}: requests still unanswered after {} s: {}",
                        PAGE_TIMEOUT.as_secs(),
                        unanswered()
                    );
                }
                continue;
            };
            let params = &event["params"];
            let request = params["requestId"].as_str().map(str::to_string);
            match (event["method"].as_str().unwrap_or_default(), request) {
                ("Page.loadEventFired", _) => loaded = true,
                ("Network.requestWillBeSent", Some(id)) => {
                    let url = params["request"]["url"].as_str().unwrap_or_default();
                    // The browser fetches a page's icon on its own schedule
                    // and does not always report the load as finished: not
                    // waited for (a failed icon still counts as a problem).
                    if !is_icon(url) {
                        in_flight.insert(id, url.to_string());
                    }
                }
                ("Network.loadingFinished" | "Network.loadingFailed", Some(id)) => {
                    in_flight.remove(&id);
                }
                _ => {}
            }
            events.push(event);
            // A page that never falls quiet (a timer logging) still ends.
            if loaded && in_flight.is_empty() && Instant::now() >= deadline {
                return Ok(events);
            }
        }
    }

    /// Runs a script in the page and returns its value.
    fn evaluate<T: serde::de::DeserializeOwned>(&mut self, expression: &str) -> Result<T> {
        let mut answer = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        )?;
        if let Some(details) = answer.get("exceptionDetails") {
            bail!(
                "the script failed: {}",
                details["exception"]["description"]
                    .as_str()
                    .or(details["text"].as_str())
                    .unwrap_or("an exception")
            );
        }
        serde_json::from_value(answer["result"]["value"].take())
            .context("the script's value is not what was expected")
    }

    /// Clicks the search button of `page`, types `term` key by key and
    /// returns the links of the results.
    fn search(&mut self, page: &str, term: &str) -> Result<Vec<String>> {
        let visit = self.open(page)?;
        if !visit.problems.is_empty() {
            bail!("{page}: {}", visit.problems.join("; "));
        }
        let [x, y]: [f64; 2] = self.evaluate(
            "(() => { const r = document.getElementById('mdbook-search-toggle').getBoundingClientRect();\
             return [r.x + r.width / 2, r.y + r.height / 2]; })()",
        ).context("finding the search button (#mdbook-search-toggle)")?;
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            )?;
        }
        for key in term.chars().map(String::from) {
            self.call(
                "Input.dispatchKeyEvent",
                json!({"type": "keyDown", "key": key, "text": key}),
            )?;
            self.call(
                "Input.dispatchKeyEvent",
                json!({"type": "keyUp", "key": key}),
            )?;
        }
        let deadline = Instant::now() + SEARCH_TIMEOUT;
        loop {
            let results: Vec<String> = self.evaluate(
                "[...document.querySelectorAll('#mdbook-searchresults a')].map(a => a.href)",
            )?;
            if !results.is_empty() {
                return Ok(results);
            }
            if Instant::now() >= deadline {
                let typed: String =
                    self.evaluate("document.getElementById('mdbook-searchbar').value")?;
                let problems = read_events(&self.pending.drain(..).collect::<Vec<_>>()).problems;
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

    /// Writes a PNG of the whole open page; returns its size in pixels and bytes.
    fn screenshot(&mut self, path: &Path) -> Result<(u32, u32, usize)> {
        let metrics = self.call("Page.getLayoutMetrics", json!({}))?;
        let size = &metrics["cssContentSize"];
        let (width, height) = (
            size["width"].as_f64().context("no page width")?,
            size["height"].as_f64().context("no page height")?,
        );
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                   "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}),
        )?;
        let png = base64_decode(
            shot["data"]
                .as_str()
                .context("the screenshot has no data")?,
        )?;
        let (w, h) = check_png(&png, MIN_SCREENSHOT_BYTES)?;
        std::fs::write(path, &png).with_context(|| format!("writing {}", path.display()))?;
        Ok((w, h, png.len()))
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // Politely first, so that it can flush its profile; then the whole group.
        let close = serde_json::to_vec(&json!({"id": 0, "method": "Browser.close"}));
        if let Ok(mut bytes) = close {
            bytes.push(0);
            let _ = self.to_browser.write_all(&bytes);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Ok(group) = i32::try_from(self.child.id()) {
            // SAFETY: signalling the process group this process created.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A pipe whose ends are closed on exec: (read end, write end).
fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        bail!("pipe2: {}", std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors are new and owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A copy of `fd` numbered 10 or above, closed on exec.
fn descriptor_above_10(fd: &OwnedFd) -> Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC on an open descriptor returns a new one or -1.
    let copy = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
    if copy < 0 {
        bail!(
            "fcntl(F_DUPFD_CLOEXEC): {}",
            std::io::Error::last_os_error()
        );
    }
    // SAFETY: the descriptor is new and owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

/// Decodes standard base64 (with `=` padding), as DevTools sends binary data.
fn base64_decode(text: &str) -> Result<Vec<u8>> {
    let value = |c: u8| -> Result<u32> {
        Ok(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => bail!("not base64: byte {c:#04x}"),
        }
        .into())
    };
    let text = text.trim_end_matches('=').as_bytes();
    if text.len() % 4 == 1 {
        bail!("not base64: {} characters", text.len());
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        let mut bits = 0u32;
        for &c in chunk {
            bits = bits << 6 | value(c)?;
        }
        bits <<= 6 * (4 - chunk.len() as u32);
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Ok(out)
}

/// Checks that `png` is a whole PNG (signature, header, end chunk) of at
/// least `min_bytes`; returns its width and height.
fn check_png(png: &[u8], min_bytes: usize) -> Result<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    const END: &[u8] = b"\0\0\0\0IEND\xae\x42\x60\x82";
    if !png.starts_with(SIGNATURE) || png.get(12..16) != Some(b"IHDR") {
        bail!("not a PNG (no signature and header)");
    }
    if !png.ends_with(END) {
        bail!("a cut PNG (no IEND chunk at its end)");
    }
    let number = |at: usize| {
        png.get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
            .unwrap_or(0)
    };
    let (width, height) = (number(16), number(20));
    if width == 0 || height == 0 {
        bail!("an empty PNG ({width}x{height})");
    }
    if png.len() < min_bytes {
        bail!(
            "only {} bytes ({width}x{height}): less than the {min_bytes} a page's picture takes",
            png.len()
        );
    }
    Ok((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icons_are_recognised_by_file_name() {
        assert!(is_icon("http://127.0.0.1:4321/favicon-8114d1fc.png"));
        assert!(is_icon("http://127.0.0.1:4321/favicon.ico"));
        assert!(!is_icon("http://127.0.0.1:4321/ch04-nl-table.html"));
        assert!(!is_icon("http://127.0.0.1:4321/fonts/favicon/x.css/"));
    }

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
        let html = std::env::temp_dir().join(format!("nlbook-links-{}", std::process::id()));
        std::fs::create_dir_all(&html).unwrap();
        std::fs::write(html.join("figure.svg"), "<svg/>").unwrap();
        let ids: HashMap<&str, BTreeSet<&str>> = HashMap::from([(
            "ch04-nl-table.html",
            BTreeSet::from(["nl_table", "hashing"]),
        )]);
        let broken = |file, fragment| broken_link(&html, &ids, file, fragment);
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
        std::fs::remove_dir_all(&html).unwrap();
    }

    #[test]
    fn events_become_problems_and_requests() {
        let events: Vec<Value> = serde_json::from_str(
            r#"[
            {"method": "Network.requestWillBeSent", "params": {"requestId": "1", "request": {"url": "http://127.0.0.1:4321/ch01.html"}}},
            {"method": "Network.requestWillBeSent", "params": {"requestId": "2", "request": {"url": "https://cdn.example/font.woff2"}}},
            {"method": "Network.loadingFailed", "params": {"requestId": "2", "errorText": "net::ERR_CONNECTION_REFUSED"}},
            {"method": "Network.responseReceived", "params": {"requestId": "3", "response": {"url": "http://127.0.0.1:4321/x.css", "status": 404}}},
            {"method": "Runtime.exceptionThrown", "params": {"exceptionDetails": {"text": "Uncaught", "url": "http://127.0.0.1:4321/book.js", "lineNumber": 9, "exception": {"description": "TypeError: x is undefined"}}}},
            {"method": "Runtime.consoleAPICalled", "params": {"type": "error", "args": [{"type": "string", "value": "Failed to load"}, {"type": "number", "value": 3}]}},
            {"method": "Runtime.consoleAPICalled", "params": {"type": "log", "args": [{"type": "string", "value": "fine"}]}},
            {"method": "Log.entryAdded", "params": {"entry": {"source": "network", "level": "error", "text": "Failed to load resource", "url": "x"}}},
            {"method": "Log.entryAdded", "params": {"entry": {"source": "security", "level": "error", "text": "Refused to frame", "url": "y"}}},
            {"method": "Log.entryAdded", "params": {"entry": {"source": "other", "level": "warning", "text": "deprecated", "url": "z"}}}
        ]"#,
        )
        .unwrap();
        let visit = read_events(&events);
        assert_eq!(
            visit.requests,
            [
                "http://127.0.0.1:4321/ch01.html",
                "https://cdn.example/font.woff2"
            ]
        );
        assert_eq!(
            visit.problems,
            [
                "could not load https://cdn.example/font.woff2: net::ERR_CONNECTION_REFUSED",
                "HTTP 404 for http://127.0.0.1:4321/x.css",
                "uncaught exception at http://127.0.0.1:4321/book.js:10: TypeError: x is undefined",
                "console.error: Failed to load 3",
                "security error: Refused to frame (y)",
            ]
        );
        assert_eq!(read_events(&[]), PageVisit::default());
    }

    #[test]
    fn diagrams_must_draw_something() {
        let diagram = |kind: &str, width, height, shapes| Diagram {
            kind: kind.into(),
            width,
            height,
            shapes,
            caption: String::new(),
        };
        assert_eq!(diagram("svg", 600.0, 200.0, 12).problem(), None);
        assert_eq!(diagram("img", 600.0, 200.0, 1).problem(), None);
        assert!(diagram("nothing", 0.0, 0.0, 0).problem().is_some());
        assert!(diagram("svg", 600.0, 0.0, 12).problem().is_some());
        assert!(diagram("svg", 600.0, 200.0, 0).problem().is_some());
    }

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("Zg==").unwrap(), b"f");
        assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
        assert_eq!(base64_decode("Zm9v").unwrap(), b"foo");
        assert_eq!(base64_decode("Zm9vYmFy").unwrap(), b"foobar");
        assert_eq!(base64_decode("iVBORw0KGgo=").unwrap(), b"\x89PNG\r\n\x1a\n");
        assert!(base64_decode("Zm9v!").is_err());
        assert!(base64_decode("Z").is_err());
    }

    #[test]
    fn pngs_must_be_whole_and_big_enough() {
        let mut png =
            b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x05\0\0\0\x03\x20\x08\x06\0\0\0".to_vec();
        png.extend_from_slice(&[0; 64]);
        png.extend_from_slice(b"\0\0\0\0IEND\xae\x42\x60\x82");
        assert_eq!(check_png(&png, 16).unwrap(), (1280, 800));
        let small = check_png(&png, 1 << 20).unwrap_err().to_string();
        assert!(small.contains("1280x800"), "{small}");
        assert!(check_png(&png[..png.len() - 1], 16).is_err());
        assert!(check_png(b"GIF89a", 0).is_err());
    }
}
