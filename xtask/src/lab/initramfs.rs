//! The guest's initramfs: busybox, the modules, the programs and a tiny
//! `/init`, packed as a `newc` cpio archive by this tool (no root needed:
//! device nodes and modes are written into the archive, not the disk).

use std::path::Path;

use anyhow::{Context, Result};

/// Builds a `newc` cpio archive in memory.
#[derive(Default)]
pub struct Cpio {
    data: Vec<u8>,
    next_inode: u32,
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), body: &[u8]) {
        self.next_inode += 1;
        let name_size = name.len() + 1;
        let fields = [
            self.next_inode,
            mode,
            0, // uid
            0, // gid
            1, // nlink
            0, // mtime: fixed, so the archive is reproducible
            u32::try_from(body.len()).unwrap_or(u32::MAX),
            0,
            0,
            rdev.0,
            rdev.1,
            u32::try_from(name_size).unwrap_or(u32::MAX),
            0, // check
        ];
        self.data.extend_from_slice(b"070701");
        for f in fields {
            self.data.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.data.extend_from_slice(name.as_bytes());
        self.data.push(0);
        self.pad();
        self.data.extend_from_slice(body);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.data.len().is_multiple_of(4) {
            self.data.push(0);
        }
    }

    pub fn dir(&mut self, name: &str) {
        self.entry(name, S_IFDIR | 0o755, (0, 0), &[]);
    }

    pub fn file(&mut self, name: &str, mode: u32, body: &[u8]) {
        self.entry(name, S_IFREG | mode, (0, 0), body);
    }

    pub fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, S_IFLNK | 0o777, (0, 0), target.as_bytes());
    }

    pub fn char_device(&mut self, name: &str, major: u32, minor: u32) {
        self.entry(name, S_IFCHR | 0o600, (major, minor), &[]);
    }

    /// Adds a file from the host, executable or not.
    pub fn copy(&mut self, name: &str, from: &Path, mode: u32) -> Result<()> {
        let body = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
        self.file(name, mode, &body);
        Ok(())
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, (0, 0), &[]);
        // The kernel reads the archive in 512-byte blocks.
        while !self.data.len().is_multiple_of(512) {
            self.data.push(0);
        }
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newc_entries_are_aligned_and_terminated() {
        let mut c = Cpio::default();
        c.dir("bin");
        c.file("init", 0o755, b"#!/bin/sh\n");
        c.char_device("dev/console", 5, 1);
        let data = c.finish();
        assert!(data.starts_with(b"070701"));
        assert_eq!(data.len() % 512, 0);
        let text = String::from_utf8_lossy(&data);
        assert!(text.contains("TRAILER!!!"));
        // Second header starts 4-byte aligned after "bin\0".
        let second = text[6..].find("070701").unwrap() + 6;
        assert_eq!(second % 4, 0);
    }
}
