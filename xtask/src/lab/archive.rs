//! Debian's archive, by the pins of `xtask/lab/kernels.toml`: fetching one
//! pinned package (checked against its SHA-256, whatever apt's lists say),
//! and finding what the archive holds today when the pins move.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use book_builder::kernel_pins::{PINS, PackagePin};

use crate::process;

/// Names a Debian mirror for a machine whose apt sources have none (an
/// Ubuntu runner): its address without the archive, e.g. `http://host`;
/// `/debian` or `/debian-security` is appended.
pub const MIRROR_VARIABLE: &str = "NLBOOK_DEBIAN_MIRROR";

/// The pinned package in `downloads`, fetched if it is not there yet.
pub fn fetch(pin: &PackagePin, downloads: &Path) -> Result<PathBuf> {
    let file_name = pin.path.rsplit('/').next().unwrap_or(&pin.path);
    let deb = downloads.join(file_name);
    if deb.is_file() && sha256_of(&deb)? == pin.sha256 {
        return Ok(deb);
    }
    crate::provision::ensure_packages(&["curl"])?;
    std::fs::create_dir_all(downloads)
        .with_context(|| format!("creating {}", downloads.display()))?;
    let url = format!("{}/{}", archive_url(&pin.archive)?, pin.path);
    eprintln!(
        "  fetching {} {} ({} MB)",
        pin.name,
        pin.version,
        pin.size >> 20
    );
    let partial = downloads.join(format!("{file_name}.part"));
    let status = Command::new("curl")
        .args(["-fsSL", "--retry", "3", "--connect-timeout", "30", "-o"])
        .arg(&partial)
        .arg(&url)
        .status()
        .context("could not start curl")?;
    if !status.success() {
        let _ = std::fs::remove_file(&partial);
        if http_status(&url).as_deref() == Some("404") {
            bail!(
                "Debian's archive no longer holds {} {} (pinned in {PINS}; {url} answers 404).\n\
                 Move the pins to what the archive holds now with `cargo xtask kernels update`: \
                 it fetches the new packages, re-records the lab's snapshots and shows their diff for review.",
                pin.name,
                pin.version
            );
        }
        bail!("fetching {url} failed ({status})");
    }
    let got = sha256_of(&partial)?;
    if got != pin.sha256 {
        let _ = std::fs::remove_file(&partial);
        bail!(
            "{} {} from {url} has SHA-256 {got}, but {PINS} pins {}: refusing it",
            pin.name,
            pin.version,
            pin.sha256
        );
    }
    std::fs::rename(&partial, &deb)?;
    Ok(deb)
}

/// The HTTP status of a HEAD request, if the server answered at all.
fn http_status(url: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["-sI", "-o", "/dev/null", "-w", "%{http_code}", url])
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn sha256_of(file: &Path) -> Result<String> {
    let out = process::output(Command::new("sha256sum").arg(file))?;
    out.split_whitespace()
        .next()
        .map(str::to_string)
        .context("sha256sum printed nothing")
}

/// The address of `archive` (`debian`, `debian-security`): from the
/// variable if set, else the mirror apt's sources name for it.
fn archive_url(archive: &str) -> Result<String> {
    if let Ok(base) = std::env::var(MIRROR_VARIABLE) {
        return Ok(format!("{}/{archive}", base.trim_end_matches('/')));
    }
    let uris = apt_source_uris();
    uris.iter()
        .map(|u| u.trim_end_matches('/'))
        .find(|u| u.rsplit('/').next() == Some(archive))
        .map(str::to_string)
        .with_context(|| {
            format!(
                "apt's sources name no `{archive}` archive (they name: {}). \
                 Set {MIRROR_VARIABLE} to a Debian mirror's address (the part before /{archive})",
                if uris.is_empty() {
                    "nothing".to_string()
                } else {
                    uris.join(" ")
                }
            )
        })
}

/// Every URI of apt's sources, one-line (`deb URI suite ...`) and deb822
/// (`URIs: ...`) alike. Read from the files, not from apt's lists, which a
/// fresh machine may not have.
fn apt_source_uris() -> Vec<String> {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        more.sort();
        files.extend(more);
    }
    let mut uris = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        uris.extend(source_uris(&text));
    }
    uris.dedup();
    uris
}

