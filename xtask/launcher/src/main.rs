//! `cargo xtask`: the alias runs this, and this runs the program that
//! answers the subcommand. `book` and `serve` go to the book's builder
//! (`xtask/book-builder`), built in the `reader` profile; everything else
//! goes to the workbook's tool (`xtask`). A reader who only wants the book
//! thus never compiles the lab, the grader, the benchmark or their
//! dependencies.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let reading = matches!(
        args.first().and_then(|a| a.to_str()),
        Some("book" | "serve")
    );
    // This crate lives in xtask/launcher/ of the workspace.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    // The cargo that ran this one, so a toolchain chosen by rustup holds.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.arg("run").arg("--manifest-path").arg(manifest);
    if reading {
        command.args(["--profile", "reader", "--package", "book-builder"]);
    } else {
        command.args(["--package", "xtask", "--bin", "xtask"]);
    }
    command.arg("--").args(args);
    // Replaces this process: Ctrl-C, the exit status and the terminal go
    // straight to the program that does the work.
    let error = command.exec();
    eprintln!("error: cannot run cargo: {error}");
    ExitCode::FAILURE
}
