//! `cargo xtask site`: the book as a static site to publish, under any
//! path (`/` or a project site's `/<repo>/`) and offline: every page, the
//! search, the diagrams, the benchmark's plot, and the whole book as one
//! PDF, printed by the Chromium the browser check drives.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::book::{self, BuildOptions, Edition};
use crate::{browser, provision, workspace};

/// The PDF's name in the site.
pub const PDF: &str = "netlink-book.pdf";

/// `cargo xtask site`'s switches.
#[derive(clap::Args)]
pub struct SiteArgs {
    /// `course` leaves out the solutions and the instructors' appendix.
    #[arg(long, value_enum, default_value_t)]
    pub edition: Edition,
    /// The path the site is served under: `/` for a site of its own,
    /// `/<repository>/` for a GitHub project site.
    #[arg(long, default_value = "/")]
    pub site_path: String,
}

/// `cargo xtask site`.
pub fn run(args: &SiteArgs) -> Result<()> {
    let dir = build(&workspace::root(), args.edition, &args.site_path)?;
    println!(
        "site written: {} (the PDF: {}); publish the folder as it is at {}",
        dir.display(),
        dir.join(PDF).display(),
        args.site_path
    );
    Ok(())
}

/// Where an edition's site is written: `target/site`, `target/site-course`.
pub fn site_dir(root: &Path, edition: Edition) -> PathBuf {
    root.join("target").join(match edition {
        Edition::Full => "site",
        Edition::Course => "site-course",
    })
}

/// Builds the site of `edition` for `site_path` and prints its PDF;
/// returns the site's folder.
pub fn build(root: &Path, edition: Edition, site_path: &str) -> Result<PathBuf> {
    check_site_path(site_path)?;
    provision::ensure_packages(&["chromium"])?;
    let dir = site_dir(root, edition);
    let options = BuildOptions {
        edition,
        into: Some(dir.clone()),
        site_path: Some(site_path.to_string()),
    };
    book::build_with(root, &options)?;
    browser::print_book(root, &dir, &dir.join(PDF))?;
    Ok(dir)
}

/// A site path is `/`, or `/` and segments of letters, digits, `-`, `_`,
/// `.` and `~`, each followed by `/`: it is written into a page's
/// `<base href>`.
fn check_site_path(path: &str) -> Result<()> {
    let segment_ok = |segment: &str| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
    };
    let segments_ok = path == "/"
        || path
            .strip_prefix('/')
            .and_then(|rest| rest.strip_suffix('/'))
            .is_some_and(|inner| inner.split('/').all(segment_ok));
    if !segments_ok {
        bail!(
            "--site-path {path:?}: give `/` or a path such as `/netlink-book/` \
             (starting and ending with `/`, letters, digits, `-`, `_`, `.` and `~` between)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_paths_are_plain_folders() {
        for good in ["/", "/netlink-book/", "/a/b.c/", "/~user/book/"] {
            assert!(check_site_path(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "netlink",
            "/netlink",
            "//",
            "/a//b/",
            "/../",
            "/a/\"><script>/",
            "/a b/",
            "https://x/",
        ] {
            assert!(check_site_path(bad).is_err(), "{bad}");
        }
    }
}