fn source_uris(text: &str) -> Vec<String> {
    let mut uris = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("URIs:") {
            uris.extend(rest.split_whitespace().map(str::to_string));
        } else if let Some(rest) = line.strip_prefix("deb ") {
            let rest = rest.trim_start();
            // `deb [arch=amd64 signed-by=...] URI suite components`
            let rest = match rest.strip_prefix('[') {
                Some(options) => options.split_once(']').map_or("", |(_, r)| r),
                None => rest,
            };
            uris.extend(rest.split_whitespace().next().map(str::to_string));
        }
    }
    uris
}

/// The pin of what apt's lists name `package` today: where `apt-get
/// download` would fetch it from, its size and SHA-256.
pub fn pin_of(package: &str) -> Result<PackagePin> {
    let out = process::output(Command::new("apt-get").args(["download", "--print-uris", package]))?;
    // 'URI' FILE SIZE SHA256:HEX
    let line = out
        .lines()
        .find(|l| l.starts_with('\''))
        .with_context(|| format!("apt-get download --print-uris {package} printed no URI"))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [uri, file, size, sum] = fields.as_slice() else {
        bail!("unexpected line from apt-get download --print-uris: {line}");
    };
    let uri = percent_decode(uri.trim_matches('\''));
    let (base, rest) = uri
        .split_once("/pool/")
        .with_context(|| format!("{uri} is not in a pool"))?;
    let version = file
        .split('_')
        .nth(1)
        .with_context(|| format!("{file}: no version in the name"))?;
    Ok(PackagePin {
        name: package.to_string(),
        version: percent_decode(version),
        archive: base.rsplit('/').next().unwrap_or(base).to_string(),
        path: format!("pool/{rest}"),
        size: size.parse().with_context(|| format!("size `{size}`"))?,
        sha256: sum
            .strip_prefix("SHA256:")
            .with_context(|| format!("`{sum}` is not a SHA-256"))?
            .to_string(),
    })
}

/// `%2b` to `+`, `%7e` to `~`: apt's URIs quote what Debian versions hold.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use book_builder::kernel_pins::Pins;

    /// Against Debian's archive itself, with its smallest pinned package.
    #[test]
    fn a_dropped_or_altered_pin_fails_loudly_and_leaves_nothing() {
        let pins = Pins::load().unwrap();
        let kbuild = pins.get("6.1").unwrap().packages.last().unwrap().clone();
        let downloads = tempfile::tempdir().unwrap();

        let mut gone = kbuild.clone();
        gone.path = gone.path.replace(&gone.version, "6.1.0-0");
        gone.version = "6.1.0-0".to_string();
        let err = fetch(&gone, downloads.path()).unwrap_err().to_string();
        assert!(
            err.contains("no longer holds") && err.contains("cargo xtask kernels update"),
            "{err}"
        );

        let mut altered = kbuild;
        altered.sha256 = "0".repeat(64);
        let err = fetch(&altered, downloads.path()).unwrap_err().to_string();
        assert!(err.contains("refusing it"), "{err}");
        assert_eq!(std::fs::read_dir(downloads.path()).unwrap().count(), 0);
    }

    #[test]
    fn both_kinds_of_sources_name_their_uris() {
        let one_line = "# comment\ndeb http://m.example/debian bookworm main\n\
                        deb-src http://m.example/debian bookworm main\n\
                        deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian-security bookworm-security main\n";
        assert_eq!(
            source_uris(one_line),
            [
                "http://m.example/debian",
                "http://m.example/debian-security"
            ]
        );
        let deb822 = "Types: deb\nURIs: http://m.example/debian\nSuites: bookworm\n";
        assert_eq!(source_uris(deb822), ["http://m.example/debian"]);
    }

    #[test]
    fn apt_quotes_are_undone() {
        assert_eq!(
            percent_decode("linux-image-6.12.118%2bdeb12-amd64_6.12.118-1%7edeb12u1_amd64.deb"),
            "linux-image-6.12.118+deb12-amd64_6.12.118-1~deb12u1_amd64.deb"
        );
        assert_eq!(percent_decode("100%"), "100%");
    }
}
