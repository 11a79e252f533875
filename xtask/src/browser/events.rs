//! A page's DevTools events, read into what went wrong and what it fetched.

// DevTools messages are read with serde_json's `value["key"]`, which gives
// Null for a missing key or a value that is no object: it never panics
// (writes, which can, go through `get_mut` and `pointer_mut`).
#![allow(clippy::indexing_slicing)]

use std::collections::HashMap;

use serde_json::Value;

/// mdBook's page icons (`favicon-<hash>.png`, `.svg`) and the browser's
/// own `/favicon.ico` probe.
pub(super) fn is_icon(url: &str) -> bool {
    url.rsplit('/')
        .next()
        .is_some_and(|file| file.starts_with("favicon"))
}

/// What loading a page produced.
#[derive(Debug, Default, PartialEq)]
pub(super) struct PageVisit {
    /// Console errors, uncaught exceptions, failed or refused requests.
    pub(super) problems: Vec<String>,
    /// Every URL the page requested, itself first.
    pub(super) requests: Vec<String>,
}

/// Reads a page's DevTools events into what went wrong and what it fetched.
pub(super) fn read_events(events: &[Value]) -> PageVisit {
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
}
