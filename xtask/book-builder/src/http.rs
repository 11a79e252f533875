//! The book's web server, for `cargo xtask serve` and the browser check:
//! one request per connection, each connection in a thread of its own.
//!
//! Hand-written rather than tiny_http (0.12): its thread pool can leave a
//! new connection unserved while the browser holds others open
//! (keep-alive), and a page then waits for a stylesheet until a connection
//! closes, 30 s in the browser check's runs.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};

/// What the server answers for a URL: the body and its MIME type, or `None`
/// for a 404.
pub type Handler = dyn Fn(&str) -> Option<(Vec<u8>, &'static str)> + Send + Sync;

/// What a server answers with status 404: a page as a static host shows
/// one (mdBook's `404.html`), or by default a line of text.
pub type NotFound = Option<(Vec<u8>, &'static str)>;

/// A server on 127.0.0.1, stopped when dropped.
pub struct Server {
    address: SocketAddr,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens on 127.0.0.1:`port` (0: a free port) and answers each GET
    /// or HEAD with `handler`.
    pub fn start(
        port: u16,
        handler: impl Fn(&str) -> Option<(Vec<u8>, &'static str)> + Send + Sync + 'static,
    ) -> Result<Self> {
        Self::start_with_not_found(port, handler, None)
    }

    /// [`Server::start`], answering what `handler` does not know with
    /// `not_found` and status 404.
    pub fn start_with_not_found(
        port: u16,
        handler: impl Fn(&str) -> Option<(Vec<u8>, &'static str)> + Send + Sync + 'static,
        not_found: NotFound,
    ) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
        let address = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = stopping.clone();
        let handler: Arc<Handler> = Arc::new(handler);
        let not_found = Arc::new(not_found);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let (handler, not_found) = (handler.clone(), not_found.clone());
                    std::thread::spawn(move || answer(&*handler, &not_found, stream));
                }
            }
        });
        Ok(Self {
            address,
            stopping,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Serves until the process ends.
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, which then sees that it must stop.
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one HTTP request from `stream` and answers it with `handler` (404
/// if it has nothing), then closes the connection.
fn answer(handler: &Handler, not_found: &NotFound, mut stream: TcpStream) {
    // A connection the browser opened ahead and never used ends too.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut header = String::new();
    while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
        header.clear();
    }
    let mut words = request_line.split_whitespace();
    let (method, url) = (
        words.next().unwrap_or_default(),
        words.next().unwrap_or("/"),
    );
    let (status, mime, body) = match (method, handler(url)) {
        ("GET" | "HEAD", Some((body, mime))) => ("200 OK", mime, body),
        ("GET" | "HEAD", None) => match not_found {
            Some((page, mime)) => ("404 Not Found", *mime, page.clone()),
            None => ("404 Not Found", "text/plain", b"not found".to_vec()),
        },
        _ => ("405 Method Not Allowed", "text/plain", Vec::new()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {mime}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    if method != "HEAD" {
        let _ = stream.write_all(&body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn get(server: &Server, request: &str) -> String {
        let mut stream = TcpStream::connect(server.address).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply
    }

    #[test]
    fn answers_found_missing_and_other_methods() {
        let server = Server::start(0, |url| {
            (url == "/a.txt").then(|| (b"hello".to_vec(), "text/plain"))
        })
        .unwrap();
        let found = get(&server, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(found.starts_with("HTTP/1.1 200 OK\r\n"), "{found}");
        assert!(found.ends_with("\r\n\r\nhello"), "{found}");
        let head = get(&server, "HEAD /a.txt HTTP/1.1\r\n\r\n");
        assert!(
            head.contains("Content-Length: 5") && !head.ends_with("hello"),
            "{head}"
        );
        let missing = get(&server, "GET /b.txt HTTP/1.1\r\n\r\n");
        assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
        let post = get(&server, "POST /a.txt HTTP/1.1\r\n\r\n");
        assert!(post.starts_with("HTTP/1.1 405"), "{post}");
    }
}
