//! The hostile-client battery: one program, `nl-hostile`, that the VM lab
//! runs against every workbook module that accepts messages.
//!
//! - [`datagram`]: the cases' datagrams, built from a well-formed request.
//! - [`answer`]: what came back, classified.
//! - [`target`]: the modules, by the kind of request they take: protocol,
//!   probe, quiet request, how to describe an answer.
//! - [`battery`]: the cases, run against the kernel.
//! - [`kmod`]: unloading and loading the module under test.
//! - [`report`]: the table the lab records.

pub mod answer;
pub mod battery;
pub mod datagram;
pub mod kmod;
pub mod report;
pub mod target;
