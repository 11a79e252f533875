//! `cargo xtask book` and `cargo xtask serve`, built on their own: the
//! launcher (`xtask/launcher`) sends these two here, so reading the book
//! compiles the book's builder only.

use std::process::ExitCode;

use book_builder::book::{self, BookArgs};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the book into target/book (HTML, with search).
    Book(BookArgs),
    /// Build the book and serve it on 127.0.0.1, rebuilding when a source changes.
    Serve(book::ServeArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Book(args) => book::build_book(&args),
        Command::Serve(args) => book::serve(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
