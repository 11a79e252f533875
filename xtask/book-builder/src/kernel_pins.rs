//! The lab's kernels, pinned exactly: every Debian package each one is made
//! of, by name, version, place in the archive and SHA-256, in one committed
//! file. The lab fetches by these pins, the citations are checked against
//! the pinned source, and the book's pages name versions through
//! `{{#pinned NAME}}`, all read from here.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::workspace;

/// Where the pins live, from the workspace's root.
pub const PINS: &str = "xtask/lab/kernels.toml";

/// The pins file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pins {
    /// By the kernel's name in the lab's matrix (`6.1`, `6.12`, `debug`).
    pub kernel: BTreeMap<String, KernelPin>,
    /// Source trees the book cites besides the debug kernel's, by the name
    /// a citation gives after `@` (`6.12`).
    #[serde(default)]
    pub source: BTreeMap<String, KernelPin>,
}

/// One kernel of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KernelPin {
    /// The upstream version, as the book names it: `6.1.192`.
    pub version: String,
    /// `uname -r` of Debian's image (`6.1.0-57-amd64`); absent for a kernel
    /// built from source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The package whose current version `cargo xtask kernels update` moves
    /// this pin to: a meta-package naming the current ABI, or the source.
    pub follows: String,
    /// Every package the kernel is made of.
    pub packages: Vec<PackagePin>,
}

/// One Debian package, exactly.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PackagePin {
    pub name: String,
    /// Debian's version: `6.1.192-3`.
    pub version: String,
    /// The archive holding it, as the last part of a mirror's address:
    /// `debian` or `debian-security`.
    pub archive: String,
    /// Its place in that archive: `pool/...deb`.
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

impl Pins {
    pub fn parse(text: &str) -> Result<Self> {
        toml::from_str(text).context("the kernel pins are not valid")
    }

    /// The pins of the workspace.
    pub fn load() -> Result<Self> {
        let file = workspace::root().join(PINS);
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        Self::parse(&text).with_context(|| file.display().to_string())
    }

    /// The source tree called `name`.
    pub fn source(&self, name: &str) -> Result<&KernelPin> {
        self.source
            .get(name)
            .with_context(|| format!("no source tree `{name}` in {PINS}"))
    }

    /// The kernel called `name`.
    pub fn get(&self, name: &str) -> Result<&KernelPin> {
        self.kernel.get(name).with_context(|| {
            format!(
                "no kernel `{name}` in {PINS} (it pins: {})",
                self.kernel.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }
}

impl KernelPin {
    /// The package called `name`.
    pub fn package(&self, name: &str) -> Result<&PackagePin> {
        self.packages
            .iter()
            .find(|p| p.name == name)
            .with_context(|| format!("the pins name no package `{name}`"))
    }

    /// What changes whenever any of the kernel's bytes do: a cache key.
    pub fn key(&self) -> String {
        self.packages
            .iter()
            .map(|p| p.sha256.get(..16).unwrap_or(&p.sha256))
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// What `{{#pinned NAME}}` becomes in a page: the kernel's upstream version.
pub fn expand(name: &str) -> Result<String> {
    let pins = Pins::load()?;
    Ok(pins
        .get(name)
        .with_context(|| format!("{{{{#pinned {name}}}}}"))?
        .version
        .clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_pins_name_every_kernel_exactly() {
        let pins = Pins::load().unwrap();
        for (name, kernel) in pins.kernel.iter().chain(&pins.source) {
            assert!(!kernel.packages.is_empty(), "{name}");
            for p in &kernel.packages {
                assert_eq!(p.sha256.len(), 64, "{name}: {}", p.name);
                assert!(p.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
                assert!(p.path.starts_with("pool/") && p.path.ends_with(".deb"));
                assert!(p.path.contains(&format!("/{}_", p.name)), "{}", p.path);
                assert!(!p.version.is_empty() && p.size > 0);
            }
        }
        assert_eq!(expand("6.1").unwrap(), pins.kernel["6.1"].version);
        assert!(
            expand("5.4")
                .unwrap_err()
                .to_string()
                .contains("#pinned 5.4")
        );
    }

    #[test]
    fn the_file_reads_back_as_written() {
        let pins = Pins::load().unwrap();
        let again = Pins::parse(&toml::to_string(&pins).unwrap()).unwrap();
        assert_eq!(again, pins);
    }
}
