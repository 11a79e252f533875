//! Pieces every chapter's programs share.
//!
//! - [`netns`]: run code in a fresh network namespace, on one thread only.
//! - [`errno`]: errno values printed by name and number, e.g. `ENOBUFS (105)`.
//! - [`uapi`]: the kernel's netlink numbers, typed, each with the header it
//!   comes from.
//! - [`nlmsg`]: the `nlmsghdr` layout, alignment, a validating message walker,
//!   a message builder and the `NLMSG_ERROR` payload.
//! - [`rtattr`]: the route attribute (TLV) walker.
//! - [`genl`]: the generic netlink header and the numbers of `nlctrl`.
//! - [`socket`]: a small raw netlink socket over libc.
//! - [`procfs`]: `/proc/net/netlink`, parsed (ports, groups, Rmem, Drops).
//! - [`programs`]: running a chapter's programs from its tests.
//! - [`link`]: create links (dummy, veth), bring them up and down, delete them, over raw rtnetlink.
//!
//! Everything here is teaching code too: small, checked, and never trusting a
//! length it did not compute itself.

/// The error type [`exit_code`] takes, for programs that have no other use for anyhow.
pub use anyhow;

pub mod address;
pub mod errno;
pub mod genl;
pub mod link;
pub mod membership;
pub mod netns;
pub mod nlmsg;
pub mod procfs;
pub mod programs;
pub mod rtattr;
pub mod socket;
pub mod uapi;

pub use errno::{Errno, SysError, errno_name};
pub use netns::{NetnsError, in_fresh_netns};
pub use nlmsg::{
    Malformed, MsgBuilder, NLMSG_HDRLEN, NlMsg, NlMsgErr, NlMsgHdr, NlMsgIter, Problem,
    nlmsg_align, nlmsg_length, nlmsg_space,
};
pub use rtattr::{RtAttr, RtAttrIter, rta_align};
pub use socket::{NlSocket, Received};

/// A command line the program does not accept: [`exit_code`] prints it and
/// exits with status 2, the convention for usage errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    /// What is wrong, then the usage line(s).
    pub message: String,
}

impl UsageError {
    /// What is wrong with the arguments, followed by the program's usage.
    pub fn new(what: impl std::fmt::Display, usage: &str) -> Self {
        UsageError {
            message: format!("{what}\n{usage}"),
        }
    }
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UsageError {}

/// For a program that takes no arguments: a [`UsageError`] if it was given
/// some, rather than ignoring them.
pub fn no_arguments(program: &str) -> Result<(), UsageError> {
    match std::env::args_os().nth(1) {
        None => Ok(()),
        Some(arg) => Err(UsageError::new(
            format!("unexpected argument {arg:?}"),
            &format!("usage: {program} (no arguments)"),
        )),
    }
}

/// `main` of a program that takes no arguments and does all its work in a
/// fresh network namespace of its own ([`in_fresh_netns`]): a usage error,
/// the namespace's own error (no `CAP_SYS_ADMIN`) or the program's, each
/// reported by [`exit_code`].
pub fn main_in_fresh_netns(
    program: &str,
    run: impl FnOnce() -> anyhow::Result<()> + Send,
) -> std::process::ExitCode {
    if let Err(usage) = no_arguments(program) {
        return exit_code(program, Err(usage));
    }
    exit_code(
        program,
        in_fresh_netns(run)
            .map_err(anyhow::Error::from)
            .and_then(|r| r),
    )
}

/// Exit status 2 after a usage error: `program: error: what`, then the
/// usage line(s), on stderr.
pub fn usage_exit(program: &str, error: &UsageError) -> std::process::ExitCode {
    eprintln!("{program}: error: {error}");
    std::process::ExitCode::from(2)
}

/// An error and what to do about it, which [`exit_code`] prints as the
/// hint: for failures that only the program can explain, such as which of
/// the workbook's modules did not answer.
#[derive(Debug)]
pub struct WithHint {
    error: Box<dyn std::error::Error + Send + Sync + 'static>,
    hint: String,
}

impl WithHint {
    /// `error` (an `anyhow::Error` too), with `hint`.
    pub fn new(
        error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
        hint: impl Into<String>,
    ) -> Self {
        WithHint {
            error: error.into(),
            hint: hint.into(),
        }
    }
}

impl std::fmt::Display for WithHint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for WithHint {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// The hint for a workbook module that should have answered and did not:
/// where it runs.
pub fn module_hint(module: &str, chapter: &str) -> String {
    format!(
        "is {module} loaded? The workbook's modules run in the VM lab, which loads them: \
         `cargo xtask lab --chapter {chapter}`"
    )
}

/// The hint for the first failed system call in the error's chain: a
/// [`SysError`], or an I/O error with an errno (from a library such as
/// neli, whose call is not known).
fn hint_of(error: &anyhow::Error, program: &str) -> Option<String> {
    for e in error.chain() {
        if let Some(hinted) = e.downcast_ref::<WithHint>() {
            return Some(hinted.hint.clone());
        }
        if let Some(sys) = e.downcast_ref::<SysError>() {
            return sys.hint(program);
        }
        if let Some(NetnsError::NeedCapSysAdmin) = e.downcast_ref::<NetnsError>() {
            return Some(format!(
                "as a plain user, give it namespaces of its own: `unshare -Urn {program}`"
            ));
        }
        if let Some(errno) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.raw_os_error())
        {
            let call = e.to_string();
            return SysError {
                call,
                errno: Errno(errno),
            }
            .hint(program);
        }
    }
    None
}

/// How every program of the workbook ends: success, or on stderr
/// `program: error: ` and the error with its whole chain of causes, then,
/// when the failed call says what to do (a capability, a module, lost
/// messages, a timeout), `program: hint: ` and that. Exit status 1, or 2
/// for a [`UsageError`].
pub fn exit_code<E: Into<anyhow::Error>>(
    program: &str,
    result: Result<(), E>,
) -> std::process::ExitCode {
    let Err(error) = result else {
        return std::process::ExitCode::SUCCESS;
    };
    let error: anyhow::Error = error.into();
    if let Some(usage) = error.downcast_ref::<UsageError>() {
        return usage_exit(program, usage);
    }
    eprintln!("{program}: error: {error:#}");
    if let Some(hint) = hint_of(&error, program) {
        eprintln!("{program}: hint: {hint}");
    }
    std::process::ExitCode::FAILURE
}
