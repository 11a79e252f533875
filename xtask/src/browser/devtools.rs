//! A headless Chromium driven over the DevTools protocol through a pipe (its
//! `--remote-debugging-pipe`: NUL-separated JSON on descriptors 3 and 4), so
//! no port, websocket or async runtime is involved.

// DevTools messages are read with serde_json's `value["key"]`, which gives
// Null for a missing key or a value that is no object: it never panics
// (writes, which can, go through `get_mut` and `pointer_mut`).
#![allow(clippy::indexing_slicing)]

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::events::{PageVisit, is_icon, read_events};

use super::png::{base64_decode, check_png};

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
/// A headless Chromium with one page, spoken to over its DevTools pipe.
/// Dropping it ends Chromium and all its processes and removes its profile.
pub(super) struct Chromium {
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
    pub(super) fn launch(profile: &Path, log: &Path) -> Result<Self> {
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
    pub(super) fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        self.command(method, params, true)
    }

    /// Sends a command (to the page, or to the browser) and waits for its
    /// answer, keeping the page's events that arrive meanwhile.
    fn command(&mut self, method: &str, params: Value, to_page: bool) -> Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let message = match to_page {
            true => {
                json!({"id": id, "method": method, "params": params, "sessionId": self.session})
            }
            false => json!({"id": id, "method": method, "params": params}),
        };
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
                return Ok(message
                    .get_mut("result")
                    .map(Value::take)
                    .unwrap_or_default());
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
    pub(super) fn open(&mut self, url: &str) -> Result<PageVisit> {
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
                let unanswered = || {
                    in_flight
                        .values()
                        .map(String::as_str)
                        .collect::<Vec<&str>>()
                        .join(", ")
                };
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
    pub(super) fn evaluate<T: serde::de::DeserializeOwned>(
        &mut self,
        expression: &str,
    ) -> Result<T> {
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
        let value = answer
            .pointer_mut("/result/value")
            .map(Value::take)
            .unwrap_or_default();
        serde_json::from_value(value).context("the script's value is not what was expected")
    }

    /// The page's events that arrived unasked since the last page was opened.
    pub(super) fn take_pending_events(&mut self) -> Vec<Value> {
        self.pending.drain(..).collect()
    }

    /// Writes a PNG of the whole open page; returns its size in pixels and bytes.
    pub(super) fn screenshot(
        &mut self,
        path: &Path,
        min_bytes: usize,
    ) -> Result<(u32, u32, usize)> {
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
        let (w, h) = check_png(&png, min_bytes)?;
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
