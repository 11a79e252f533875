//! Unloading and loading the module under test: `delete_module()` and
//! `finit_module()`, the calls `rmmod` and `insmod` make.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nlbook_common::{Errno, SysError};

/// A module's `.ko` file and the name the kernel knows it by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleFile {
    pub path: PathBuf,
    pub name: String,
}

impl ModuleFile {
    /// `/lab/mod/ch01-hello-netlink/echo.ko` is module `echo`; the kernel
    /// writes a file name's dashes as underscores.
    pub fn new(path: &Path) -> Result<Self, String> {
        let stem = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".ko"))
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("{}: not a .ko file", path.display()))?;
        Ok(ModuleFile {
            path: path.to_path_buf(),
            name: stem.replace('-', "_"),
        })
    }

    /// `delete_module(name, O_NONBLOCK)`, as `rmmod` calls it.
    pub fn unload(&self) -> Result<(), SysError> {
        let name = CString::new(self.name.as_str()).map_err(|_| SysError {
            call: "delete_module".into(),
            errno: Errno(libc::EINVAL),
        })?;
        // SAFETY: name is a NUL-terminated string that outlives the call.
        let rc = unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK) };
        if rc < 0 {
            return Err(SysError::last(format!("delete_module(\"{}\")", self.name)));
        }
        Ok(())
    }

    /// `finit_module(fd, "", 0)`, as `insmod` calls it.
    pub fn load(&self) -> Result<(), SysError> {
        let file = File::open(&self.path).map_err(|e| SysError {
            call: format!("open({})", self.path.display()),
            errno: Errno(e.raw_os_error().unwrap_or(libc::EIO)),
        })?;
        let params = c"";
        // SAFETY: the descriptor is open for the call, params is a
        // NUL-terminated string.
        let rc =
            unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), params.as_ptr(), 0) };
        if rc < 0 {
            return Err(SysError::last(format!(
                "finit_module({})",
                self.path.display()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_come_from_the_file() {
        let m =
            ModuleFile::new(Path::new("/lab/mod/ch09-deferred-work/deferred_reply.ko")).unwrap();
        assert_eq!(m.name, "deferred_reply");
        assert_eq!(ModuleFile::new(Path::new("a/x-y.ko")).unwrap().name, "x_y");
        assert!(ModuleFile::new(Path::new("/lab/mod/echo.o")).is_err());
        assert!(ModuleFile::new(Path::new(".ko")).is_err());
    }

    #[test]
    fn unloading_a_module_that_is_not_there_says_so() {
        let m = ModuleFile::new(Path::new("nlbook_no_such_module.ko")).unwrap();
        let err = m.unload().unwrap_err();
        // ENOENT where modules exist; EPERM without CAP_SYS_MODULE; ENOSYS
        // in a kernel without module support.
        assert!(
            [libc::ENOENT, libc::EPERM, libc::ENOSYS].contains(&err.errno.0),
            "{err}"
        );
        assert!(
            err.to_string()
                .starts_with("delete_module(\"nlbook_no_such_module\")")
        );
    }
}
