//! What the repository itself holds: no build output, and no second copy of
//! a file that has one source.

// Test support: a failure here is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    xtask::workspace::root()
}

/// Every tracked file, as `git ls-files` names it.
fn tracked() -> Vec<String> {
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root())
        .output()
        .expect("git runs (the repository's tests need a git checkout)");
    assert!(
        out.status.success(),
        "git ls-files failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// What compilers and kernel builds leave behind.
fn is_build_output(path: &str) -> bool {
    const OUTPUT_ENDINGS: &[&str] = &[
        ".o", ".ko", ".a", ".so", ".rlib", ".rmeta", ".d", ".cmd", ".mod", ".mod.c", ".symvers",
        ".order", ".cpio",
    ];
    path.split('/').any(|part| part == "target")
        || OUTPUT_ENDINGS.iter().any(|ending| path.ends_with(ending))
}

#[test]
fn no_build_output_is_tracked() {
    let files = tracked();
    assert!(
        files.len() > 100,
        "git ls-files listed {} files",
        files.len()
    );
    let output: Vec<&String> = files.iter().filter(|p| is_build_output(p)).collect();
    assert!(
        output.is_empty(),
        "build output is tracked ({} files; `git rm -r --cached` them): {:?}",
        output.len(),
        output.iter().take(10).collect::<Vec<_>>()
    );
}

#[test]
fn build_output_is_recognized() {
    assert!(is_build_output(
        "solutions/ch06-lost-messages/target/debug/x"
    ));
    assert!(is_build_output("kmod/ch01-hello-netlink/echo.ko"));
    assert!(is_build_output("kmod/ch01-hello-netlink/.echo.o.cmd"));
    assert!(!is_build_output("kmod/ch01-hello-netlink/echo.c"));
    assert!(!is_build_output("book/src/ch06-enobufs.md"));
}

/// A solution that is a chapter's module or program is that file (a
/// symbolic link to it), never a copy that could drift from it.
#[test]
fn solutions_do_not_copy_chapter_files() {
    let root = root();
    let mut chapter_files: BTreeMap<Vec<u8>, String> = BTreeMap::new();
    for file in tracked()
        .iter()
        .filter(|p| p.starts_with("kmod/") || p.starts_with("chapters/"))
    {
        let path = root.join(file);
        if is_regular(&path)
            && let Ok(bytes) = std::fs::read(&path)
            && !bytes.is_empty()
        {
            chapter_files.insert(bytes, file.clone());
        }
    }
    let mut copies = Vec::new();
    let mut linked = 0;
    for file in tracked().iter().filter(|p| p.starts_with("solutions/")) {
        let path = root.join(file);
        if !is_regular(&path) {
            linked += 1;
            continue;
        }
        let bytes = std::fs::read(&path).expect("a tracked file reads");
        if let Some(original) = chapter_files.get(&bytes) {
            copies.push(format!("{file} = {original}"));
        }
    }
    assert!(
        copies.is_empty(),
        "solution files that copy a chapter's file (make them links to it): {copies:?}"
    );
    assert!(
        linked >= 4,
        "the solutions that are chapter modules (ch01's echo.c and Kbuild, ch10's kthread_ported.c and Kbuild) are links"
    );
}

fn is_regular(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}
