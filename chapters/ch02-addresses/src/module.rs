//! Protocol 29, claimed by the chapter's kernel modules, and opening a
//! socket for it.

use std::fmt;

use nlbook_common::{Errno, NlSocket, SysError};

// ANCHOR: protocol
/// The protocol number the chapter's modules (`whoami`, `registered_port`,
/// `registered_release`) create their kernel socket for. Chapter 1's echo
/// module has 30; only one module may claim a number at a time.
pub const PROTOCOL: i32 = 29;
// ANCHOR_END: protocol

/// `socket()` for protocol 29 failed.
#[derive(Debug)]
pub enum ModuleError {
    /// `EPROTONOSUPPORT`: no kernel socket exists for protocol 29.
    NotLoaded {
        /// The failed call.
        error: SysError,
        /// The module the program needs, e.g. `whoami.ko`.
        module: &'static str,
    },
    /// Any other failure.
    Sys(SysError),
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModuleError::NotLoaded { error, module } => write!(
                f,
                "{error}: no kernel socket for protocol {PROTOCOL}: is the chapter-2 module \
                 {module} loaded? It runs in the VM lab: `cargo xtask lab --chapter ch02-addresses`"
            ),
            ModuleError::Sys(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ModuleError {}

/// Open a socket for protocol 29, on behalf of a client of `module`.
pub fn open(module: &'static str) -> Result<NlSocket, ModuleError> {
    NlSocket::open(PROTOCOL).map_err(|error| {
        if error.errno == Errno(libc::EPROTONOSUPPORT) {
            ModuleError::NotLoaded { error, module }
        } else {
            ModuleError::Sys(error)
        }
    })
}

/// Open a socket for protocol 29 and let the kernel pick its port id.
pub fn open_bound(module: &'static str) -> anyhow::Result<NlSocket> {
    let sock = open(module)?;
    sock.bind(0, 0)?;
    Ok(sock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_module_says_where_it_runs() {
        let e = ModuleError::NotLoaded {
            error: SysError {
                call: "socket(AF_NETLINK, SOCK_RAW, 29)".into(),
                errno: Errno(libc::EPROTONOSUPPORT),
            },
            module: "whoami.ko",
        };
        assert_eq!(
            e.to_string(),
            "socket(AF_NETLINK, SOCK_RAW, 29) failed: EPROTONOSUPPORT (93): no kernel socket \
             for protocol 29: is the chapter-2 module whoami.ko loaded? It runs in the VM lab: \
             `cargo xtask lab --chapter ch02-addresses`"
        );
    }
}
