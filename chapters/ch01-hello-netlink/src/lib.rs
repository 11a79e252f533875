//! Chapter 1, "Hello, netlink": what the chapter's programs share.
//!
//! - [`links`]: the namespace the link dumps look at, the report both
//!   `ch01-links-raw` and `ch01-links-neli` print (so their outputs can be
//!   compared line for line), and names for link types and flags.
//! - [`echo`]: the protocol of the chapter's echo module, the lines the echo
//!   clients print, and their errors.

pub mod echo;
pub mod links;
