//! Chapter 5: how a subsystem signals user space.
//!
//! - [`xfrm`]: the XFRM structures an SA request and an SA event carry
//!   (`<linux/xfrm.h>`), built and decoded byte by byte.
//! - [`monitor`]: the SA monitor: joins `XFRMNLGRP_SA`, adds an ESP SA,
//!   deletes it, and reports the events that came back.
//! - [`netdev`]: the client of `netdev_events.ko`, an event family of our
//!   own with one multicast group per kind of device event.

pub mod monitor;
pub mod netdev;
pub mod xfrm;
