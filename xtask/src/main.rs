//! `cargo xtask`: the one entry point for readers, students and instructors.
//!
//! Every subcommand provisions what it needs the first time (Debian packages,
//! kernels, the debug kernel) and caches it under `target/`.

use std::process::ExitCode;

use clap::Parser;
use xtask::cli::{self, Cli};

fn main() -> ExitCode {
    match cli::run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
