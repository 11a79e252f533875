//! The book's builder and server: everything `cargo xtask book` and
//! `cargo xtask serve` need, and nothing of the lab, the grader or the
//! benchmark, so that a reader who only wants the book compiles little.
//! The workbook's tool (`xtask`) uses the same modules for its checks.

pub mod book;
pub mod citations;
pub mod diagram;
pub mod http;
pub mod kernel_pins;
pub mod workspace;
