//! The command line of `cargo xtask`: every subcommand and what runs it.
//! In the library, so that a test can parse the commands the repository's
//! workflows and documents give.

use crate::{
    bench, book, browser, citations, crate_weight, demo, diagram, fuzz, grade, handout, lab,
    provision, site, student, test,
};
use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Build and serve the netlink workbook, run its demos, its tests and its VM lab.",
    after_help = "Start with `cargo xtask serve` (read the book) or `cargo xtask test` (run everything)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Build the book into target/book (HTML, with search).
    Book(book::BookArgs),
    /// Build the book and serve it on 127.0.0.1, rebuilding when a source changes.
    Serve(book::ServeArgs),
    /// Write the book as a static site to publish (any path, offline), with its PDF.
    Site(site::SiteArgs),
    /// Load every page of the built book in headless Chromium: errors, offline, links, search, diagrams.
    Browser,
    /// Run one of a chapter's Rust demos on this machine (host side).
    Demo(demo::DemoArgs),
    /// Run the whole test suite: format, lints, host lane, VM lane.
    Test(test::TestArgs),
    /// Run kernel modules and their Rust programs in pinned kernels under QEMU.
    Lab(lab::LabArgs),
    /// The lab's pinned kernels (`list`), and moving the pins (`update`).
    Kernels(lab::pin_update::KernelsArgs),
    /// Check your current exercise (or a named one); --hint, --list.
    Exercise(student::ExerciseArgs),
    /// Write the repository students get: no solutions, no grading fixtures, the course edition.
    Handout(handout::HandoutArgs),
    /// Grade students' submissions (copies of exercises/): table, JSON, JUnit XML.
    Grade(grade::GradeArgs),
    /// Install the Debian packages the workbook needs (run once as root).
    Setup,
    /// Chapter 13's benchmark: C, raw Rust, neli and rust-netlink side by side; writes book/src/perf/.
    Bench(bench::BenchArgs),
    /// What each netlink crate set costs a program: crates in its tree, release build time; writes book/src/perf/.
    CrateWeight,
    /// Fuzz the netlink parsers and the book server's URL mapping (libFuzzer
    /// via cargo-fuzz): every target, or one.
    Fuzz(fuzz::FuzzArgs),
    /// Check the book's kernel citations against the pinned kernel source.
    Citations(citations::CitationsArgs),
    /// Draw the book's diagrams (book/src/diagrams/*.bob) into the SVG files beside them.
    Diagrams,
}

/// Runs what `cli` asks for.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Book(args) => book::build_book(&args),
        Command::Serve(args) => book::serve(&args),
        Command::Site(args) => site::run(&args),
        Command::Browser => browser::run(),
        Command::Demo(args) => demo::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Lab(args) => lab::run(&args).and_then(|summary| match summary.failed() {
            0 => Ok(()),
            n => Err(anyhow::anyhow!("{n} lab test(s) failed")),
        }),
        Command::Kernels(args) => lab::pin_update::run(&args),
        Command::Exercise(args) => student::run(&args),
        Command::Grade(args) if args.check_leftovers => {
            let before = crate::leftovers::start()?;
            let graded = grade::run(&args);
            let (passed, failed) = crate::leftovers::check(&before)?;
            println!("leftovers: {passed} checks passed, {failed} failed");
            graded?;
            if failed > 0 {
                anyhow::bail!("grading left something behind on the host");
            }
            Ok(())
        }
        Command::Grade(args) => grade::run(&args),
        Command::Handout(args) => handout::run(&args),
        Command::Setup => provision::ensure_all(),
        Command::Bench(args) => bench::run(&args),
        Command::CrateWeight => crate_weight::run(),
        Command::Fuzz(args) => fuzz::run(&args),
        Command::Citations(args) => citations::run(&args),
        Command::Diagrams => diagram::run(),
    }
}
